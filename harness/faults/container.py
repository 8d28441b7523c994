"""Container faults through the Docker API: stop, kill, pause, restart, and re-create with another
environment.

Containers are found by their Compose labels (project + service), never by name: Compose v1 and v2
name them differently. Re-creating goes through the Docker API too (inspect, remove, create from the
inspected configuration), because docker-compose v1 cannot recreate on Docker Engine >= 25 and
`docker.containers.run()` of docker-py 5.0.3 cannot set network aliases.
"""
from __future__ import annotations

import asyncio
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Callable

import docker
from docker.models.containers import Container

from harness.cluster.cluster import LABEL_PROJECT, LABEL_SERVICE
from harness.cluster.status import LABEL_FAULT
from harness.faults.base import FaultError
from harness.faults.catalog import FaultSpec

STATE_TIMEOUT_S = 20.0


def find_container(client: docker.DockerClient, project: str, service: str) -> Container | None:
    """The container of one service of a Compose project, by labels; None if there is none."""
    found = client.containers.list(all=True, filters={"label": [f"{LABEL_PROJECT}={project}",
                                                                f"{LABEL_SERVICE}={service}"]},
                                   ignore_removed=True)
    return found[0] if found else None


def need_container(client: docker.DockerClient, project: str, service: str) -> Container:
    container = find_container(client, project, service)
    if container is None:
        raise FaultError(f"project {project} has no container for service {service}")
    return container


# One Docker action at a time: a cancelled inject() leaves its thread running, and the revert()
# that follows must not start before that thread is done with the container.
_DOCKER_ACTIONS = threading.Lock()


async def in_docker(action: Callable[[docker.DockerClient], Any]) -> Any:
    """Run a blocking docker-py action in a thread with its own client; Docker errors become FaultError."""
    def run() -> Any:
        with _DOCKER_ACTIONS, closing(docker.from_env()) as client:
            try:
                return action(client)
            except docker.errors.APIError as exc:
                raise FaultError(f"docker: {exc.explanation or exc}") from None
    return await asyncio.to_thread(run)


def wait_state(client: docker.DockerClient, project: str, service: str, want: Callable[[dict], bool],
               what: str, timeout: float = STATE_TIMEOUT_S) -> dict:
    """Poll a container's State until `want(state)` holds; FaultError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        state = need_container(client, project, service).attrs["State"]
        if want(state):
            return state
        if time.monotonic() > deadline:
            raise FaultError(f"{service}: not {what} after {timeout:.0f} s (status {state['Status']})")
        time.sleep(0.1)  # poll


def _start(container: Container) -> None:
    """Make a container run again, whatever fault left it stopped, exited or paused."""
    status = container.status
    if status == "paused":
        container.unpause()
    elif status != "running":
        container.start()


@dataclass
class ContainerFault:
    """stop, kill, pause or restart the containers of the target services.

    memo["done"] lists the services already acted on, so a second inject() does nothing; for
    restart, memo["started_at"] keeps each container's start time before the restart.
    """

    spec: FaultSpec
    project: str
    memo: dict[str, Any] = field(default_factory=dict)

    async def inject(self) -> None:
        def act(client: docker.DockerClient) -> None:
            done = self.memo.setdefault("done", [])
            for service in self.spec.targets:
                if service in done:
                    continue
                c = need_container(client, self.project, service)
                kind, timeout = self.spec.kind, int(self.spec.params.get("timeout", 5))
                if kind == "stop":
                    c.stop(timeout=timeout)
                elif kind == "kill":
                    c.kill(signal=self.spec.params["signal"])
                elif kind == "pause":
                    c.pause()
                elif kind == "restart":
                    self.memo.setdefault("started_at", {})[service] = c.attrs["State"]["StartedAt"]
                    c.restart(timeout=timeout)
                done.append(service)
        await in_docker(act)

    async def confirm(self) -> str:
        def check(client: docker.DockerClient) -> str:
            out = []
            for service in self.spec.targets:
                kind = self.spec.kind
                if kind == "stop" or (kind == "kill" and self.spec.params["signal"] == "SIGKILL"):
                    state = wait_state(client, self.project, service, lambda s: not s["Running"], "exited")
                elif kind == "pause":
                    state = wait_state(client, self.project, service, lambda s: s["Paused"], "paused")
                elif kind == "restart":
                    before = self.memo["started_at"][service]
                    state = wait_state(client, self.project, service,
                                       lambda s: s["Running"] and s["StartedAt"] != before, "restarted")
                else:  # a signal the process may survive: report what it did
                    state = need_container(client, self.project, service).attrs["State"]
                out.append(f"{service} {state['Status']} (exit code {state['ExitCode']}, started {state['StartedAt']})")
            return "; ".join(out)
        return await in_docker(check)

    async def revert(self) -> None:
        def act(client: docker.DockerClient) -> None:
            for service in self.memo.get("done", []):
                container = find_container(client, self.project, service)
                if container is not None:
                    _start(container)
            for service in self.memo.get("done", []):
                wait_state(client, self.project, service, lambda s: s["Running"] and not s["Paused"], "running")
            self.memo["done"] = []
        await in_docker(act)


def snapshot(container: Container) -> dict[str, Any]:
    """What re-creating a container needs: its name, Config, HostConfig, networks with aliases, state."""
    attrs = container.attrs
    # Docker adds the container's short id and its hostname as aliases by itself: keep only the rest.
    own = {attrs["Id"][:12], attrs["Config"].get("Hostname")}
    networks = {name: [a for a in (net.get("Aliases") or []) if a not in own]
                for name, net in attrs["NetworkSettings"]["Networks"].items()}
    return {"name": attrs["Name"].lstrip("/"), "config": attrs["Config"], "host_config": attrs["HostConfig"],
            "networks": networks, "running": attrs["State"]["Running"]}


def with_env(original: dict[str, Any], changes: dict[str, str | None]) -> dict[str, Any]:
    """A snapshot with environment variables set (value) or removed (None), order kept."""
    env, seen = [], set()
    for item in original["config"].get("Env") or []:
        name = item.split("=", 1)[0]
        seen.add(name)
        if name not in changes:
            env.append(item)
        elif changes[name] is not None:
            env.append(f"{name}={changes[name]}")
    env += [f"{name}={value}" for name, value in changes.items() if name not in seen and value is not None]
    return {**original, "config": {**original["config"], "Env": env}}


def env_of(config: dict[str, Any]) -> dict[str, str]:
    """The environment of a container's Config (from inspect or a snapshot) as a mapping."""
    return dict(item.split("=", 1) for item in config.get("Env") or [])


