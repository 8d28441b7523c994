"""The WebSocket side of the node: Pusher protocol 7 over aiohttp.

One handler per connection: handshake (protocol version, app key), then a read loop that answers
subscribe / unsubscribe / ping / client events and pings an idle client (4201 if no pong follows).
Deliveries arrive through the Hub from the fan-out subscriber. Nothing a client sends may crash the
handler: every bad input gets a pusher:error frame.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web

from . import degrade
from . import protocol as p
from .auth import verify_channel
from .config import Config
from .degrade import Policy
from .errors import DependencyError
from .fanout import Broadcaster
from .hub import Client, Hub, Member, bound_send_buffer
from .log import log
from .metrics import Metrics
from .occupancy import Occupancy
from .registry import App, Registry

# Bigger frames get pusher:error and are dropped (aiohttp itself closes with 1009 beyond MAX_MSG_BYTES).
MAX_FRAME_BYTES = 16 * 1024
MAX_MSG_BYTES = 1024 * 1024


def new_socket_id() -> str:
    """Pusher-style "<int>.<int>", random so ids don't collide across nodes."""
    return f"{secrets.randbelow(10**9)}.{secrets.randbelow(10**9)}"


class RateWindow:
    """At most `limit` events per one-second window (fixed windows: cheap, and exact enough here)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._window = 0
        self._count = 0

    def allow(self, now: float) -> bool:
        window = int(now)
        if window != self._window:
            self._window, self._count = window, 0
        self._count += 1
        return self._count <= self.limit


class SocketHandler:
    """Serves GET /app/{key}."""

    def __init__(self, config: Config, registry: Registry, hub: Hub, broadcaster: Broadcaster,
                 occupancy: Occupancy, redis_policy: Policy, metrics: Metrics) -> None:
        self.config = config
        self.registry = registry
        self.hub = hub
        self.broadcaster = broadcaster
        self.occupancy = occupancy
        self.redis_policy = redis_policy
        self.metrics = metrics

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        # No permessage-deflate: compressing each frame for each socket cost more than sending it.
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=MAX_MSG_BYTES, compress=False)
        await ws.prepare(request)
        app = await self._handshake(request, ws)
        if app is None:
            return ws
        bound_send_buffer(request.transport)
        client = Client(ws, request.transport, new_socket_id(), app.id, self.hub.metrics)
        self.hub.add(client)
        try:
            client.send(p.frame("pusher:connection_established", {
                "socket_id": client.socket_id, "activity_timeout": self.config.activity_timeout_s}))
            await self._read_loop(client, app)
        finally:
            departed = self.hub.remove(client)
            if client.closing:
                # Another task is closing with a Pusher code; returning now would let aiohttp close with 1000.
                await client.closed.wait()
            elif not ws.closed:
                await ws.close()
            for channel, member in departed:
                await self._announce_departure(app, channel, member)
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
        limiter = RateWindow(self.config.client_events_per_s)
        while True:
            timeout = self.config.pong_timeout_s if pinged else float(self.config.activity_timeout_s)
            try:
                msg = await ws.receive(timeout=timeout)
            except asyncio.TimeoutError:
                if pinged:
                    self.metrics.ws_missed_pongs.inc()
                    await client.close(p.PONG_NOT_RECEIVED, "pong not received")
                    return
                client.send(p.frame("pusher:ping", {}))
                pinged = True
                continue
            pinged = False  # any frame counts as activity
            if msg.type == WSMsgType.TEXT:
                if len(msg.data) > MAX_FRAME_BYTES:
                    client.send(p.error_frame(f"frame larger than {MAX_FRAME_BYTES} bytes"))
                    continue
                if not await self._on_text(client, app, msg.data, limiter):
                    return
            elif msg.type == WSMsgType.BINARY:
                client.send(p.error_frame("binary frames are not supported"))
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return

    async def _on_text(self, client: Client, app: App, text: str, limiter: RateWindow) -> bool:
        """Handle one text frame; False once the socket has been closed."""
        try:
            message = json.loads(text)
        except ValueError:
            client.send(p.error_frame("malformed JSON"))
            return True
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            client.send(p.error_frame("a frame must be a JSON object with a string 'event'"))
            return True
        event = message["event"]
        data = message.get("data")
        if isinstance(data, str) and event.startswith("pusher:"):
            # Clients may send data as an object or as a JSON-encoded string; accept both.
            try:
                data = json.loads(data) if data else {}
            except ValueError:
                client.send(p.error_frame(f"malformed JSON in data of {event}"))
                return True
        try:
            if event == "pusher:ping":
                client.send(p.frame("pusher:pong", {}))
            elif event == "pusher:pong":
                pass
            elif event == "pusher:subscribe":
                await self._subscribe(client, app, data)
            elif event == "pusher:unsubscribe":
                channel = data.get("channel") if isinstance(data, dict) else None
                if not p.valid_channel(channel):
                    client.send(p.error_frame("unsubscribe needs a valid 'channel'"))
                else:
                    member = self.hub.unsubscribe(client, channel)
                    if member is not None:
                        await self._announce_departure(app, channel, member)
            elif event.startswith("client-"):
                if not limiter.allow(time.monotonic()):
                    self.metrics.ws_client_events.inc(result="rate_limited")
                    client.send(p.error_frame("client event rate limit exceeded", p.CLIENT_EVENT_RATE_LIMIT))
                    await client.close(p.CLIENT_EVENT_RATE_LIMIT, "client event rate limit exceeded")
                    return False
                await self._client_event(client, app, event, message)
            else:
                client.send(p.error_frame(f"unknown event {event[:64]!r}"))
        except Exception as exc:  # noqa: BLE001 - a bug in one frame must not take the socket down
            log("ws_frame_error", level="error", socket_id=client.socket_id, error=f"{type(exc).__name__}: {exc}")
            client.send(p.error_frame("internal error"))
        return True

    async def _client_event(self, client: Client, app: App, event: str, message: dict[str, Any]) -> None:
        """client-* on a private or presence channel this socket is subscribed to: to everyone else."""
        channel = message.get("channel")
        data = message.get("data")
        reason = None
        if not isinstance(channel, str) or not p.is_authenticated(channel):
            reason = "client events need a private- or presence- 'channel'"
        elif channel not in client.channels:
            reason = f"not subscribed to {channel}"
        elif len(event) > p.MAX_EVENT_NAME:
            reason = f"event name longer than {p.MAX_EVENT_NAME} characters"
        if reason is not None:
            self.metrics.ws_client_events.inc(result="rejected")
            client.send(p.error_frame(reason))
            return
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        if len(text.encode()) > p.MAX_DATA_BYTES:
            self.metrics.ws_client_events.inc(result="rejected")
            client.send(p.error_frame(f"client event data larger than {p.MAX_DATA_BYTES} bytes"))
            return
        member = client.channels[channel]
        try:
            await self.broadcaster.send(app.id, channel, event, text, client.socket_id,
                                        member.user_id if member is not None else None)
        except DependencyError as exc:
            self.metrics.ws_client_events.inc(result=f"redis_{exc.kind}")
            client.send(p.error_frame(exc.public, p.TRY_LATER))
            return
        self.metrics.ws_client_events.inc(result="ok")

    async def _subscribe(self, client: Client, app: App, data: Any) -> None:
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
        if channel_data is None:
            self.hub.subscribe(client, channel)
            client.send(p.frame("pusher_internal:subscription_succeeded", {}, channel))
            return
        member = p.parse_member(channel_data)
        if member is None:
            client.send(p.error_frame("channel_data must be a JSON object with a 'user_id'", p.UNAUTHORIZED))
            return
        await self._join_presence(client, app, channel, Member(*member))

    async def _join_presence(self, client: Client, app: App, channel: str, member: Member) -> None:
        """Subscribe, answer with the cluster-wide member list, tell the others if the user is new."""
        is_new_here = self.hub.subscribe(client, channel, member)
        try:
            elsewhere = await self._members_elsewhere(app, channel)
        except DependencyError as exc:
            self.hub.unsubscribe(client, channel)
            client.send(p.error_frame(exc.public, p.TRY_LATER))
            return
        members = {**elsewhere, **self.hub.local_members(app.id, channel)}
        client.send(p.frame("pusher_internal:subscription_succeeded",
                            {"presence": {"ids": list(members), "hash": members, "count": len(members)}}, channel))
        if is_new_here and member.user_id not in elsewhere:
            await self._announce(app, channel, "pusher_internal:member_added",
                                 {"user_id": member.user_id, "user_info": member.user_info}, client.socket_id)

    async def _announce_departure(self, app: App, channel: str, member: Member) -> None:
        """member_removed, unless the user is still on the channel through another node."""
        try:
            elsewhere = await self._members_elsewhere(app, channel)
        except DependencyError as exc:
            log("presence_announce_failed", level="error", channel=channel, kind=exc.kind)
            return
        if member.user_id not in elsewhere:
            await self._announce(app, channel, "pusher_internal:member_removed", {"user_id": member.user_id}, None)

    async def _members_elsewhere(self, app: App, channel: str) -> dict[str, Any]:
        """Presence members on other nodes; {} when Redis fails under `degrade` (counted), raises under `strict`."""
        try:
            return await self.occupancy.elsewhere(app.id, channel)
        except DependencyError as exc:
            self.redis_policy.absorb(exc, degrade.OCCUPANCY_LOCAL)  # re-raises under strict
            return {}

    async def _announce(self, app: App, channel: str, event: str, data: dict[str, Any],
                        socket_id: str | None) -> None:
        try:
            await self.broadcaster.send(app.id, channel, event, json.dumps(data, separators=(",", ":")), socket_id)
        except DependencyError as exc:
            # Strict policy and Redis down: the other members miss this change; say so in the log.
            log("presence_announce_failed", level="error", channel=channel, event=event, kind=exc.kind)
