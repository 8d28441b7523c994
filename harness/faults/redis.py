"""Redis faults through Redis itself: CLIENT PAUSE, DEBUG SLEEP, CONFIG SET.

Commands go to the Redis port published on 127.0.0.1, on a fresh connection each, so a fault never
leaves the harness holding a connection Redis is blocking. DEBUG is allowed only from a local
connection (`enable-debug-command local`), so DEBUG SLEEP runs `redis-cli` inside the container.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import docker
import redis.asyncio as aioredis
import redis.exceptions as rex

from harness.faults.base import FaultError
from harness.faults.catalog import FaultSpec
from harness.faults.container import env_of, in_docker, need_container

BLOCKED_AFTER_S = 0.5      # a probe unanswered this long counts as blocked


async def redis_command(url: str, *args: Any, timeout: float = 2.0) -> Any:
    """One command on a fresh connection, replies decoded; redis-py exceptions pass through."""
    client = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                     decode_responses=True)
    try:
        return await client.execute_command(*args)
    finally:
        try:
            await client.close()
            await client.connection_pool.disconnect()
        except rex.RedisError:
            pass  # closing failed: it must not replace the command's outcome, a cancellation above all


async def blocked(url: str, *args: Any) -> bool:
    """Whether Redis leaves the command unanswered for BLOCKED_AFTER_S."""
    try:
        await redis_command(url, *args, timeout=BLOCKED_AFTER_S)
    except rex.TimeoutError:
        return True
    return False


async def until_blocked(url: str, what: str, *args: Any, timeout: float = 5.0) -> float:
    """Poll until `args` is blocked; the seconds it took. FaultError if it never is."""
    started = time.monotonic()
    while not await blocked(url, *args):
        if time.monotonic() - started > timeout:
            raise FaultError(f"{what}: Redis still answers {args[0]} after {timeout:.0f} s")
        await asyncio.sleep(0.05)  # poll
    return time.monotonic() - started


@dataclass
class ClientPauseFault:
    """CLIENT PAUSE <duration> WRITE|ALL; revert CLIENT UNPAUSE (the pause also ends by itself)."""

    spec: FaultSpec
    url: str
    memo: dict[str, Any] = field(default_factory=dict)

    async def inject(self) -> None:
        if self.memo.get("until", 0) > time.time():
            return
        duration = int(self.spec.params["duration"])
        await redis_command(self.url, "CLIENT", "PAUSE", duration, self.spec.params["mode"].upper())
        self.memo["until"] = time.time() + duration / 1000

    async def confirm(self) -> str:
        probe = ("SET", "hx:fault:pause-probe", "1") if self.spec.params["mode"] == "write" else ("PING",)
        await until_blocked(self.url, self.spec.name, *probe, timeout=2.0)
        return f"{probe[0]} from a new client unanswered for {BLOCKED_AFTER_S} s (CLIENT PAUSE {self.spec.params['mode']})"

    async def revert(self) -> None:
        remaining = self.memo.get("until", 0) - time.time()
        if remaining <= 0:
            return
        # Under PAUSE ALL the UNPAUSE itself may wait; it cannot wait longer than the pause.
        await redis_command(self.url, "CLIENT", "UNPAUSE", timeout=remaining + 2)
        self.memo["until"] = 0


@dataclass
class DebugSleepFault:
    """DEBUG SLEEP: the whole server blocks. Revert cannot cut the sleep short: it waits it out."""

    spec: FaultSpec
    project: str
    url: str
    memo: dict[str, Any] = field(default_factory=dict)

    async def inject(self) -> None:
        if self.memo.get("until", 0) > time.time():
            return
        seconds = self.spec.params["seconds"]

        def act(client: docker.DockerClient) -> None:
            container = need_container(client, self.project, "redis")
            port = env_of(container.attrs["Config"]).get("REDIS_PORT", "6379")
            container.exec_run(["redis-cli", "-p", port, "DEBUG", "SLEEP", str(seconds)], detach=True)
        await in_docker(act)
        self.memo["until"] = time.time() + seconds

    async def confirm(self) -> str:
        took = await until_blocked(self.url, self.spec.name, "PING")
        return f"PING unanswered for {BLOCKED_AFTER_S} s, {took:.2f} s after DEBUG SLEEP {self.spec.params['seconds']:g}"

    async def revert(self) -> None:
        deadline = self.memo.get("until", 0) + 5
        while await blocked(self.url, "PING"):
            if time.time() > deadline:
                raise FaultError(f"{self.spec.name}: Redis still asleep 5 s after DEBUG SLEEP should have ended")
            await asyncio.sleep(0.1)  # poll
        self.memo["until"] = 0


@dataclass
class ConfigSetFault:
    """CONFIG SET parameter value; memo["prior"] is the value CONFIG GET gave before, set back on revert."""

    spec: FaultSpec
    url: str
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def parameter(self) -> str:
        return self.spec.params["parameter"]

    async def _get(self) -> str:
        reply = await redis_command(self.url, "CONFIG", "GET", self.parameter)  # [name, value, ...]
        found = dict(zip(reply[::2], reply[1::2]))
        if len(found) != 1:
            raise FaultError(f"{self.spec.name}: Redis has no config parameter {self.parameter!r} "
                             f"(CONFIG GET matched {sorted(found) or 'nothing'})")
        return next(iter(found.values()))

    async def _set(self, value: str) -> None:
        try:
            await redis_command(self.url, "CONFIG", "SET", self.parameter, value)
        except rex.ResponseError as exc:
            raise FaultError(f"{self.spec.name}: CONFIG SET {self.parameter} {value!r}: {exc}") from None

    async def inject(self) -> None:
        if "prior" not in self.memo:
            self.memo["prior"] = await self._get()
        await self._set(self.spec.params["value"])

    async def confirm(self) -> str:
        now = await self._get()
        if now == self.memo["prior"] and now != self.spec.params["value"]:
            raise FaultError(f"{self.spec.name}: {self.parameter} is still {now!r}")
        return f"CONFIG GET {self.parameter} = {now!r} (was {self.memo['prior']!r})"

    async def revert(self) -> None:
        if "prior" in self.memo:
            await self._set(self.memo["prior"])
