"""App lookup: Redis cache first, the upstream registry on a miss, and the answer written back.

Under the strict policies there is no in-process cache in the lookup path: every lookup touches Redis, so
Redis faults show up in the request path exactly as they would in the seed incident. Every app seen is
also remembered in a bounded LRU (`Memory`), read only when a dependency whose policy is `degrade` fails.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from . import degrade
from .degrade import Policy
from .errors import DependencyError, classify_upstream
from .log import log
from .metrics import Metrics
from .store import Store


@dataclass(frozen=True)
class App:
    """One tenant's credentials and limits (`publish_per_minute`: None means unlimited)."""

    id: str
    key: str
    secret: str
    enabled: bool = True
    publish_per_minute: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> "App":
        """Validate a JSON object from the cache or the upstream; ValueError if it is not an app."""
        if not isinstance(data, dict):
            raise ValueError("app is not an object")
        limits = data.get("limits") or {}
        if not isinstance(limits, dict):
            raise ValueError("app 'limits' is not an object")
        quota = limits.get("publish_per_minute")
        if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
            raise ValueError("limits.publish_per_minute must be a non-negative integer")
        try:
            return cls(id=str(data["id"]), key=str(data["key"]), secret=str(data["secret"]),
                       enabled=bool(data.get("enabled", True)), publish_per_minute=quota)
        except KeyError as exc:
            raise ValueError(f"app lacks field {exc}") from None

    def to_json(self) -> str:
        out: dict[str, Any] = asdict(self)
        out["limits"] = {"publish_per_minute": out.pop("publish_per_minute")}
        return json.dumps(out, separators=(",", ":"))


def id_key(app_id: str) -> str:
    return f"hx:app:id:{app_id}"


def key_key(app_key: str) -> str:
    return f"hx:app:key:{app_key}"


class Memory:
    """A bounded least-recently-used map of cache key -> App, the degrade policies' last resort."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._apps: OrderedDict[str, App] = OrderedDict()

    def get(self, cache_key: str) -> App | None:
        app = self._apps.get(cache_key)
        if app is not None:
            self._apps.move_to_end(cache_key)
        return app

    def put(self, app: App) -> None:
        for cache_key in (id_key(app.id), key_key(app.key)):
            self._apps[cache_key] = app
            self._apps.move_to_end(cache_key)
        while len(self._apps) > self.size:
            self._apps.popitem(last=False)


class Registry:
    """Finds apps by id (HTTP API) or key (WebSocket)."""

    def __init__(self, store: Store, session: aiohttp.ClientSession, upstream_url: str, ttl_s: int,
                 memory: Memory, redis_policy: Policy, upstream_policy: Policy, metrics: Metrics) -> None:
        self.store = store
        self.session = session
        self.upstream_url = upstream_url.rstrip("/")
        self.ttl_s = ttl_s
        self.memory = memory
        self.redis_policy = redis_policy
        self.upstream_policy = upstream_policy
        self.metrics = metrics

    async def by_id(self, app_id: str) -> App | None:
        """The app with this id, None if the registry does not know it; DependencyError on failure."""
        return await self._lookup(id_key(app_id), f"/apps/{app_id}", None)

    async def by_key(self, app_key: str) -> App | None:
        """The app with this key, None if unknown; DependencyError on failure."""
        return await self._lookup(key_key(app_key), "/apps", {"key": app_key})

    async def _lookup(self, cache_key: str, path: str, params: dict[str, str] | None) -> App | None:
        try:
            cached = await self.store.get(cache_key)
        except DependencyError as exc:
            remembered = self.memory.get(cache_key)
            if remembered is not None:
                self.redis_policy.absorb(exc, degrade.APP_FROM_MEMORY)
                return remembered
            self.redis_policy.absorb(exc, degrade.APP_CACHE_BYPASS)
            return (await self._fetch(cache_key, path, params))[0]
        if cached is not None:
            try:
                app = App.from_json(json.loads(cached))
                self.store.count("get", "hit")
                self.memory.put(app)
                return app
            except ValueError as exc:  # json.JSONDecodeError is a ValueError too
                # A corrupt entry is treated as a miss and overwritten below, not served.
                log("cache_corrupt", level="warning", key=cache_key, error=str(exc))
        self.store.count("get", "miss")
        app, fresh = await self._fetch(cache_key, path, params)
        # Only the upstream's own answer goes back to Redis: a remembered (possibly stale) app must not
        # spread to other nodes with a new TTL.
        if app is not None and fresh:
            try:
                # Both keys, so the WebSocket path warms the HTTP path and vice versa.
                await self.store.setex(id_key(app.id), self.ttl_s, app.to_json())
                await self.store.setex(key_key(app.key), self.ttl_s, app.to_json())
            except DependencyError as exc:
                self.redis_policy.absorb(exc, degrade.APP_CACHE_WRITE)
        return app

    async def _fetch(self, cache_key: str, path: str, params: dict[str, str] | None) -> tuple[App | None, bool]:
        """(app, True) from the upstream, or under the degrade policy (remembered app, False) if it fails."""
        try:
            app = await self._ask_upstream(path, params)
        except DependencyError as exc:
            remembered = self.memory.get(cache_key)
            if remembered is None:
                raise  # cold: no policy can invent credentials
            self.upstream_policy.absorb(exc, degrade.APP_FROM_MEMORY)
            return remembered, False
        if app is not None:
            self.memory.put(app)
        return app, True

    async def _ask_upstream(self, path: str, params: dict[str, str] | None) -> App | None:
        """Ask the upstream registry; None on 404, DependencyError on anything else that is not 200."""
        try:
            async with self.session.get(self.upstream_url + path, params=params) as response:
                if response.status == 404:
                    self.metrics.upstream_requests.inc(result="not_found")
                    return None
                if response.status >= 500:
                    raise DependencyError("upstream", "5xx", f"HTTP {response.status}")
                if response.status != 200:
                    raise DependencyError("upstream", "other", f"HTTP {response.status}")
                app = App.from_json(await response.json(content_type=None))
        except DependencyError as exc:
            self._failed(exc.kind, exc.detail)
            raise
        except Exception as exc:  # noqa: BLE001 - connection, timeout, bad JSON: all classified
            kind = "other" if isinstance(exc, ValueError) else classify_upstream(exc)
            self._failed(kind, f"{type(exc).__name__}: {exc}")
            raise DependencyError("upstream", kind, str(exc)) from exc
        self.metrics.upstream_requests.inc(result="ok")
        return app

    def _failed(self, kind: str, detail: str) -> None:
        self.metrics.upstream_requests.inc(result=f"error_{kind}")
        log("upstream_error", level="error", kind=kind, error=detail)
