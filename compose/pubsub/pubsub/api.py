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

from . import degrade
from . import protocol as p
from .auth import AuthError, check_auth_params, verify_request
from .config import Config
from .degrade import Policy
from .errors import DependencyError, classify_upstream
from .fanout import Broadcaster, Subscriber
from .log import log
from .metrics import Metrics
from .occupancy import ChannelState, Occupancy
from .registry import App, Registry
from .store import Store

COUNTER_TTL_S = 120

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Reject(Exception):
    """Answer the request with `status` and {"error": message}; `result` labels pubsub_publish_total."""

    def __init__(self, status: int, message: str, result: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.result = result

    @classmethod
    def unavailable(cls, exc: DependencyError) -> "Reject":
        return cls(503, exc.public, f"{exc.dependency}_{exc.kind}")


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
                 subscriber: Subscriber, broadcaster: Broadcaster, occupancy: Occupancy, redis_policy: Policy,
                 metrics: Metrics) -> None:
        self.config = config
        self.store = store
        self.registry = registry
        self.session = session
        self.subscriber = subscriber
        self.broadcaster = broadcaster
        self.occupancy = occupancy
        self.redis_policy = redis_policy
        self.metrics = metrics

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/apps/{app_id}/events", self.events),
            web.post("/apps/{app_id}/batch_events", self.batch_events),
            web.get("/apps/{app_id}/channels", self.channels),
            web.get("/apps/{app_id}/channels/{channel}", self.channel),
            web.get("/healthz", self.healthz),
            web.get("/readyz", self.readyz),
            web.get("/metrics", self.metrics_text),
        ]

    # --- the Pusher API --------------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.Response:
        """POST /apps/{app_id}/events: one event to up to 100 channels."""
        return await self._publishing(request, self._events)

    async def batch_events(self, request: web.Request) -> web.Response:
        """POST /apps/{app_id}/batch_events: up to 10 events, each to one channel."""
        return await self._publishing(request, self._batch)

    async def _publishing(self, request: web.Request, handler: Callable[[web.Request, App, bytes, float],
                                                                          Awaitable[dict[str, Any]]]) -> web.Response:
        """Run a publish handler; every outcome is counted in pubsub_publish_total{result}."""
        try:
            app, raw, now = await self._authenticate(request)
            body = await handler(request, app, raw, now)
        except Reject as reject:
            self.metrics.publish.inc(result=reject.result)
            return json_response(reject.status, {"error": reject.message})
        self.metrics.publish.inc(result="ok")
        return json_response(200, body)

    async def _events(self, request: web.Request, app: App, raw: bytes, now: float) -> dict[str, Any]:
        try:
            event = p.parse_event(json.loads(raw))
        except ValueError as exc:  # includes json.JSONDecodeError and UnicodeDecodeError
            raise bad_body(exc) from None
        check_data_size(event.data)
        await self._count_publish(app, 1, now)
        for channel in event.channels:
            await self._send(app, channel, event)
        if not event.info:
            return {}
        states = await self._occupancy(app)
        return {"channels": {c: channel_info(c, states.get(c), event.info) for c in event.channels}}

    async def _batch(self, request: web.Request, app: App, raw: bytes, now: float) -> dict[str, Any]:
        try:
            events = p.parse_batch(json.loads(raw))
        except ValueError as exc:
            raise bad_body(exc) from None
        for event in events:
            check_data_size(event.data)
        await self._count_publish(app, len(events), now)
        for event in events:
            await self._send(app, event.channels[0], event)
        if not any(event.info for event in events):
            return {}
        states = await self._occupancy(app)
        return {"batch": [channel_info(e.channels[0], states.get(e.channels[0]), e.info) if e.info else {}
                          for e in events]}

    async def channels(self, request: web.Request) -> web.Response:
        """GET /apps/{app_id}/channels?filter_by_prefix=&info=: the occupied channels, cluster-wide."""
        try:
            app, _, _ = await self._authenticate(request)
            prefix = request.query.get("filter_by_prefix", "")
            info = info_param(request)
            if "user_count" in info and not prefix.startswith("presence-"):
                raise Reject(400, "info=user_count needs filter_by_prefix=presence-", "bad_request")
            states = await self._occupancy(app)
        except Reject as reject:
            return json_response(reject.status, {"error": reject.message})
        return json_response(200, {"channels": {
            name: channel_info(name, state, info) for name, state in sorted(states.items())
            if name.startswith(prefix)}})

    async def channel(self, request: web.Request) -> web.Response:
        """GET /apps/{app_id}/channels/{channel}?info=: one channel's occupancy, cluster-wide."""
        try:
            app, _, _ = await self._authenticate(request)
            name = request.match_info["channel"]
            if not p.valid_channel(name):
                raise Reject(400, f"invalid channel name: {name[:200]!r}", "bad_request")
            info = info_param(request)
            if "user_count" in info and not name.startswith("presence-"):
                raise Reject(400, "info=user_count is only for presence- channels", "bad_request")
            state = (await self._occupancy(app)).get(name)
        except Reject as reject:
            return json_response(reject.status, {"error": reject.message})
        return json_response(200, {"occupied": state is not None, **channel_info(name, state, info)})

    # --- steps shared by the routes --------------------------------------------------------------

    async def _authenticate(self, request: web.Request) -> tuple[App, bytes, float]:
        """The app, raw body and time of a correctly signed request to an enabled app; else Reject."""
        app_id = request.match_info["app_id"]
        params = {k: v for k, v in request.rel_url.query.items()}
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Reject(413, "request body too large", "too_large") from None
        now = time.time()
        try:
            # The app-free checks first: a request that cannot be valid should cost no Redis call.
            check_auth_params(params, now)
        except AuthError as exc:
            raise Reject(401, str(exc), "unauthorized") from None
        try:
            app = await self.registry.by_id(app_id)
        except DependencyError as exc:
            raise Reject.unavailable(exc) from None
        if app is None:
            raise Reject(404, f"unknown app {app_id[:64]!r}", "not_found")
        try:
            verify_request(app.key, app.secret, request.method, request.rel_url.raw_path, params, raw, now)
        except AuthError as exc:
            raise Reject(401, str(exc), "unauthorized") from None
        if not app.enabled:
            raise Reject(403, "app is disabled", "forbidden")
        return app, raw, now

    async def _count_publish(self, app: App, events: int, now: float) -> None:
        """The per-app, per-minute publish counter in Redis (a write: fails under OOM / MISCONF) and its quota."""
        counter = f"hx:app:{app.id}:published:{int(now // 60)}"
        try:
            count = await self.store.incr_window(counter, events, COUNTER_TTL_S)
        except DependencyError as exc:
            try:
                self.redis_policy.absorb(exc, degrade.COUNTER_SKIPPED)
            except DependencyError:
                raise Reject.unavailable(exc) from None
            return
        if app.publish_per_minute is not None and count > app.publish_per_minute:
            raise Reject(403, f"app {app.id} is over its quota of {app.publish_per_minute} events per minute",
                         "over_quota")

    async def _send(self, app: App, channel: str, event: p.Event) -> None:
        try:
            await self.broadcaster.send(app.id, channel, event.name, event.data, event.socket_id)
        except DependencyError as exc:
            raise Reject.unavailable(exc) from None

    async def _occupancy(self, app: App) -> dict[str, ChannelState]:
        """Cluster-wide channel states; this node's alone (counted) under degrade when Redis fails."""
        try:
            return await self.occupancy.cluster(app.id)
        except DependencyError as exc:
            try:
                self.redis_policy.absorb(exc, degrade.OCCUPANCY_LOCAL)
            except DependencyError:
                raise Reject.unavailable(exc) from None
            return self.occupancy.local(app.id)

    # --- probes --------------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        """Process alive: answers without touching any dependency."""
        return json_response(200, {"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        """Deep readiness: a Redis write + read round trip, the upstream's health, the fan-out link.

        Policy-independent on purpose: a degraded node still reports the dependency it is missing."""
        failed = await self._readiness_failure()
        if failed is not None:
            return json_response(503, {"status": "not ready", "failed": failed})
        return json_response(200, {"status": "ready"})

    async def _readiness_failure(self) -> str | None:
        token = secrets.token_hex(8)
        key = f"hx:ready:{self.config.node_name}"
        try:
            await self.store.set(key, token, 10)
            got = await self.store.call("get", lambda: self.store.client.get(key))
        except DependencyError as exc:
            return f"redis: {exc.kind}"
        if got != token:
            return "redis: other"
        try:
            async with self.session.get(f"{self.config.upstream_url.rstrip('/')}/healthz") as response:
                if response.status != 200:
                    return "upstream: 5xx" if response.status >= 500 else "upstream: other"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return f"upstream: {classify_upstream(exc)}"
        if not self.subscriber.subscribed:
            return "fanout: not subscribed"
        return None

    async def metrics_text(self, request: web.Request) -> web.Response:
        return web.Response(text=self.metrics.render(), content_type="text/plain",
                            headers={"X-Prometheus-Format": "0.0.4"})


def bad_body(exc: ValueError) -> Reject:
    reason = f"body is not JSON: {exc}" if isinstance(exc, json.JSONDecodeError) else str(exc)
    return Reject(400, reason, "bad_request")


def info_param(request: web.Request) -> frozenset[str]:
    try:
        return p.parse_info(request.query.get("info", ""))
    except ValueError as exc:
        raise Reject(400, str(exc), "bad_request") from None


def check_data_size(data: str) -> None:
    if len(data.encode()) > p.MAX_DATA_BYTES:
        raise Reject(413, f"'data' is larger than {p.MAX_DATA_BYTES} bytes", "too_large")


def channel_info(name: str, state: ChannelState | None, info: frozenset[str]) -> dict[str, int]:
    """The attributes asked for in `info`; user_count only for presence channels."""
    out: dict[str, int] = {}
    if "subscription_count" in info:
        out["subscription_count"] = state.subscription_count if state else 0
    if "user_count" in info and name.startswith("presence-"):
        out["user_count"] = len(state.users) if state else 0
    return out
