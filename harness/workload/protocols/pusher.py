"""The Pusher protocol (protocol 7): signed REST publish, WebSocket subscribe; over harness.workload.client."""
from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
import socket

from harness.workload.client import App, PusherSocket, publish, publish_batch
from harness.workload.signing import channel_auth
from harness.workload.protocols.base import Answer, Incoming, status_class

EVENT = "hx-load"


CLIENT_EVENT = "client-hx"


class PusherConnection:
    def __init__(self, socket: PusherSocket, app: App, client: str) -> None:
        self.socket = socket
        self.socket_id = socket.socket_id
        self.app = app
        self.client = client

    async def request_subscribe(self, channel: str) -> None:
        """Subscribe; private- and presence- channels signed as an app's auth endpoint would (the
        presence user id is the client's name)."""
        if not channel.startswith(("private-", "presence-")):
            await self.socket.request_subscribe(channel)
            return
        data = json.dumps({"user_id": self.client}) if channel.startswith("presence-") else None
        auth = channel_auth(self.app.key, self.app.secret, self.socket_id, channel, data)
        await self.socket.request_subscribe(channel, auth, data)

    async def send_client_event(self, channel: str, data: str) -> None:
        """A client event on a private or presence channel this connection is subscribed to."""
        await self.socket.send(CLIENT_EVENT, data, channel)

    async def close(self) -> None:
        """Close the connection from the client side (connection churn)."""
        if self.socket.ws is not None:
            await self.socket.ws.close()

    async def next_incoming(self, timeout: float | None) -> Incoming:
        return incoming(await self.socket.next_frame(timeout))


def incoming(frame: dict) -> Incoming:
    """What a Pusher frame means to the workload (pure)."""
    event = frame.get("event", "")
    if event == "pusher_internal:subscription_succeeded":
        return Incoming("subscribed", frame.get("channel"))
    if event == "pusher:error":
        return Incoming("error", data=frame.get("data"))
    if not event.startswith("pusher"):
        return Incoming("message", frame.get("channel"), frame.get("data"))
    return Incoming("other", frame.get("channel"), event)


class PusherDriver:
    name = "pusher"

    def __init__(self, ws_path: str = "") -> None:
        self.ws_path = ws_path      # before /app/<key>: where a server mounts its Pusher endpoint

    async def publish(self, http: httpx.AsyncClient, base_url: str, app: App,
                      messages: list[tuple[str, str]]) -> Answer:
        if len(messages) == 1:
            channel, data = messages[0]
            response = await publish(http, base_url, app, channel, EVENT, data)
        else:
            response = await publish_batch(http, base_url, app, [{"name": EVENT, "channel": c, "data": d} for c, d in messages])
        error = status_class(response.status_code)
        return Answer(response.status_code, error, response.text[:200] if error else None)

    @asynccontextmanager
    async def connect(self, ws_url: str, app: App, client: str,
                      sock: socket.socket | None = None) -> AsyncIterator[PusherConnection]:
        async with PusherSocket(ws_url + self.ws_path, app.key, sock=sock) as socket:
            yield PusherConnection(socket, app, client)
