"""The infrastructure watch: the harness's own parts, polled during a run.

Toxiproxy, Prometheus, Alertmanager, the alert sink and the Docker engine are how the harness injects
faults and observes; when one dies mid-run, nothing the run measures afterwards means anything. Each
part the cluster has is polled every POLL_S; DOWN_AFTER failed polls in a row (a dead container refuses
at once, so well under a second), or SLOW_DOWN_AFTER timeouts, make it down: `infra_down` is journaled
and `on_down` called, once.
A part that a fault of the scenario targets is not watched: its death is the experiment.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable

import docker
import httpx

from harness.cluster.cluster import Endpoints
from harness.journal import JournalWriter
from harness.tasks import stop_tasks

POLL_S = 0.2
TIMEOUT_S = 1.0
DOWN_AFTER = 2         # failed polls in a row: a refused connection, an error status
SLOW_DOWN_AFTER = 4    # timed-out polls in a row (over 4 s): a part that hangs, not a busy host
# Where each HTTP part answers when it is alive (the same paths the cluster's readiness uses).
HEALTH_PATHS = {"toxiproxy": "/version", "prometheus": "/-/ready", "alertmanager": "/-/ready", "alertsink": "/healthz"}
DOCKER = "docker"


def _docker_client() -> docker.DockerClient | None:
    try:
        return docker.from_env(timeout=int(TIMEOUT_S) + 1)
    except docker.errors.DockerException:
        return None  # the engine is unreachable: every probe of it fails


def watched_parts(endpoints: Endpoints, targeted: set[str]) -> dict[str, str]:
    """Part name → health URL of the HTTP parts the cluster has and no fault targets (pure)."""
    return {part: getattr(endpoints, part) + path for part, path in HEALTH_PATHS.items()
            if getattr(endpoints, part) and part not in targeted}


@dataclass
class InfraWatch:
    """Polls the parts from `start()` to `stop()`; `down` is the first part found dead, with why."""

    urls: dict[str, str]
    journal: JournalWriter
    on_down: Callable[[str, str], None]
    docker_engine: bool = True
    down: tuple[str, str] | None = None
    _task: asyncio.Task | None = field(default=None, repr=False)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None

    async def _watch(self) -> None:
        parts = [*self.urls, *([DOCKER] if self.docker_engine else [])]
        client = _docker_client() if self.docker_engine else None
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False) as http:
                # One loop a part: a slow Docker ping must not delay noticing a refused Toxiproxy.
                await asyncio.gather(*(self._watch_part(http, client, part) for part in parts))
        finally:
            if client is not None:
                client.close()

    async def _watch_part(self, http: httpx.AsyncClient, client: docker.DockerClient | None, part: str) -> None:
        failures = 0
        while self.down is None:
            problem = await self._probe(http, client, part)
            failures = failures + 1 if problem else 0
            # Refused: a dead part, at once. A timeout may be a slow host: it must last longer.
            if problem and failures >= (SLOW_DOWN_AFTER if "Timeout" in problem else DOWN_AFTER) \
                    and self.down is None:
                self.down = (part, problem)
                self.journal.append("infra_down", part=part, error=problem)
                self.journal.flush()
                self.on_down(part, problem)
                return
            await asyncio.sleep(POLL_S)

    async def _probe(self, http: httpx.AsyncClient, client: docker.DockerClient | None, part: str) -> str | None:
        """None when the part answered; else what went wrong, in a few words."""
        try:
            if part == DOCKER:
                if client is None:
                    return "no connection to the Docker engine"
                await asyncio.wait_for(asyncio.to_thread(client.ping), TIMEOUT_S + 1)
                return None
            response = await http.get(self.urls[part])
            return None if response.status_code == 200 else f"answered {response.status_code}"
        except (httpx.HTTPError, docker.errors.DockerException, asyncio.TimeoutError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:200]
