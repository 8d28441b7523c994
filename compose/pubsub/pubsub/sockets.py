"""The WebSocket side of the node: Pusher protocol 7 over aiohttp.

One handler per connection: handshake (protocol version, app key), then a read loop that answers
subscribe / unsubscribe / ping. Deliveries arrive through the Hub from the fan-out subscriber.
Nothing a client sends may crash the handler: every bad input gets a pusher:error frame.
"""
from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from . import protocol as p
from .auth import verify_channel
from .errors import DependencyError
from .hub import Client, Hub
from .log import log
from .registry import App, Registry

# After activity_timeout of silence we ping; this much longer without any frame and we hang up.
PONG_GRACE_S = 30.0


def new_socket_id() -> str:
    """Pusher-style "<int>.<int>", random so ids don't collide across nodes."""
    return f"{secrets.randbelow(10**9)}.{secrets.randbelow(10**9)}"


class SocketHandler:
    """Serves GET /app/{key}."""

    def __init__(self, registry: Registry, hub: Hub, activity_timeout_s: int) -> None:
        self.registry = registry
        self.hub = hub
        self.activity_timeout_s = activity_timeout_s

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        app = await self._handshake(request, ws)
        if app is None:
            return ws
        client = Client(ws, new_socket_id(), app.id, self.hub.metrics)
        self.hub.add(client)
        try:
            client.send(p.frame("pusher:connection_established",
                                {"socket_id": client.socket_id, "activity_timeout": self.activity_timeout_s}))
            await self._read_loop(client, app)
        finally:
            self.hub.remove(client)
            await client.stop_writer()
            if not ws.closed:
                await ws.close()
        return ws

    async def _handshake(self, request: web.Request, ws: web.WebSocketResponse) -> App | None:
        """Check protocol and app; on failure send pusher:error, close with its code, return None."""
        if request.query.get("protocol") != "7":
            await self._refuse(ws, "unsupported protocol version (want protocol=7)", p.UNSUPPORTED_PROTOCOL)
            return None
        try:
            app = await self.registry.by_key(request.match_info["key"])
        except DependencyError as exc:
            # Not the client's fault: tell it to come back after a backoff.
            await self._refuse(ws, exc.public, p.TRY_LATER)
            return None
        if app is None:
            await self._refuse(ws, "app does not exist", p.APP_NOT_FOUND)
            return None
        if not app.enabled:
            await self._refuse(ws, "app is disabled", p.APP_DISABLED)
            return None
        return app

    @staticmethod
    async def _refuse(ws: web.WebSocketResponse, message: str, code: int) -> None:
        try:
            await ws.send_str(p.error_frame(message, code))
        finally:
            await ws.close(code=code, message=message.encode()[:120])

    async def _read_loop(self, client: Client, app: App) -> None:
        ws = client.ws
        pinged = False
        while True:
            timeout = PONG_GRACE_S if pinged else float(self.activity_timeout_s)
            try:
                msg = await ws.receive(timeout=timeout)
            except asyncio.TimeoutError:
                if pinged:
                    await client.close(p.PONG_NOT_RECEIVED, "pong not received")
                    return
                client.send(p.frame("pusher:ping", {}))
                pinged = True
                continue
            pinged = False  # any frame counts as activity
            if msg.type == WSMsgType.TEXT:
                self._on_text(client, app, msg.data)
            elif msg.type == WSMsgType.BINARY:
                client.send(p.error_frame("binary frames are not supported"))
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return

    def _on_text(self, client: Client, app: App, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            client.send(p.error_frame("malformed JSON"))
            return
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            client.send(p.error_frame("a frame must be a JSON object with a string 'event'"))
            return
        event = message["event"]
        data = message.get("data")
        if isinstance(data, str) and event.startswith("pusher:"):
            # Clients may send data as an object or as a JSON-encoded string; accept both.
            try:
                data = json.loads(data) if data else {}
            except ValueError:
                client.send(p.error_frame(f"malformed JSON in data of {event}"))
                return
        try:
            if event == "pusher:ping":
                client.send(p.frame("pusher:pong", {}))
            elif event == "pusher:pong":
                pass
            elif event == "pusher:subscribe":
                self._subscribe(client, app, data)
            elif event == "pusher:unsubscribe":
                channel = data.get("channel") if isinstance(data, dict) else None
                if not p.valid_channel(channel):
                    client.send(p.error_frame("unsubscribe needs a valid 'channel'"))
                else:
                    self.hub.unsubscribe(client, channel)
            elif event.startswith("client-"):
                client.send(p.error_frame("client events are not supported", 4301))
            else:
                client.send(p.error_frame(f"unknown event {event[:64]!r}"))
        except Exception as exc:  # noqa: BLE001 - a bug in one frame must not take the socket down
            log("ws_frame_error", level="error", socket_id=client.socket_id, error=f"{type(exc).__name__}: {exc}")
            client.send(p.error_frame("internal error"))

    def _subscribe(self, client: Client, app: App, data: Any) -> None:
        if not isinstance(data, dict):
            client.send(p.error_frame("subscribe data must be an object with 'channel'"))
            return
        channel = data.get("channel")
        if not p.valid_channel(channel):
            client.send(p.error_frame(f"invalid channel name: {str(channel)[:200]!r}"))
            return
        channel_data: str | None = None
        if p.is_authenticated(channel):
            if channel.startswith("presence-"):
                channel_data = data.get("channel_data")
                if not isinstance(channel_data, str):
                    client.send(p.error_frame("presence channels need 'channel_data'", p.UNAUTHORIZED))
                    return
            if not verify_channel(app.key, app.secret, client.socket_id, channel, data.get("auth"), channel_data):
                client.send(p.error_frame(f"invalid signature for {channel}", p.UNAUTHORIZED))
                return
        self.hub.subscribe(client, channel, channel_data)
        client.send(p.frame("pusher_internal:subscription_succeeded", self._succeeded_data(app, channel),
                            channel))

    def _succeeded_data(self, app: App, channel: str) -> dict[str, Any]:
        """Empty for public/private; for presence, the members known on this node (not cluster-wide)."""
        if not channel.startswith("presence-"):
            return {}
        members: dict[str, Any] = {}
        for other in self.hub.members(app.id, channel):
            try:
                info = json.loads(other.channels.get(channel) or "{}")
                members[str(info["user_id"])] = info.get("user_info")
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return {"presence": {"ids": list(members), "hash": members, "count": len(members)}}
