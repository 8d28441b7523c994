"""A small Pusher client: signed REST publish and a protocol-7 WebSocket, for the load and for tests.

Written against the protocol (docs/node.md, "HTTP API" and "WebSocket"), independently of the server in compose/pubsub, so
each checks the other.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
import socket
import websockets

from harness.workload.signing import signed_params

PROTOCOL_QUERY = "protocol=7&client=hx-harness&version=0.1"


@dataclass(frozen=True)
class App:
    """A Pusher app's credentials; `id` is a numeric string, as real Pusher clients require."""

    id: str
    key: str
    secret: str


async def publish(http: httpx.AsyncClient, base_url: str, app: App, channels: str | list[str],
                  name: str, data: str, socket_id: str | None = None) -> httpx.Response:
    """POST /apps/{id}/events, signed; returns the response (raises httpx errors on transport failure)."""
    body: dict[str, Any] = {"name": name, "data": data}
    body.update({"channel": channels} if isinstance(channels, str) else {"channels": channels})
    if socket_id:
        body["socket_id"] = socket_id
    return await post_signed(http, base_url, app, f"/apps/{app.id}/events", body)


async def publish_batch(http: httpx.AsyncClient, base_url: str, app: App,
                        events: list[dict[str, Any]]) -> httpx.Response:
    """POST /apps/{id}/batch_events, signed; each event is {name, channel, data, socket_id?, info?}."""
    return await post_signed(http, base_url, app, f"/apps/{app.id}/batch_events", {"batch": events})


async def post_signed(http: httpx.AsyncClient, base_url: str, app: App, path: str,
                      body: Any) -> httpx.Response:
    """POST a JSON body to an API path with the signed auth query."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    params = signed_params(app.key, app.secret, "POST", path, raw)
    return await http.post(base_url + path, params=params, content=raw, headers={"Content-Type": "application/json"})


async def get_signed(http: httpx.AsyncClient, base_url: str, app: App, path: str,
                     query: dict[str, str] | None = None) -> httpx.Response:
    """GET an API path (e.g. `/apps/{id}/channels`) with `query` and the signed auth query."""
    params = signed_params(app.key, app.secret, "GET", path, extra=query)
    return await http.get(base_url + path, params=params)


class ProtocolError(ValueError):
    """The server sent a frame the protocol does not allow (not JSON, not an object)."""


def json_object(text: str | bytes, what: str) -> dict[str, Any]:
    """The JSON object a frame (or one line of it) holds; ProtocolError names what it holds instead."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise ProtocolError(f"a {what} that is not JSON: {text[:80]!r}") from None
    if not isinstance(doc, dict):
        raise ProtocolError(f"a {what} that is not a JSON object: {text[:80]!r}")
    return doc


class PusherSocket:
    """One WebSocket connection: `async with PusherSocket(ws_url, key) as s: await s.subscribe("c")`."""

    def __init__(self, ws_url: str, key: str, open_timeout: float = 5.0, sock: socket.socket | None = None) -> None:
        self.url = f"{ws_url}/app/{key}?{PROTOCOL_QUERY}"
        self.open_timeout = open_timeout
        self.sock = sock                        # an already connected TCP socket to speak over, if given
        self.socket_id = ""
        self.ws: websockets.WebSocketClientProtocol | None = None

    async def __aenter__(self) -> "PusherSocket":
        self.ws = await websockets.connect(self.url, open_timeout=self.open_timeout, close_timeout=1, max_size=1 << 20,
                                           sock=self.sock)
        try:
            first = json.loads(await asyncio.wait_for(self.ws.recv(), self.open_timeout))
            if first.get("event") != "pusher:connection_established":
                raise ConnectionError(f"expected pusher:connection_established, got {first.get('event')}: {first.get('data')}")
            self.socket_id = json.loads(first["data"])["socket_id"]
        except BaseException:
            await self.ws.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def send(self, event: str, data: Any, channel: str | None = None) -> None:
        frame: dict[str, Any] = {"event": event, "data": data}
        if channel:
            frame["channel"] = channel
        assert self.ws is not None
        await self.ws.send(json.dumps(frame))

    async def request_subscribe(self, channel: str, auth: str | None = None, channel_data: str | None = None) -> None:
        """Send pusher:subscribe without waiting for the answer (auth / channel_data for private and presence)."""
        data = {"channel": channel}
        data.update({k: v for k, v in (("auth", auth), ("channel_data", channel_data)) if v is not None})
        await self.send("pusher:subscribe", data)

    async def subscribe(self, channel: str, timeout: float = 5.0, auth: str | None = None,
                        channel_data: str | None = None) -> Any:
        """Subscribe, wait for subscription_succeeded (other frames meanwhile are dropped), return its data."""
        await self.request_subscribe(channel, auth, channel_data)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.next_frame(deadline - loop.time())
            if frame.get("event") == "pusher_internal:subscription_succeeded" and frame.get("channel") == channel:
                return json.loads(frame.get("data") or "{}")
            if frame.get("event") == "pusher:error":
                raise ConnectionError(f"subscribe {channel}: {frame.get('data')}")

    async def next_frame(self, timeout: float | None) -> dict[str, Any]:
        """The next frame, answering server pings on the way; asyncio.TimeoutError after `timeout` (None:
        no bound of its own)."""
        assert self.ws is not None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            wait = None if deadline is None else max(0.0, deadline - loop.time())
            frame = json_object(await asyncio.wait_for(self.ws.recv(), wait), "frame")
            if frame.get("event") == "pusher:ping":
                await self.send("pusher:pong", "{}")
                continue
            return frame

    async def next_event(self, timeout: float) -> dict[str, Any]:
        """The next application event (not pusher:* / pusher_internal:*)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.next_frame(deadline - loop.time())
            if not frame.get("event", "").startswith("pusher"):
                return frame
