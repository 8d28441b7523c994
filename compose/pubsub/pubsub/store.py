"""Every Redis call the request path makes goes through here: one place to count, classify and log.

Failures come out as DependencyError("redis", class) so handlers can answer 503 uniformly.
"""
from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, TypeVar

import redis.asyncio as aioredis

from .errors import DependencyError, classify_redis
from .log import log
from .metrics import Metrics

T = TypeVar("T")

# Under a fault every request fails; one log line per (op, class) per interval, carrying the count of
# lines suppressed since the last one, keeps logs readable without hiding how many errors there were.
LOG_INTERVAL_S = 1.0


def make_client(url: str, timeout_s: float) -> aioredis.Redis:
    """A pooled Redis client whose every connect, read and write is bounded by timeout_s."""
    return aioredis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        decode_responses=True,
        # No silent retries: a chaos test must see each failure, and a retry would double latency.
        retry_on_timeout=False,
    )


class Store:
    """Redis access with metrics (`pubsub_cache_operations_total{op,result}`) and error classes."""

    def __init__(self, client: aioredis.Redis, metrics: Metrics) -> None:
        self.client = client
        self.metrics = metrics
        self._last_log: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    async def call(self, op: str, fn: Callable[[], Awaitable[T]], count_ok: bool = True) -> T:
        """Run one Redis command; count it under `op`, raise DependencyError on any Redis failure."""
        try:
            result = await fn()
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes unnamed
            kind = classify_redis(exc)
            self.metrics.cache_ops.inc(op=op, result=f"error_{kind}")
            self._log_error(op, kind, exc)
            raise DependencyError("redis", kind, str(exc)) from exc
        if count_ok:
            self.metrics.cache_ops.inc(op=op, result="ok")
        return result

    def count(self, op: str, result: str) -> None:
        """Count an outcome decided by the caller (hit / miss of a GET)."""
        self.metrics.cache_ops.inc(op=op, result=result)

    def _log_error(self, op: str, kind: str, exc: BaseException) -> None:
        key = (op, kind)
        now = time.monotonic()
        if now - self._last_log.get(key, float("-inf")) < LOG_INTERVAL_S:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._last_log[key] = now
        suppressed = self._suppressed.pop(key, 0)
        log("redis_error", level="error", op=op, kind=kind, error=f"{type(exc).__name__}: {exc}",
            suppressed_since_last=suppressed)

    # The commands the node uses, named as the metric's `op` label.
    async def get(self, key: str) -> Any:
        return await self.call("get", lambda: self.client.get(key), count_ok=False)

    async def setex(self, key: str, ttl_s: int, value: str) -> Any:
        return await self.call("setex", lambda: self.client.setex(key, ttl_s, value))

    async def set(self, key: str, value: str, ex: int) -> Any:
        return await self.call("set", lambda: self.client.set(key, value, ex=ex))

    async def incr(self, key: str) -> int:
        return await self.call("incr", lambda: self.client.incr(key))

    async def expire(self, key: str, ttl_s: int) -> Any:
        return await self.call("expire", lambda: self.client.expire(key, ttl_s))

    async def publish(self, channel: str, message: str) -> int:
        return await self.call("publish", lambda: self.client.publish(channel, message))
