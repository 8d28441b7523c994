"""Failure classes of the node's dependencies (Redis, upstream) and how exceptions map onto them.

The class names are part of the node's contract: they appear in 503 bodies, /readyz answers, metric
labels and logs, and the harness's scenarios match on them. They are: OOM, MISCONF, NOAUTH, timeout,
refused, other, and for the upstream also 5xx (it answered a server error).
"""
from __future__ import annotations

import asyncio

import aiohttp
import redis.exceptions as rex

# Prefixes of Redis error replies we name; redis-py 4.3 raises a plain ResponseError for all of them.
_REPLY_CLASSES = (("OOM", "OOM"), ("MISCONF", "MISCONF"), ("NOAUTH", "NOAUTH"), ("WRONGPASS", "NOAUTH"))


class DependencyError(Exception):
    """A dependency failed; `dependency` is "redis" or "upstream", `kind` one of the classes above."""

    def __init__(self, dependency: str, kind: str, detail: str = "") -> None:
        super().__init__(f"{dependency} unavailable: {kind}")
        self.dependency = dependency
        self.kind = kind
        self.detail = detail

    @property
    def public(self) -> str:
        """The message a client sees: names the dependency and the class, nothing internal."""
        return f"{self.dependency} unavailable: {self.kind}"


def classify_redis(exc: BaseException) -> str:
    """Map a redis-py (or socket) exception to a failure class."""
    # AuthenticationError is a ConnectionError subclass (and redis-py strips the NOAUTH prefix from
    # its message), so it must be checked before the generic connection case.
    if isinstance(exc, rex.AuthenticationError):
        return "NOAUTH"
    if isinstance(exc, (rex.TimeoutError, asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(exc, rex.ResponseError):
        message = str(exc)
        # Pipelines wrap the reply as "Command # n (...) of pipeline caused error: <reply>".
        if "caused error: " in message:
            message = message.split("caused error: ", 1)[1]
        for prefix, kind in _REPLY_CLASSES:
            if message.startswith(prefix):
                return kind
        return "other"
    # Refused, reset or closed by the server: the link to Redis is not usable. One class on purpose:
    # a client cannot act differently on these, and Toxiproxy faults produce all three.
    if isinstance(exc, (rex.ConnectionError, ConnectionError, OSError)):
        return "refused"
    return "other"


def classify_upstream(exc: BaseException) -> str:
    """Map an aiohttp client exception to a failure class."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, aiohttp.ServerTimeoutError)):
        return "timeout"
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, ConnectionError)):
        return "refused"
    return "other"
