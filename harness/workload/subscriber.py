"""A WebSocket subscriber (protocol 7) with its own reconnect, every step journaled.

Built on the `websockets` library, an implementation independent of the server's aiohttp, so the two
check each other. Reconnects back off from 0.2 s to 2 s (the library's own loop would wait up to 60 s)
and resubscribe every channel.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Callable

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from harness.journal import JournalWriter
from harness.workload.client import ProtocolError, PusherSocket
from harness.workload.message import Stamp, decode, encode
from harness.workload.signing import channel_auth

CHURN = "churn"   # the disconnect reason of a subscriber the load closed on purpose


@dataclass
class Subscriber:
    sub_id: str
    node: str                              # node name, for the journal
    ws_url: str                            # ws://127.0.0.1:PORT
    key: str
    channels: list[str]
    journal: JournalWriter
    on_receive: Callable[[float], None] | None = None   # latency ms, for live progress
    secret: str | None = None              # signs private-/presence- subscriptions, as an app's auth endpoint
    scope: str = ""                        # prefix of journaled channels: tells apps apart (tenant isolation)
    run_id: str = ""                       # stamped into client events
    client_events_per_s: float = 0.0       # client-* events sent on each channel, journaled as publishes
    connected: bool = False
    subscribed: int = 0
    _socket: PusherSocket | None = field(default=None, repr=False)
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
        if self._socket is not None and self._socket.ws is not None and self.connected:
            self._churning = True
            await self._socket.ws.close()

    async def _session(self, deadline: float) -> None:
        async with PusherSocket(self.ws_url, self.key) as socket:
            self._socket = socket
            self.connected = True
            self.journal.append("ws_connect", sub=self.sub_id, node=self.node, socket_id=socket.socket_id)
            for channel in self.channels:
                await socket.request_subscribe(channel, *self._auth(socket.socket_id, channel))
            sender = asyncio.create_task(self._client_events(socket)) if self.client_events_per_s else None
            try:
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    try:
                        frame = await socket.next_frame(remaining)
                    except ProtocolError as exc:  # journaled as evidence; the connection goes on
                        self.journal.append("ws_error", sub=self.sub_id, data=str(exc))
                        continue
                    self._handle(frame)
            finally:
                self._socket = None
                if sender:
                    sender.cancel()
                    await asyncio.gather(sender, return_exceptions=True)

    def _auth(self, socket_id: str, channel: str) -> tuple[str | None, str | None]:
        """(auth, channel_data) of a subscribe: signed for private-/presence- channels (user id: the sub id)."""
        if self.secret is None or not channel.startswith(("private-", "presence-")):
            return None, None
        data = json.dumps({"user_id": self.sub_id}) if channel.startswith("presence-") else None
        return channel_auth(self.key, self.secret, socket_id, channel, data), data

    async def _client_events(self, socket: PusherSocket) -> None:
        """Send client-hx events on every subscribed channel, each journaled as a publish by this sub.

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
                await socket.send("client-hx", encode(Stamp(self.run_id, pub, seq, sent)), channel)
                self.journal.append("publish", t=sent, pub=pub, seq=seq, channel=self.scope + channel, node=self.node,
                                    sent=round(sent, 6), ok=True, status=None, error=None, origin=self.sub_id)

    def _handle(self, frame: dict) -> None:
        event = frame.get("event", "")
        if event == "pusher_internal:subscription_succeeded":
            self.subscribed += 1
            self.journal.append("ws_subscribed", sub=self.sub_id, channel=self.scope + str(frame.get("channel")))
        elif event == "pusher:error":
            self.journal.append("ws_error", sub=self.sub_id, data=frame.get("data"))
        elif not event.startswith("pusher"):
            t = self.journal.clock.now()
            stamp = decode(frame.get("data"))
            channel = self.scope + str(frame.get("channel"))
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