def recreate(client: docker.DockerClient, current: Container | None, snap: dict[str, Any]) -> Container:
    """Replace `current` (if any) by a container made from `snap`: same name, networks, aliases, labels."""
    if current is not None:
        current.remove(force=True, v=True)
    networks = list(snap["networks"].items())
    config = {**snap["config"], "HostConfig": snap["host_config"]}
    if networks:
        first, aliases = networks[0]
        config["NetworkingConfig"] = {"EndpointsConfig": {first: {"Aliases": aliases}}}
    created = client.api.create_container_from_config(config, snap["name"])
    container = client.containers.get(created["Id"])
    for name, aliases in networks[1:]:
        client.networks.get(name).connect(container, aliases=aliases)
    if snap["running"]:
        container.start()
    container.reload()
    return container


@dataclass
class RecreateFault:
    """Re-creates one service's container with environment changes; revert re-creates the original.

    memo["original"] is the snapshot taken before the first change: it survives the process, so
    `harness fault revert` can restore it.
    """

    spec: FaultSpec
    project: str
    service: str
    env: dict[str, str | None]
    memo: dict[str, Any] = field(default_factory=dict)

    async def inject(self) -> None:
        def act(client: docker.DockerClient) -> None:
            current = need_container(client, self.project, self.service)
            if "original" not in self.memo:
                self.memo["original"] = snapshot(current)
            elif self._has_changes(env_of(current.attrs["Config"])):
                return  # injected already
            # Labelled with the fault: `harness ps` shows it, even after the run that made it was killed.
            changed = with_env(self.memo["original"], self.env)
            labels = {**(changed["config"].get("Labels") or {}), LABEL_FAULT: f"{self.spec.kind} ({self.spec.name})"}
            recreate(client, current, {**changed, "config": {**changed["config"], "Labels": labels}})
        await in_docker(act)

    def _has_changes(self, env: dict[str, str]) -> bool:
        return all(env.get(name) == value for name, value in self.env.items())

    async def confirm(self) -> str:
        def check(client: docker.DockerClient) -> str:
            c = need_container(client, self.project, self.service)
            env = env_of(c.attrs["Config"])
            source = "inspect"
            if c.status == "running":
                # The environment the process really sees, when the image has an `env` to run.
                code, output = c.exec_run(["env"])
                if code == 0:
                    env = dict(line.split("=", 1) for line in output.decode().splitlines() if "=" in line)
                    source = "exec env"
            if not self._has_changes(env):
                wrong = {k: env.get(k) for k, v in self.env.items() if env.get(k) != v}
                raise FaultError(f"{self.service}: recreated container does not have the environment: {wrong}")
            shown = ", ".join(f"{k}={'(removed)' if v is None else v}" for k, v in self.env.items())
            return f"{self.service} recreated ({c.short_id}, {c.status}); {source}: {shown}"
        return await in_docker(check)

    async def revert(self) -> None:
        original = self.memo.get("original")
        if original is None:
            return  # never injected

        def act(client: docker.DockerClient) -> None:
            current = find_container(client, self.project, self.service)
            if current is not None and env_of(current.attrs["Config"]) == env_of(original["config"]) \
                    and current.attrs["State"]["Running"] == original["running"]:
                return  # the original configuration is back already
            recreate(client, current, original)
        await in_docker(act)
