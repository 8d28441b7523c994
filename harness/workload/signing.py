"""Pusher request signing: the HTTP API's auth query and private-channel auth.

Pure functions, checked against the public test vectors in tests/unit/test_signing.py.
"""
from __future__ import annotations

import hashlib
import hmac
import time


def body_md5(body: bytes) -> str:
    """Hex MD5 of the raw request body, as the `body_md5` parameter carries it."""
    return hashlib.md5(body).hexdigest()


def string_to_sign(method: str, path: str, params: dict[str, str]) -> str:
    """METHOD\\nPATH\\nQUERY with keys lower-cased, sorted and joined unescaped."""
    query = "&".join(f"{k.lower()}={v}" for k, v in sorted(params.items(), key=lambda kv: kv[0].lower()))
    return f"{method.upper()}\n{path}\n{query}"


def signature(secret: str, method: str, path: str, params: dict[str, str]) -> str:
    """Hex HMAC-SHA256 of the string to sign; `auth_signature` must not be in params."""
    message = string_to_sign(method, path, params).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_params(
    key: str,
    secret: str,
    method: str,
    path: str,
    body: bytes = b"",
    extra: dict[str, str] | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The full query of a signed request: extra params, auth_* params, body_md5, auth_signature."""
    params = dict(extra or {})
    params["auth_key"] = key
    params["auth_timestamp"] = str(int(time.time()) if timestamp is None else timestamp)
    params["auth_version"] = "1.0"
    if body:
        params["body_md5"] = body_md5(body)
    params["auth_signature"] = signature(secret, method, path, params)
    return params


def channel_auth(key: str, secret: str, socket_id: str, channel: str, channel_data: str | None = None) -> str:
    """The `auth` field of a private or presence subscribe: key:hex(HMAC(socket_id:channel[:data]))."""
    message = f"{socket_id}:{channel}" + (f":{channel_data}" if channel_data is not None else "")
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return f"{key}:{digest}"
