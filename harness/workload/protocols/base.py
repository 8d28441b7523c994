"""What the workload needs of a pub/sub protocol: publish through a node's server API, and a client
connection that subscribes and hands over what arrives. The journal and the judge see only these
protocol-neutral results, so every system under test yields the same events and metrics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncContextManager, Protocol

import httpx
import socket

from harness.workload.client import App, ProtocolError

__all__ = ["Answer", "Connection", "Driver", "Incoming", "ProtocolError", "status_class"]


@dataclass(frozen=True)
class Answer:
    """The answer to one publish request (transport failures raise httpx errors instead)."""

    status: int
    error: str | None = None       # error class (docs/metrics.md), None when accepted
    detail: str | None = None      # what the server said, when it refused


@dataclass(frozen=True)
class Incoming:
    """One thing a connection received: `subscribed` (a confirmed subscription to `channel`), `message`
    (a publication on `channel` carrying `data`), `messages` (stamped publications of one frame, found by
    a protocol's fast path: `data` is a journal_receipts.FrameReceipts), `error` (a refusal, `data` says
    what), or `other`."""

    kind: str
    channel: str | None = None
    data: Any = None


class Connection(Protocol):
    socket_id: str                 # the server's id of this connection

    async def request_subscribe(self, channel: str) -> None:
        """Ask to subscribe without waiting for the answer (it arrives as an Incoming `subscribed`)."""

    async def next_incoming(self, timeout: float | None) -> Incoming:
        """The next thing received, answering pings on the way; asyncio.TimeoutError after `timeout`
        seconds (None: no bound of its own, the caller bounds the wait), ProtocolError for a frame the
        protocol does not allow (the connection goes on)."""


class Driver(Protocol):
    name: str

    async def publish(self, http: httpx.AsyncClient, base_url: str, app: App,
                      messages: list[tuple[str, str]]) -> Answer:
        """Publish (channel, data) messages in one request; data is a JSON text."""

    def connect(self, ws_url: str, app: App, client: str,
                sock: socket.socket | None = None) -> AsyncContextManager[Connection]:
        """A connection to a node's WebSocket base URL (ws://host:port), as the named client; over `sock`,
        an already connected TCP socket, when given."""


def status_class(status: int) -> str | None:
    """Error class of an HTTP status: None for 2xx."""
    if 200 <= status < 300:
        return None
    return "http_4xx" if 400 <= status < 500 else "http_5xx" if status >= 500 else "http_other"
