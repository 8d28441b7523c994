"""Pusher protocol constants and validators shared by the HTTP API and the WebSocket handler."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
CLIENT_EVENT_RATE_LIMIT = 4301


def valid_channel(name: Any) -> bool:
    return isinstance(name, str) and CHANNEL_RE.match(name) is not None


def valid_socket_id(value: Any) -> bool:
    return isinstance(value, str) and SOCKET_ID_RE.match(value) is not None


def is_authenticated(channel: str) -> bool:
    """Channels that need a signed `auth` to subscribe."""
    return channel.startswith("private-") or channel.startswith("presence-")


def frame(event: str, data: Any, channel: str | None = None, user_id: str | None = None) -> str:
    """One server frame; `data` is JSON-encoded into a string unless it already is one. `user_id` marks
    a client event sent on a presence channel."""
    out: dict[str, Any] = {"event": event}
    if channel is not None:
        out["channel"] = channel
    if user_id is not None:
        out["user_id"] = user_id
    out["data"] = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return json.dumps(out, separators=(",", ":"))


def error_frame(message: str, code: int | None = None) -> str:
    """pusher:error; its data is an object, not a string, as the Pusher docs show."""
    return json.dumps({"event": "pusher:error", "data": {"message": message, "code": code}},
                      separators=(",", ":"))


INFO_ATTRIBUTES = frozenset({"subscription_count", "user_count"})
MAX_BATCH = 10


@dataclass(frozen=True)
class Event:
    """One event of a publish or batch request, validated."""

    name: str
    data: str
    channels: list[str]
    socket_id: str | None = None
    info: frozenset[str] = frozenset()


def parse_info(value: Any) -> frozenset[str]:
    """The `info` attribute list ("subscription_count,user_count"); ValueError names an unknown one."""
    if value is None or value == "":
        return frozenset()
    if not isinstance(value, str):
        raise ValueError("'info' must be a comma-separated string")
    wanted = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = wanted - INFO_ATTRIBUTES
    if unknown:
        raise ValueError(f"unknown info attribute(s) {', '.join(sorted(unknown))}; allowed: "
                         f"{', '.join(sorted(INFO_ATTRIBUTES))}")
    return wanted


def parse_event(body: Any, single_channel: bool = False) -> Event:
    """Validate an event object (`channel` or `channels`, or with single_channel only `channel`)."""
    if not isinstance(body, dict):
        raise ValueError("an event must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("'name' must be a non-empty string")
    if len(name) > MAX_EVENT_NAME:
        raise ValueError(f"'name' is longer than {MAX_EVENT_NAME} characters")
    data = body.get("data")
    if not isinstance(data, str):
        raise ValueError("'data' must be a string")
    has_one, has_many = "channel" in body, "channels" in body
    if single_channel and not has_one:
        raise ValueError("a batch event needs 'channel'")
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
    info = parse_info(body.get("info"))
    if "user_count" in info and not all(c.startswith("presence-") for c in channels):
        raise ValueError("info=user_count is only for presence- channels")
    return Event(name, data, channels, socket_id, info)


def parse_batch(body: Any) -> list[Event]:
    """Validate a batch_events body; ValueError names the first bad event by index."""
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise ValueError("body must be an object with a 'batch' list")
    batch = body["batch"]
    if not 1 <= len(batch) <= MAX_BATCH:
        raise ValueError(f"'batch' must hold 1 to {MAX_BATCH} events, not {len(batch)}")
    events = []
    for i, item in enumerate(batch):
        try:
            events.append(parse_event(item, single_channel=True))
        except ValueError as exc:
            raise ValueError(f"batch[{i}]: {exc}") from None
    return events


def parse_member(channel_data: str) -> tuple[str, Any] | None:
    """(user_id, user_info) from a presence subscribe's channel_data, None if it is not valid."""
    try:
        data = json.loads(channel_data)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user_id"), (str, int)) or isinstance(
            data.get("user_id"), bool):
        return None
    return str(data["user_id"]), data.get("user_info")
