"""Named Redis misconfigurations: each re-creates the redis container with environment variables of
compose/redis/entrypoint.sh changed, then confirms the failure Redis really shows.

Every preset says which health checks still pass and which operations fail (docs/node.md, "Failure policy"): the
point of several of them is that Redis looks healthy to a shallow check while the nodes' writes fail.
After revert the original container is back; Toxiproxy resolves `redis:6379` per new connection, so
the nodes reconnect through it.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import docker
import redis.exceptions as rex

from harness.faults.base import FaultError
from harness.faults.catalog import FaultSpec
from harness.faults.container import RecreateFault, in_docker, need_container, wait_state
from harness.faults.redis import redis_command

CONFIRM_TIMEOUT_S = 20.0
FILL_CHUNK = "x" * 65_536
PIN_MARGIN = 512 * 1024


@dataclass(frozen=True)
class Preset:
    env: dict[str, str | None]
    still_passes: str
    fails: str


PRESETS: dict[str, Preset] = {
    "redis-wrong-password": Preset(
        {"REDIS_PASSWORD": "hx-not-the-nodes-password"},
        "TCP connect, container running",
        "every command without AUTH answers NOAUTH, PING included; exporter redis_up 0"),
    "redis-maxmemory-exhausted": Preset(
        {"REDIS_MAXMEMORY": "2mb", "REDIS_MAXMEMORY_POLICY": "noeviction"},   # then filled, see _fill
        "TCP connect, PING, GET, PUBLISH (cross-node fan-out), exporter redis_up 1, container running",
        "SET, INCR, EXPIRE of new data answer OOM: publishes (per-app counter) and /readyz fail"),
    "redis-misconf-unwritable-dir": Preset(
        {"REDIS_DIR": "/", "REDIS_SAVE": "1 1"},
        "TCP connect, GET, PUBLISH, exporter redis_up 1, container running; everything until the first "
        "background save fails about a second after the first write",
        "then SET, INCR and PING answer MISCONF: publishes and /readyz fail; `docker stop` waits its timeout"),
    "redis-bad-port": Preset(
        {"REDIS_PORT": "6380"},
        "container running, Redis itself healthy on 6380",
        "every connect to 6379 is refused (through Toxiproxy: reset); exporter redis_up 0"),
    "redis-exits-at-start": Preset(
        {"REDIS_DIR": "/nonexistent"},
        "nothing but the container's existence (state exited, exit code 1)",
        "every connect fails; the name `redis` no longer resolves; exporter redis_up 0"),
}


async def _reply(url: str, *args: Any) -> str:
    """The reply to one command, or the class and message of its error."""
    try:
        return f"ok {await redis_command(url, *args)!r}"
    except rex.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"


@dataclass
class PresetFault:
    """A Preset applied through a RecreateFault of the redis service, confirmed by its failure."""

    spec: FaultSpec
    project: str
    url: str
    memo: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.preset = PRESETS[self.spec.kind]
        self.recreate = RecreateFault(self.spec, self.project, "redis", self.preset.env, self.memo)

    async def inject(self) -> None:
        await self.recreate.inject()
        if self.spec.kind == "redis-maxmemory-exhausted":
            await self._fill()

    async def _fill(self) -> None:
        """Write 64 KB values until Redis answers OOM (bounded: 2 MB takes about 32), then pin
        maxmemory 512 KB below what is used: client buffers freed later cannot let writes in again."""
        for i in range(200):
            try:
                await redis_command(self.url, "SET", f"hx:fault:fill:{i}", FILL_CHUNK)
            except rex.ResponseError as exc:
                if not str(exc).startswith("OOM"):
                    raise FaultError(f"{self.spec.name}: filling Redis: {exc}") from None
                used = (await redis_command(self.url, "INFO", "memory"))["used_memory"]
                await redis_command(self.url, "CONFIG", "SET", "maxmemory", max(used - PIN_MARGIN, 1))
                return
            except rex.ConnectionError:
                await asyncio.sleep(0.1)  # poll: the recreated Redis is still starting
        raise FaultError(f"{self.spec.name}: Redis never answered OOM while being filled")

    async def confirm(self) -> str:
        observed = await self._observe()     # first: the container's state is final once it is seen
        return f"{await self.recreate.confirm()}; {observed}"

    async def _observe(self) -> str:
        """Poll until Redis shows the preset's failure; the observation as evidence."""
        kind = self.spec.kind
        if kind == "redis-exits-at-start":
            def exited(client: docker.DockerClient) -> str:
                state = wait_state(client, self.project, "redis", lambda s: s["Status"] == "exited", "exited")
                return f"container exited with code {state['ExitCode']}"
            return await in_docker(exited)
        if kind == "redis-bad-port":
            def inside(client: docker.DockerClient) -> str:
                deadline = time.monotonic() + CONFIRM_TIMEOUT_S
                while True:
                    _, out = need_container(client, self.project, "redis").exec_run(["redis-cli", "-p", "6380", "PING"])
                    if out.strip() == b"PONG" or time.monotonic() > deadline:
                        return out.decode().strip()
                    time.sleep(0.2)  # poll
        probe, want = {
            "redis-wrong-password": (("PING",), "NOAUTH"),   # redis-py: AuthenticationError
            "redis-maxmemory-exhausted": (("SET", "hx:fault:probe", "1"), "OOM"),
            "redis-misconf-unwritable-dir": (("SET", "hx:fault:probe", "1"), "MISCONF"),
            "redis-bad-port": (("PING",), "ConnectionError"),
        }[kind]
        deadline = time.monotonic() + CONFIRM_TIMEOUT_S
        while True:
            reply = await _reply(self.url, *probe)
            if want in reply or (want == "NOAUTH" and reply.startswith("AuthenticationError")):
                break
            if time.monotonic() > deadline:
                raise FaultError(f"{self.spec.name}: {probe[0]} answered {reply!r}, not {want}, "
                                 f"after {CONFIRM_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.2)  # poll
        evidence = f"{probe[0]} on 6379 -> {reply}"
        if kind == "redis-bad-port":
            answer = await in_docker(inside)
            if answer != "PONG":
                raise FaultError(f"{self.spec.name}: Redis does not answer on 6380 inside its container: {answer!r}")
            evidence += f"; PING on 6380 inside the container -> {answer}"
        return evidence

    async def revert(self) -> None:
        await self.recreate.revert()
