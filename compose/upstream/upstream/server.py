"""A tiny read-only app registry over HTTP, loaded once from a JSON file.

GET /apps/{id} -> app or 404; GET /apps?key=K -> app or 404; GET /healthz -> {"status": "ok"}.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

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
    return apps


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

    app = web.Application()
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
