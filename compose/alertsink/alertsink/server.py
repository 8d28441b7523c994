"""HTTP server of the alert sink (see the package docstring)."""
from __future__ import annotations

import json
import os
import time
from typing import Any

from aiohttp import web

MAX_KEPT = 10_000  # a runaway Alertmanager must not exhaust the container's memory


class Sink:
    """The notifications received so far, in arrival order."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.dropped = 0

    async def hook(self, request: web.Request) -> web.Response:
        arrived = time.time()
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = {"unparsed": raw[:2000].decode(errors="replace")}
        if len(self.received) < MAX_KEPT:
            self.received.append({"index": len(self.received), "arrived": arrived, "path": request.path, "body": body})
        else:
            self.dropped += 1
        return web.json_response({"status": "ok"})

    async def notifications(self, request: web.Request) -> web.Response:
        try:
            since = max(0, int(request.query.get("since", "0")))
        except ValueError:
            return web.json_response({"error": "since must be an integer"}, status=400)
        return web.json_response({"notifications": self.received[since:], "next": len(self.received),
                                  "dropped": self.dropped})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "received": len(self.received)})


def app() -> web.Application:
    sink = Sink()
    application = web.Application(client_max_size=4 * 1024 * 1024)
    application.add_routes([
        web.post("/hook", sink.hook),
        web.post("/hook/{tail:.*}", sink.hook),
        web.get("/notifications", sink.notifications),
        web.get("/healthz", sink.healthz),
    ])
    return application


def main() -> None:
    # 0.0.0.0 inside its container (reached as alertsink:8080); tests run it on 127.0.0.1.
    web.run_app(app(), host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8080")),
                print=None, access_log=None)
