"""Pusher protocol constants and validators shared by the HTTP API and the WebSocket handler."""
from __future__ import annotations

import json
import re
from typing import Any

CHANNEL_RE = re.compile(r"^[A-Za-z0-9_\-=@,.;]{1,164}$")
SOCKET_ID_RE = re.compile(r"^\d+\.\d+$")
MAX_DATA_BYTES = 10 * 1024
MAX_CHANNELS = 100
MAX_EVENT_NAME = 200

# WebSocket close / error codes (REFERENCE.md §2).
APP_NOT_FOUND = 4001
APP_DISABLED = 4003
UNSUPPORTED_PROTOCOL = 4007
UNAUTHORIZED = 4009
TRY_LATER = 4100  # reconnect after backoff: used when a dependency fails during the handshake
GOING_AWAY = 4200  # reconnect at once: graceful shutdown
PONG_NOT_RECEIVED = 4201


def valid_channel(name: Any) -> bool:
    return isinstance(name, str) and CHANNEL_RE.match(name) is not None


def valid_socket_id(value: Any) -> bool:
    return isinstance(value, str) and SOCKET_ID_RE.match(value) is not None


def is_authenticated(channel: str) -> bool:
    """Channels that need a signed `auth` to subscribe."""
    return channel.startswith("private-") or channel.startswith("presence-")


def frame(event: str, data: Any, channel: str | None = None) -> str:
    """One server frame; `data` is JSON-encoded into a string unless it already is one."""
    out: dict[str, Any] = {"event": event}
    if channel is not None:
        out["channel"] = channel
    out["data"] = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return json.dumps(out, separators=(",", ":"))


def error_frame(message: str, code: int | None = None) -> str:
    """pusher:error; its data is an object, not a string, as the Pusher docs show."""
    return json.dumps({"event": "pusher:error", "data": {"message": message, "code": code}},
                      separators=(",", ":"))


def parse_publish(body: Any) -> tuple[str, str, list[str], str | None]:
    """Validate a publish body; return (name, data, channels, socket_id) or raise ValueError(reason)."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("'name' must be a non-empty string")
    if len(name) > MAX_EVENT_NAME:
        raise ValueError(f"'name' is longer than {MAX_EVENT_NAME} characters")
    data = body.get("data")
    if not isinstance(data, str):
        raise ValueError("'data' must be a string")
    has_one, has_many = "channel" in body, "channels" in body
    if has_one == has_many:
        raise ValueError("give exactly one of 'channel' or 'channels'")
    channels = [body["channel"]] if has_one else body["channels"]
    if not isinstance(channels, list) or not 1 <= len(channels) <= MAX_CHANNELS:
        raise ValueError(f"'channels' must be a list of 1 to {MAX_CHANNELS} names")
    for channel in channels:
        if not valid_channel(channel):
            raise ValueError(f"invalid channel name: {str(channel)[:200]!r}")
    if len(set(channels)) != len(channels):
        raise ValueError("'channels' contains duplicates")
    socket_id = body.get("socket_id")
    if socket_id is not None and not valid_socket_id(socket_id):
        raise ValueError("'socket_id' must look like '123.456'")
    return name, data, channels, socket_id
