"""A WebSocket subscriber (its system's protocol, through a driver) with its own reconnect, every step
journaled in the same protocol-neutral events whatever the protocol.

Built on the `websockets` library, an implementation independent of the servers', so the two check
each other. Reconnects back off from 0.2 s to 2 s (the library's own loop would wait up to 60 s)
and resubscribe every channel.
"""
from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from harness.journal import JournalWriter
from harness.tasks import stop_tasks
from harness.workload.client import App, ProtocolError
from harness.workload.message import Stamp, decode, encode
from harness.workload.protocols.base import Driver, Incoming

CHURN = "churn"   # the disconnect reason of a subscriber the load closed on purpose


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
    scope: str = ""                        # prefix of journaled channels: tells apps apart (tenant isolation)
    run_id: str = ""                       # stamped into client events
    client_events_per_s: float = 0.0       # client events sent on each channel, journaled as publishes
    pause: tuple[float, float] | None = None   # a slow reader's (at, for): reads nothing for `for` s, once
    origin: float | None = None            # monotonic start of publishing, set by the load; `at` counts from it
    connect_socket: Callable[[], socket.socket] | None = None   # makes the TCP connection (a slow reader's)
    connected: bool = False
    subscribed: int = 0
    _connection: Any = field(default=None, repr=False)
    _churning: bool = False
    _client_seq: int = 0

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
                self._disconnected(CHURN if self._churning else _reason(exc))
            self._churning = False
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

    async def churn(self) -> None:
        """Close the connection on purpose (connection churn); the subscriber reconnects as after a drop."""
        if self._connection is not None and self.connected:
            self._churning = True
            await self._connection.close()

    async def _session(self, deadline: float) -> None:
        sock = await asyncio.to_thread(self.connect_socket) if self.connect_socket else None
        async with self.driver.connect(self.ws_url, self.app, self.sub_id, sock=sock) as socket:
            self._connection = socket
            self.connected = True
            self.journal.append("ws_connect", sub=self.sub_id, node=self.node, socket_id=socket.socket_id)
            for channel in self.channels:
                await socket.request_subscribe(channel)
            sender = asyncio.create_task(self._client_events(socket)) if self.client_events_per_s else None
            try:
                # One timer for the session's bound, not one a frame (TimeoutError at the deadline, as
                # a timed-out read raised before).
                async with asyncio.timeout(deadline - time.monotonic()):
                    while True:
                        await self._pause_if_due(deadline)
                        try:
                            found = await socket.next_incoming(None)
                        except ProtocolError as exc:  # journaled as evidence; the connection goes on
                            self.journal.append("ws_error", sub=self.sub_id, data=str(exc))
                            continue
                        self._handle(found)
            finally:
                self._connection = None
                await stop_tasks([sender])

    async def _pause_if_due(self, deadline: float) -> None:
        """A slow reader stops reading once its pause is due: the library's small buffers fill, then the
        TCP windows close, and what the node sends next waits in the node's own unsent bytes."""
        if self.pause is None or self.origin is None or time.monotonic() < self.origin + self.pause[0]:
            return
        at, length = self.pause
        self.pause = None
        self.journal.append("ws_paused", sub=self.sub_id, node=self.node, seconds=length)
        await asyncio.sleep(max(0.0, min(self.origin + at + length, deadline) - time.monotonic()))  # the pause itself
        self.journal.append("ws_resumed", sub=self.sub_id, node=self.node)

    async def _client_events(self, socket: Any) -> None:
        """Send client events on every subscribed channel, each journaled as a publish by this sub.

        A client event is acknowledged by nobody: `t` is its send time, and the sender itself is not
        expected to receive it (the `origin` field)."""
        pub = f"c-{self.sub_id}"
        while True:
            await asyncio.sleep(1.0 / self.client_events_per_s)
            if self.subscribed < len(self.channels):
                continue
            for channel in self.channels:
                sent = self.journal.clock.now()
                seq = self._client_seq
                self._client_seq += 1
                await socket.send_client_event(channel, encode(Stamp(self.run_id, pub, seq, sent)))
                self.journal.append("publish", t=sent, pub=pub, seq=seq, channel=self.scope + channel, node=self.node,
                                    sent=round(sent, 6), ok=True, status=None, error=None, origin=self.sub_id)

    def _handle(self, found: Incoming) -> None:
        if found.kind == "messages":  # a frame's stamped messages: one clock read, one journal line
            t = self.journal.clock.now()
            batch = found.data
            self.journal.append_receipts(t, self.sub_id, batch, self.scope)
            if self.on_receive:
                for members in batch.members:  # "seq":7,"sent":1.5
                    self.on_receive((t - float(members.rpartition(":")[2])) * 1000)
        elif found.kind == "subscribed":
            self.subscribed += 1
            self.journal.append("ws_subscribed", sub=self.sub_id, channel=self.scope + str(found.channel))
        elif found.kind == "unsubscribed":
            self.subscribed -= 1
            self.journal.append("ws_unsubscribed", sub=self.sub_id, channel=self.scope + str(found.channel),
                                reason=found.data)
        elif found.kind == "error":
            self.journal.append("ws_error", sub=self.sub_id, data=found.data)
        elif found.kind == "message":
            t = self.journal.clock.now()
            stamp = decode(found.data)
            channel = self.scope + str(found.channel)
            if stamp is None:
                self.journal.append("ws_receive", t=t, sub=self.sub_id, channel=channel, run=None,
                                    pub=None, seq=-1, sent=None)
                return
            self.journal.append("ws_receive", t=t, sub=self.sub_id, channel=channel, run=stamp.run,
                                pub=stamp.pub, seq=stamp.seq, sent=stamp.sent)
            if self.on_receive:
                self.on_receive((t - stamp.sent) * 1000)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        return f"closed {exc.code}" + (f" {exc.reason}" if exc.reason else "")
    return type(exc).__name__
