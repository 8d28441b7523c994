"""Driving a node with the harness's own client code (harness/workload/client.py), for the node tests.

The server and this client were written separately against the protocol, so each checks the other.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

import httpx

import nodekit  # noqa: F401 - puts the repository root on sys.path for `harness`
from harness.workload.client import App, PusherSocket, get_signed, post_signed, publish, publish_batch
from harness.workload.signing import channel_auth

T = TypeVar("T")

HAPP = App(nodekit.APP["id"], nodekit.APP["key"], nodekit.APP["secret"])
DISABLED = App(nodekit.DISABLED_APP["id"], nodekit.DISABLED_APP["key"], nodekit.DISABLED_APP["secret"])
LIMITED = App("100003", "5d6e7f8091a2b3c4d5e6", "77f0e1d2c3b4a5968778")  # 5 events a minute (apps.json)
RECV_S = 5.0

__all__ = ["App", "DISABLED", "HAPP", "LIMITED", "PusherSocket", "api", "channel_auth", "channel_name",
           "get_signed", "no_event", "post_signed", "presence_join", "publish", "publish_batch", "run"]


def run(make: Callable[[], Awaitable[T]], timeout: float = 30) -> T:
    """Run one async scenario to completion, bounded in time."""
    async def bounded() -> T:
        return await asyncio.wait_for(make(), timeout)
    return asyncio.run(bounded())


def channel_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False) as http:
        yield http


async def no_event(socket: PusherSocket, within: float) -> dict[str, Any] | None:
    """The next application event within `within` seconds, or None: for asserting absence."""
    try:
        return await socket.next_event(within)
    except asyncio.TimeoutError:
        return None


async def presence_join(socket: PusherSocket, channel: str, user_id: str, info: Any = None,
                        app: App = HAPP) -> dict[str, Any]:
    """Subscribe to a presence channel as user_id; the subscription's presence data."""
    channel_data = json.dumps({"user_id": user_id, "user_info": info})
    auth = channel_auth(app.key, app.secret, socket.socket_id, channel, channel_data)
    return (await socket.subscribe(channel, auth=auth, channel_data=channel_data))["presence"]
