"""A tiny read-only app registry over HTTP, loaded once from a JSON file, with a fault switch.

GET /apps/{id} -> app or 404; GET /apps?key=K -> app or 404; GET /healthz -> {"status": "ok"}.

Admin (for the fault library; docs/node.md): POST /admin/fail {"status": 5xx, "for_s": N?} makes every
non-admin route answer that status (for N seconds, or until recovered); POST /admin/latency
{"ms": N} delays every non-admin answer by N ms; POST /admin/recover clears both; GET /admin/state shows
them. Admin routes are never failed or delayed, so the switch always works.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web


def log(event: str, level: str = "info", **fields: Any) -> None:
    """One JSON object per line on stdout."""
    record = {"ts": round(time.time(), 6), "level": level, "service": "upstream", "event": event, **fields}
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def load_apps(path: str) -> list[dict[str, Any]]:
    """Read and validate the apps file; exits loudly on a bad file rather than serving nonsense."""
    with open(path, encoding="utf-8") as f:
        apps = json.load(f)
    if not isinstance(apps, list):
        raise ValueError(f"{path}: expected a JSON list of apps")
    for i, app in enumerate(apps):
        missing = [k for k in ("id", "key", "secret") if not isinstance(app, dict) or k not in app]
        if missing:
            raise ValueError(f"{path}: app #{i} lacks {', '.join(missing)}")
        app["id"], app["key"], app["secret"] = str(app["id"]), str(app["key"]), str(app["secret"])
        app["enabled"] = bool(app.get("enabled", True))
        limits = app.get("limits", {})
        quota = limits.get("publish_per_minute") if isinstance(limits, dict) else "not an object"
        if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
            raise ValueError(f"{path}: app #{i}: limits.publish_per_minute must be a non-negative integer")
    return apps


@dataclass
class Faults:
    """The injected misbehaviour: a status to answer until a deadline, and added latency."""

    status: int | None = None
    until: float | None = None  # time.monotonic() deadline; None means until recovered
    latency_ms: float = 0

    def failing_status(self, now: float) -> int | None:
        if self.status is not None and self.until is not None and now >= self.until:
            self.status = self.until = None
        return self.status

    def state(self) -> dict[str, Any]:
        now = time.monotonic()
        status = self.failing_status(now)
        remaining = None if self.until is None else round(self.until - now, 3)
        return {"status": status, "remaining_s": remaining, "latency_ms": self.latency_ms}


async def read_object(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"body is not JSON: {exc}"}),
                                 content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body must be a JSON object"}),
                                 content_type="application/json")
    return body


def bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def admin_routes(faults: Faults) -> list[web.RouteDef]:
    async def fail(request: web.Request) -> web.Response:
        body = await read_object(request)
        status, for_s = body.get("status", 503), body.get("for_s")
        if not isinstance(status, int) or isinstance(status, bool) or not 500 <= status <= 599:
            return bad("'status' must be an integer 500-599")
        if for_s is not None and (not isinstance(for_s, (int, float)) or isinstance(for_s, bool) or for_s <= 0):
            return bad("'for_s' must be a positive number or absent (until recovered)")
        faults.status = status
        faults.until = None if for_s is None else time.monotonic() + for_s
        log("fault_fail", status=status, for_s=for_s)
        return web.json_response(faults.state())

    async def latency(request: web.Request) -> web.Response:
        body = await read_object(request)
        ms = body.get("ms")
        if not isinstance(ms, (int, float)) or isinstance(ms, bool) or not 0 <= ms <= 60_000:
            return bad("'ms' must be a number 0-60000")
        faults.latency_ms = ms
        log("fault_latency", ms=ms)
        return web.json_response(faults.state())

    async def recover(request: web.Request) -> web.Response:
        faults.status = faults.until = None
        faults.latency_ms = 0
        log("fault_recover")
        return web.json_response(faults.state())

    async def state(request: web.Request) -> web.Response:
        return web.json_response(faults.state())

    return [web.post("/admin/fail", fail), web.post("/admin/latency", latency),
            web.post("/admin/recover", recover), web.get("/admin/state", state)]


def fault_middleware(faults: Faults) -> Any:
    """Apply the injected latency and failure to every route but /admin/*."""

    @web.middleware
    async def middleware(request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if request.path.startswith("/admin/"):
            return await handler(request)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)  # the injected latency itself
        status = faults.failing_status(time.monotonic())
        if status is not None:
            return web.json_response({"error": f"injected failure {status}"}, status=status)
        return await handler(request)

    return middleware


def build_app(apps: list[dict[str, Any]]) -> web.Application:
    by_id = {a["id"]: a for a in apps}
    by_key = {a["key"]: a for a in apps}

    async def get_app(request: web.Request) -> web.Response:
        app = by_id.get(request.match_info["app_id"])
        return web.json_response(app) if app else web.json_response({"error": "not found"}, status=404)

    async def find_app(request: web.Request) -> web.Response:
        key = request.query.get("key")
        if key is None:
            return web.json_response({"error": "query parameter 'key' is required"}, status=400)
        app = by_key.get(key)
        return web.json_response(app) if app else web.json_response({"error": "not found"}, status=404)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    faults = Faults()
    app = web.Application(middlewares=[fault_middleware(faults)])
    app.router.add_routes(admin_routes(faults))
    app.router.add_get("/apps/{app_id}", get_app)
    app.router.add_get("/apps", find_app)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    path = os.environ.get("APPS_FILE", "/etc/upstream/apps.json")
    apps = load_apps(path)
    log("startup", port=port, apps_file=path, apps=[a["id"] for a in apps])  # ids only: no secrets
    web.run_app(build_app(apps), host="0.0.0.0", port=port, access_log=None, print=None, shutdown_timeout=2.0)
    log("shutdown")
