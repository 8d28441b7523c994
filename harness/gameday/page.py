"""The game day's live page: aiohttp on 127.0.0.1, one self-contained page (no external assets), pushed
samples over server-sent events, and the fault catalogue as a form.

The page can inject faults, so it is guarded against the other pages a facilitator has open:

- it listens on 127.0.0.1 only, on a port chosen free;
- the Host header must name that address (127.0.0.1:PORT or localhost:PORT): a DNS-rebound name is
  refused (421), so a foreign site cannot reach it through its own host name;
- every request needs the game day's secret token (printed once, in the URL; the first load trades it
  for an HttpOnly, SameSite=Strict cookie and redirects to a URL without it), else 403;
- a state-changing request (anything but GET/HEAD) also needs an Origin header naming the page itself
  and the token again in the X-HX-Token header (the page's script has it; another site cannot read
  it), else 403;
- no CORS headers are ever sent (a preflight is refused like any other foreign request), frames are
  forbidden, and nothing is cached.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import socket
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from typing import Any, Awaitable, Callable

from aiohttp import web

from harness.gameday.desk import FaultDesk, whoami
from harness.gameday.live import LiveView

TOKEN_HEADER = "X-HX-Token"
SAFE_METHODS = ("GET", "HEAD")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status, headers=HEADERS)


@dataclass
class Guard:
    """The page's security rules as a middleware (see the module's docstring)."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def cookie(self) -> str:
        return f"hx_gameday_{self.port}"   # cookies ignore ports: one name per game day's port

    @property
    def hosts(self) -> set[str]:
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    @property
    def origins(self) -> set[str]:
        return {f"http://{h}" for h in self.hosts}

    def _valid(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token.encode(), self.token.encode())

    @web.middleware
    async def middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        if request.headers.get("Host") not in self.hosts:
            return _refuse(421, "wrong Host: this page answers to 127.0.0.1 only")
        if request.method not in SAFE_METHODS:
            if request.headers.get("Origin") not in self.origins:
                return _refuse(403, "foreign or missing Origin")
            if not (self._valid(request.headers.get(TOKEN_HEADER)) and self._valid(request.cookies.get(self.cookie))):
                return _refuse(403, "missing or wrong token")
        elif self._valid(request.query.get("token")) and request.path == "/":
            # First load: trade the token in the URL for a cookie, and drop it from the address bar.
            response = web.Response(status=303, headers={"Location": "/", **HEADERS})
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
            return response
        elif not self._valid(request.cookies.get(self.cookie)):
            return _refuse(403, "missing or wrong token: open the URL the game day printed")
        response = await handler(request)
        response.headers.update(HEADERS)
        return response


class LivePage:
    """The page server of one game day: samples pushed to every open page once a second."""

    def __init__(self, desk: FaultDesk, live: LiveView, title: str) -> None:
        self.desk = desk
        self.live = live
        self.title = title
        self.guard: Guard | None = None
        self._queues: set[asyncio.Queue] = set()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The URL to print once: with the token."""
        assert self.guard is not None
        return f"http://127.0.0.1:{self.guard.port}/?token={self.guard.token}"

    @property
    def addresses(self) -> list:
        """Where the page listens (the (host, port) of each socket)."""
        return self._runner.addresses if self._runner else []

    def app(self, guard: Guard) -> web.Application:
        app = web.Application(middlewares=[guard.middleware], client_max_size=1 << 16)
        app.router.add_get("/", self._page)
        app.router.add_get("/events", self._events)
        app.router.add_get("/api/state", self._state)
        app.router.add_post("/api/faults", self._inject)
        app.router.add_post("/api/faults/revert", self._revert)
        app.router.add_post("/api/notes", self._note)
        return app

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (a free port unless given); the URL with the token."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.guard = Guard(sock.getsockname()[1])
        self._runner = web.AppRunner(self.app(self.guard), access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, shutdown_timeout=0.25).start()  # open pages are not waited for
        return self.url

    async def stop(self) -> None:
        self.push("end", {"t": self.live.last_t})
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def push(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to every open page (a slow page loses old samples, never blocks the game day)."""
        message = f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
        for q in self._queues:
            if q.full():
                q.get_nowait()
            q.put_nowait(message)

    def _snapshot(self) -> dict[str, Any]:
        return {"title": self.title, "samples": list(self.live.samples)[-600:], "markers": list(self.live.markers),
                "catalogue": self.desk.catalogue()}

    async def _page(self, request: web.Request) -> web.Response:
        html = resources.files("harness.gameday").joinpath("page.html").read_text(encoding="utf-8")
        assert self.guard is not None
        html = html.replace("{{TITLE}}", escape(self.title)).replace("{{TOKEN}}", escape(self.guard.token))
        return web.Response(text=html, content_type="text/html")

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self._snapshot())

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **HEADERS})
        await response.prepare(request)
        queue: asyncio.Queue = asyncio.Queue(maxsize=120)
        self._queues.add(queue)
        try:
            await response.write(f"event: hello\ndata: {json.dumps(self._snapshot())}\n\n".encode())
            while True:
                message = await queue.get()
                await response.write(message)
                if message.startswith(b"event: end"):
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the page was closed, or the game day ends
        finally:
            self._queues.discard(queue)
        return response

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise ValueError("body: expected a JSON object") from None
        if not isinstance(body, dict):
            raise ValueError("body: expected a JSON object")
        return body

    async def _act(self, request: web.Request, action: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]):
        try:
            return web.json_response({"ok": True, **await action(await self._body(request))})
        except ValueError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        except Exception as exc:  # the fault or the cluster failed: shown on the page, the game day goes on
            return web.json_response({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, status=500)

    async def _inject(self, request: web.Request) -> web.Response:
        return await self._act(request, lambda body: self.desk.inject(body, whoami("page")))

    async def _revert(self, request: web.Request) -> web.Response:
        async def revert(body: dict[str, Any]) -> dict[str, Any]:
            name = body.get("name")
            return {"reverted": await self.desk.revert(None if name is None else str(name), whoami("page"))}
        return await self._act(request, revert)

    async def _note(self, request: web.Request) -> web.Response:
        async def note(body: dict[str, Any]) -> dict[str, Any]:
            return self.desk.note(str(body.get("text") or ""), whoami("page"))
        return await self._act(request, note)
