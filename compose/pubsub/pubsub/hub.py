"""The node's local sockets and their channel subscriptions; delivers fan-out messages to them.

Each socket has its own bounded outbox and writer task, so one slow client can never stall the
fan-out loop that feeds every other socket on the node.
"""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from .log import log
from .metrics import Metrics

OUTBOX_LIMIT = 1000


class Client:
    """One connected WebSocket: its id, its channels and the queue of frames waiting to be sent."""

    def __init__(self, ws: web.WebSocketResponse, socket_id: str, app_id: str, metrics: Metrics) -> None:
        self.ws = ws
        self.socket_id = socket_id
        self.app_id = app_id
        self.metrics = metrics
        # channel -> presence channel_data (None for public/private channels)
        self.channels: dict[str, str | None] = {}
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

    def add(self, client: Client) -> None:
        self.clients.add(client)
        self.metrics.ws_connections.set(len(self.clients))
        self.metrics.ws_connections_total.inc()

    def remove(self, client: Client) -> None:
        for channel in list(client.channels):
            self.unsubscribe(client, channel)
        self.clients.discard(client)
        self.metrics.ws_connections.set(len(self.clients))

    def subscribe(self, client: Client, channel: str, channel_data: str | None = None) -> None:
        if channel not in client.channels:
            self.metrics.ws_subscriptions.inc()
        client.channels[channel] = channel_data
        self._by_channel.setdefault((client.app_id, channel), set()).add(client)

    def unsubscribe(self, client: Client, channel: str) -> bool:
        if channel not in client.channels:
            return False
        del client.channels[channel]
        self.metrics.ws_subscriptions.dec()
        members = self._by_channel.get((client.app_id, channel))
        if members is not None:
            members.discard(client)
            if not members:
                del self._by_channel[(client.app_id, channel)]
        return True

    def members(self, app_id: str, channel: str) -> list[Client]:
        return list(self._by_channel.get((app_id, channel), ()))

    def deliver(self, message: dict[str, Any], text: str) -> int:
        """Send one fan-out message to local subscribers except its publisher's socket; return count."""
        sent = 0
        for client in self.members(str(message.get("app_id", "")), str(message.get("channel", ""))):
            if message.get("socket_id") and client.socket_id == message["socket_id"]:
                continue
            sent += client.send(text)
        return sent
