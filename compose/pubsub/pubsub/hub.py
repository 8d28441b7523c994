"""The node's local sockets and their channel subscriptions; delivers fan-out messages to them.

Each socket has its own bounded outbox and writer task, so one slow client can never stall the
fan-out loop that feeds every other socket on the node.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable

from aiohttp import web

from .log import log
from .metrics import Metrics

OUTBOX_LIMIT = 1000


@dataclass(frozen=True)
class Member:
    """A presence channel member, from the subscriber's signed channel_data."""

    user_id: str
    user_info: Any = None


class Client:
    """One connected WebSocket: its id, its channels and the queue of frames waiting to be sent."""

    def __init__(self, ws: web.WebSocketResponse, socket_id: str, app_id: str, metrics: Metrics) -> None:
        self.ws = ws
        self.socket_id = socket_id
        self.app_id = app_id
        self.metrics = metrics
        # channel -> presence member (None for public/private channels)
        self.channels: dict[str, Member | None] = {}
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(OUTBOX_LIMIT)
        self._writer = asyncio.create_task(self._write_loop())

    def send(self, text: str) -> bool:
        """Queue a frame; False (and the socket is closed) if the client cannot keep up."""
        try:
            self._outbox.put_nowait(text)
            return True
        except asyncio.QueueFull:
            log("ws_slow_consumer", level="warning", socket_id=self.socket_id)
            asyncio.ensure_future(self.close(4100, "slow consumer"))
            return False

    async def _write_loop(self) -> None:
        while True:
            text = await self._outbox.get()
            if text is None:
                return
            try:
                await self.ws.send_str(text)
                self.metrics.ws_messages_sent.inc()
            except (ConnectionError, RuntimeError):
                return  # the socket is going away; the reader side cleans up

    async def close(self, code: int, message: str) -> None:
        """Close the socket with a Pusher close code (idempotent)."""
        if not self.ws.closed:
            await self.ws.close(code=code, message=message.encode())

    async def stop_writer(self) -> None:
        """Flush what is queued, then end the writer task."""
        try:
            self._outbox.put_nowait(None)
        except asyncio.QueueFull:
            self._writer.cancel()
        try:
            await asyncio.wait_for(self._writer, timeout=1.0)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self._writer.cancel()


class Hub:
    """All sockets on this node, indexed by app and channel."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.clients: set[Client] = set()
        # (app_id, channel) -> clients subscribed there
        self._by_channel: dict[tuple[str, str], set[Client]] = {}
        # Called after every subscription change (the occupancy publisher hooks in here).
        self.on_change: Callable[[], None] = lambda: None

    def add(self, client: Client) -> None:
        self.clients.add(client)
        self.metrics.ws_connections.set(len(self.clients))
        self.metrics.ws_connections_total.inc()

    def remove(self, client: Client) -> list[tuple[str, Member]]:
        """Forget the socket; the presence members that left with it, as (channel, member)."""
        departed = []
        for channel in list(client.channels):
            member = self.unsubscribe(client, channel)
            if member is not None:
                departed.append((channel, member))
        self.clients.discard(client)
        self.metrics.ws_connections.set(len(self.clients))
        return departed

    def subscribe(self, client: Client, channel: str, member: Member | None = None) -> bool:
        """Add the subscription; True if `member` was not yet present on this node (first socket)."""
        is_new = member is not None and member.user_id not in self.local_members(client.app_id, channel)
        if channel not in client.channels:
            self.metrics.ws_subscriptions.inc()
        client.channels[channel] = member
        self._by_channel.setdefault((client.app_id, channel), set()).add(client)
        self.on_change()
        return is_new

    def unsubscribe(self, client: Client, channel: str) -> Member | None:
        """Drop the subscription; the presence member if it was that user's last socket here."""
        if channel not in client.channels:
            return None
        member = client.channels.pop(channel)
        self.metrics.ws_subscriptions.dec()
        members = self._by_channel.get((client.app_id, channel))
        if members is not None:
            members.discard(client)
            if not members:
                del self._by_channel[(client.app_id, channel)]
        self.on_change()
        if member is not None and member.user_id not in self.local_members(client.app_id, channel):
            return member
        return None

    def members(self, app_id: str, channel: str) -> list[Client]:
        return list(self._by_channel.get((app_id, channel), ()))

    def local_members(self, app_id: str, channel: str) -> dict[str, Any]:
        """Presence members on this node: user_id -> user_info."""
        out: dict[str, Any] = {}
        for client in self._by_channel.get((app_id, channel), ()):
            member = client.channels.get(channel)
            if member is not None:
                out[member.user_id] = member.user_info
        return out

    def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """app_id -> channel -> {"n": subscriptions, "users": {user_id: user_info}}: this node's occupancy."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for (app_id, channel), clients in self._by_channel.items():
            out.setdefault(app_id, {})[channel] = {"n": len(clients), "users": self.local_members(app_id, channel)}
        return out

    def deliver(self, message: dict[str, Any], text: str) -> int:
        """Send one fan-out message to local subscribers except its publisher's socket; return count."""
        sent = 0
        for client in self.members(str(message.get("app_id", "")), str(message.get("channel", ""))):
            if message.get("socket_id") and client.socket_id == message["socket_id"]:
                continue
            sent += client.send(text)
        return sent
