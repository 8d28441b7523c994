"""The node's local sockets and their channel subscriptions; delivers fan-out messages to them.

A fan-out message becomes one WebSocket frame, built once and written to each subscriber's transport
without waiting: one slow client never stalls the loop that feeds the others, and a client whose
unsent bytes pass WRITE_BUFFER_LIMIT is closed as a slow consumer. The kernel's send buffer under each
socket is fixed at SEND_BUFFER_BYTES (the kernel would otherwise grow it to megabytes), so the limit is
what decides when a paused reader is closed, not how much the kernel chose to hold. (Profiled under bench/fanout, a
queue and writer task per socket cost more CPU per delivery than the frame itself.)
"""
from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass
from typing import Any, Callable

from aiohttp import web

from .log import log
from .metrics import Metrics

WRITE_BUFFER_LIMIT = 1 << 20   # bytes not yet taken by a client before it is closed as a slow consumer
SEND_BUFFER_BYTES = 64 << 10   # SO_SNDBUF of a client's socket (Linux doubles it for its bookkeeping)


def bound_send_buffer(transport: asyncio.BaseTransport | None) -> None:
    """Fix the kernel's send buffer of a client's socket at SEND_BUFFER_BYTES (no autotuning)."""
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)


def text_frame(text: str) -> bytes:
    """One final, unmasked, uncompressed WebSocket text frame (RFC 6455 section 5.2), as a server sends."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


@dataclass(frozen=True)
class Member:
    """A presence channel member, from the subscriber's signed channel_data."""

    user_id: str
    user_info: Any = None


class Client:
    """One connected WebSocket: its id, its channels and the transport its frames are written to."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.BaseTransport | None, socket_id: str,
                 app_id: str, metrics: Metrics) -> None:
        self.ws = ws
        self.transport = transport
        self.socket_id = socket_id
        self.app_id = app_id
        self.metrics = metrics
        # channel -> presence member (None for public/private channels)
        self.channels: dict[str, Member | None] = {}
        self.closing = False      # close() began: its code, not the handler's default, is what the client gets
        self.closed = asyncio.Event()
        self._slow = False

    def send(self, text: str) -> bool:
        """Send a frame; False if the socket is going away or cannot keep up (and is then closed)."""
        if self.write(text_frame(text)):
            self.metrics.ws_messages_sent.inc()
            return True
        return False

    def write(self, frame: bytes) -> bool:
        """Write an encoded frame now (frames keep their order: aiohttp writes its own frames whole too)."""
        transport = self.transport
        if transport is None or transport.is_closing() or self._slow:
            return False
        if transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            self._slow = True
            log("ws_slow_consumer", level="warning", socket_id=self.socket_id)
            asyncio.ensure_future(self.close(4100, "slow consumer"))
            return False
        transport.write(frame)
        return True

    async def close(self, code: int, message: str) -> None:
        """Close the socket with a Pusher close code (idempotent)."""
        self.closing = True
        try:
            if not self.ws.closed:
                await self.ws.close(code=code, message=message.encode())
        finally:
            self.closed.set()


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
        clients = self._by_channel.get((str(message.get("app_id", "")), str(message.get("channel", ""))))
        if not clients:
            return 0
        frame = text_frame(text)
        sender = message.get("socket_id")
        sent = 0
        for client in list(clients):
            if not (sender and client.socket_id == sender):
                sent += client.write(frame)
        if sent:
            self.metrics.ws_messages_sent.inc(sent)
        return sent
