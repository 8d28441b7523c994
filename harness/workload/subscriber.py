"""A WebSocket subscriber (its system's protocol, through a driver) with its own reconnect, every step
journaled in the same protocol-neutral events whatever the protocol.

Built on the `websockets` library, an implementation independent of the servers', so the two check
each other. Reconnects back off from 0.2 s to 2 s (the library's own loop would wait up to 60 s)
and resubscribe every channel.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from harness.journal import JournalWriter
from harness.workload.client import App, ProtocolError
from harness.workload.message import decode
from harness.workload.protocols.base import Driver, Incoming


@dataclass
class Subscriber:
    sub_id: str
    node: str                              # node name, for the journal
    ws_url: str                            # ws://127.0.0.1:PORT
    app: App
    channels: list[str]
    journal: JournalWriter
    driver: Driver
    on_receive: Callable[[float], None] | None = None   # latency ms, for live progress
    connected: bool = False
    subscribed: int = 0

    async def run(self, max_seconds: float) -> None:
        """Stay connected and subscribed until cancelled or `max_seconds` pass."""
        deadline = time.monotonic() + max_seconds
        backoff = 0.2
        while time.monotonic() < deadline:
            try:
                await self._session(deadline)
                backoff = 0.2
            except asyncio.CancelledError:
                self._disconnected("stopped")
                raise
            except (ConnectionClosed, OSError, asyncio.TimeoutError, InvalidHandshake, InvalidURI, ValueError) as exc:
                self._disconnected(_reason(exc))
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(backoff)  # reconnect backoff
            backoff = min(backoff * 2, 2.0)
        self._disconnected("deadline")

    def _disconnected(self, reason: str) -> None:
        if self.connected:
            self.connected = False
            self.subscribed = 0
            self.journal.append("ws_disconnect", sub=self.sub_id, node=self.node, reason=reason)

    async def _session(self, deadline: float) -> None:
        async with self.driver.connect(self.ws_url, self.app, self.sub_id) as socket:
            self.connected = True
            self.journal.append("ws_connect", sub=self.sub_id, node=self.node, socket_id=socket.socket_id)
            for channel in self.channels:
                await socket.request_subscribe(channel)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    found = await socket.next_incoming(remaining)
                except ProtocolError as exc:  # journaled as evidence; the connection goes on
                    self.journal.append("ws_error", sub=self.sub_id, data=str(exc))
                    continue
                self._handle(found)

    def _handle(self, found: Incoming) -> None:
        if found.kind == "subscribed":
            self.subscribed += 1
            self.journal.append("ws_subscribed", sub=self.sub_id, channel=found.channel)
        elif found.kind == "unsubscribed":
            self.subscribed -= 1
            self.journal.append("ws_unsubscribed", sub=self.sub_id, channel=found.channel, reason=found.data)
        elif found.kind == "error":
            self.journal.append("ws_error", sub=self.sub_id, data=found.data)
        elif found.kind == "message":
            t = self.journal.clock.now()
            stamp = decode(found.data)
            if stamp is None:
                self.journal.append("ws_receive", t=t, sub=self.sub_id, channel=found.channel, run=None,
                                    pub=None, seq=-1, sent=None)
                return
            self.journal.append("ws_receive", t=t, sub=self.sub_id, channel=found.channel, run=stamp.run,
                                pub=stamp.pub, seq=stamp.seq, sent=stamp.sent)
            if self.on_receive:
                self.on_receive((t - stamp.sent) * 1000)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        return f"closed {exc.code}" + (f" {exc.reason}" if exc.reason else "")
    return type(exc).__name__
