"""Every Redis call the request path makes goes through here: one place to count, classify and log.

Failures come out as DependencyError("redis", class) so handlers can answer 503 uniformly.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar

import redis.asyncio as aioredis

from .errors import DependencyError, classify_redis
from .log import ThrottledLog
from .metrics import Metrics

T = TypeVar("T")


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
        self._log = ThrottledLog()

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
        self._log.log((op, kind), "redis_error", op=op, kind=kind, error=f"{type(exc).__name__}: {exc}")

    # The commands the node uses, named as the metric's `op` label.
    async def get(self, key: str) -> Any:
        return await self.call("get", lambda: self.client.get(key), count_ok=False)

    async def setex(self, key: str, ttl_s: int, value: str) -> Any:
        return await self.call("setex", lambda: self.client.setex(key, ttl_s, value))

    async def set(self, key: str, value: str, ttl_s: float, op: str = "set") -> Any:
        return await self.call(op, lambda: self.client.set(key, value, px=max(1, int(ttl_s * 1000))))

    async def incr_window(self, key: str, amount: int, ttl_s: int) -> int:
        """INCRBY then EXPIRE in one round trip (a pipeline, not MULTI, so an OOM names itself);
        the new count."""
        async def run() -> int:
            pipe = self.client.pipeline(transaction=False)
            pipe.incrby(key, amount)
            pipe.expire(key, ttl_s)
            # The reply's own exception, not redis-py's wrapper whose message hides the OOM / MISCONF prefix.
            results = await pipe.execute(raise_on_error=False)
            for result in results:
                if isinstance(result, Exception):
                    raise result
            return int(results[0])
        return await self.call("incr", run)

    async def delete(self, key: str) -> Any:
        return await self.call("del", lambda: self.client.delete(key))

    async def sadd(self, key: str, member: str) -> Any:
        return await self.call("sadd", lambda: self.client.sadd(key, member))

    async def smembers(self, key: str) -> set[str]:
        return await self.call("smembers", lambda: self.client.smembers(key))

    async def srem(self, key: str, *members: str) -> Any:
        return await self.call("srem", lambda: self.client.srem(key, *members))

    async def mget(self, keys: list[str]) -> list[Any]:
        return await self.call("mget", lambda: self.client.mget(keys))

    async def publish(self, channel: str, message: str) -> int:
        return await self.call("publish", lambda: self.client.publish(channel, message))
