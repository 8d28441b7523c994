"""HTTP routes: the Pusher publish API, health and readiness probes, and /metrics.

(Named api.py rather than http.py so it can never shadow the standard library's `http` package.)
"""
from __future__ import annotations

import json
import secrets
import time
from typing import Any, Awaitable, Callable

import aiohttp
from aiohttp import web

from . import fanout
from . import protocol as p
from .auth import AuthError, check_auth_params, verify_request
from .config import Config
from .errors import DependencyError, classify_upstream
from .fanout import Subscriber
from .log import log
from .metrics import Metrics
from .registry import Registry
from .store import Store

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, separators=(",", ":")))


def metrics_middleware(metrics: Metrics) -> Any:
    """Count every request by route template (not raw path, to bound label cardinality) and status."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except Exception as exc:  # noqa: BLE001 - a bug answers 500 JSON and is logged, never a bare trace
            log("unexpected_error", level="error", route=route, error=f"{type(exc).__name__}: {exc}")
            return json_response(500, {"error": "internal error"})
        finally:
            metrics.http_requests.inc(route=route, status=str(status))

    return middleware


class Api:
    """The node's HTTP endpoints."""

    def __init__(self, config: Config, store: Store, registry: Registry, session: aiohttp.ClientSession,
                 subscriber: Subscriber, metrics: Metrics) -> None:
        self.config = config
        self.store = store
        self.registry = registry
        self.session = session
        self.subscriber = subscriber
        self.metrics = metrics

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/apps/{app_id}/events", self.publish),
            web.get("/healthz", self.healthz),
            web.get("/readyz", self.readyz),
            web.get("/metrics", self.metrics_text),
        ]

    # --- publish -------------------------------------------------------------------------------

    async def publish(self, request: web.Request) -> web.Response:
        """POST /apps/{app_id}/events: authenticate, validate, count, fan out."""
        status, body, result = await self._publish(request)
        self.metrics.publish.inc(result=result)
        return json_response(status, body)

    async def _publish(self, request: web.Request) -> tuple[int, dict[str, Any], str]:
        app_id = request.match_info["app_id"]
        params = {k: v for k, v in request.rel_url.query.items()}
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return 413, {"error": "request body too large"}, "too_large"
        now = time.time()
        try:
            # The app-free checks first: a request that cannot be valid should cost no Redis call.
            check_auth_params(params, now)
        except AuthError as exc:
            return 401, {"error": str(exc)}, "unauthorized"
        try:
            app = await self.registry.by_id(app_id)
        except DependencyError as exc:
            return 503, {"error": exc.public}, f"{exc.dependency}_{exc.kind}"
        if app is None:
            return 404, {"error": f"unknown app {app_id[:64]!r}"}, "not_found"
        try:
            verify_request(app.key, app.secret, request.method, request.path, params, raw, now)
        except AuthError as exc:
            return 401, {"error": str(exc)}, "unauthorized"
        if not app.enabled:
            return 403, {"error": "app is disabled"}, "forbidden"
        try:
            name, data, channels, socket_id = p.parse_publish(json.loads(raw))
        except ValueError as exc:  # includes json.JSONDecodeError and UnicodeDecodeError
            reason = str(exc) if not isinstance(exc, json.JSONDecodeError) else f"body is not JSON: {exc}"
            return 400, {"error": reason}, "bad_request"
        if len(data.encode()) > p.MAX_DATA_BYTES:
            return 413, {"error": f"'data' is larger than {p.MAX_DATA_BYTES} bytes"}, "too_large"
        try:
            # Per-app publish counter in Redis (a write: fails under OOM / MISCONF, by design).
            counter = f"hx:app:{app.id}:published:{int(now // 60)}"
            await self.store.incr(counter)
            await self.store.expire(counter, 120)
            for channel in channels:
                message = fanout.encode(app.id, channel, name, data, socket_id, self.config.node_name)
                await fanout.publish(self.store, self.metrics, message)
        except DependencyError as exc:
            return 503, {"error": exc.public}, f"{exc.dependency}_{exc.kind}"
        return 200, {}, "ok"

    # --- probes --------------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        """Process alive: answers without touching any dependency."""
        return json_response(200, {"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        """Deep readiness: a Redis write + read round trip, the upstream's health, the fan-out link."""
        failed = await self._readiness_failure()
        if failed is not None:
            return json_response(503, {"status": "not ready", "failed": failed})
        return json_response(200, {"status": "ready"})

    async def _readiness_failure(self) -> str | None:
        token = secrets.token_hex(8)
        key = f"hx:ready:{self.config.node_name}"
        try:
            await self.store.set(key, token, ex=10)
            got = await self.store.call("get", lambda: self.store.client.get(key))
        except DependencyError as exc:
            return f"redis: {exc.kind}"
        if got != token:
            return "redis: other"
        try:
            async with self.session.get(f"{self.config.upstream_url}/healthz") as response:
                if response.status != 200:
                    return "upstream: other"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return f"upstream: {classify_upstream(exc)}"
        if not self.subscriber.subscribed:
            return "fanout: not subscribed"
        return None

    async def metrics_text(self, request: web.Request) -> web.Response:
        return web.Response(text=self.metrics.render(), content_type="text/plain",
                            headers={"X-Prometheus-Format": "0.0.4"})

