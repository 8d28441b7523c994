"""Pusher request signatures: the HTTP API's auth query and private/presence channel auth.

Pure functions (the clock is a parameter) so they can be checked against the public test vectors.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Mapping

TIMESTAMP_WINDOW_S = 600
AUTH_PARAMS = ("auth_key", "auth_timestamp", "auth_version", "auth_signature")


class AuthError(Exception):
    """The request is not correctly signed; the message says why (safe to show the client)."""


def string_to_sign(method: str, path: str, params: Mapping[str, str]) -> str:
    """METHOD\\nPATH\\nQUERY: every param but auth_signature, keys lower-cased, sorted, unescaped."""
    items = sorted((k.lower(), v) for k, v in params.items() if k.lower() != "auth_signature")
    return f"{method.upper()}\n{path}\n" + "&".join(f"{k}={v}" for k, v in items)


def sign(secret: str, message: str) -> str:
    """Hex HMAC-SHA256 of message under secret."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def check_auth_params(params: Mapping[str, str], now: float) -> None:
    """The checks that need no app: required params present, version 1.0, timestamp in the window."""
    missing = [name for name in AUTH_PARAMS if not params.get(name)]
    if missing:
        raise AuthError(f"missing auth parameter(s): {', '.join(missing)}")
    if params["auth_version"] != "1.0":
        raise AuthError("auth_version must be 1.0")
    try:
        timestamp = int(params["auth_timestamp"])
    except ValueError:
        raise AuthError("auth_timestamp is not an integer") from None
    if abs(now - timestamp) > TIMESTAMP_WINDOW_S:
        raise AuthError(f"auth_timestamp is more than {TIMESTAMP_WINDOW_S} s from the server time")


def verify_request(
    key: str, secret: str, method: str, path: str, params: Mapping[str, str], body: bytes, now: float
) -> None:
    """Raise AuthError unless the request is signed by this app (key, secret) exactly as Pusher does."""
    check_auth_params(params, now)
    if not hmac.compare_digest(params["auth_key"].encode(), key.encode()):
        raise AuthError("auth_key does not match the app")
    if body:
        given_md5 = params.get("body_md5", "")
        if not given_md5:
            raise AuthError("body_md5 is required when the body is not empty")
        if not hmac.compare_digest(given_md5.lower().encode(), hashlib.md5(body).hexdigest().encode()):
            raise AuthError("body_md5 does not match the body")
    expected = sign(secret, string_to_sign(method, path, params))
    if not hmac.compare_digest(params["auth_signature"].lower().encode(), expected.encode()):
        raise AuthError("invalid signature")


def channel_signature(key: str, secret: str, socket_id: str, channel: str, channel_data: str | None) -> str:
    """The `auth` value a client must present for a private or presence channel."""
    message = f"{socket_id}:{channel}" + (f":{channel_data}" if channel_data is not None else "")
    return f"{key}:{sign(secret, message)}"


def verify_channel(
    key: str, secret: str, socket_id: str, channel: str, auth: object, channel_data: str | None
) -> bool:
    """True if `auth` is the right key:signature for this socket and channel (constant-time compare)."""
    if not isinstance(auth, str):
        return False
    expected = channel_signature(key, secret, socket_id, channel, channel_data)
    return hmac.compare_digest(auth.encode(), expected.encode())
