"""Starting a cluster's services from the compose file with the Docker API, all at once.

The compose file stays the topology (and valid Compose); the harness reads it and makes the project's
network and containers itself, every container created concurrently and then started as soon as what
it `depends_on` has started — the Compose CLI (v1 here) spends seconds in its own start-up and in
per-service round trips. What is made carries Compose's project and service labels, so everything
that finds containers by label (faults, `harness ps`, `down`) sees a Compose project.

Supported, the subset the file uses: image, command, environment, labels, networks, ports
(`IP:HOST:CONTAINER`), bind volumes (`SRC:DST[:ro]`, relative to the file), stop_grace_period,
depends_on, YAML anchors and `${VAR}` / `${VAR:-default}` interpolation.
"""
from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import yaml

from harness.cluster.paths import COMPOSE_FILE

LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class StartError(Exception):
    """The project's network or a container could not be made or started; the message says which."""


@dataclass
class Service:
    """One service of the compose file, interpolated: what creating its container needs."""

    name: str
    image: str
    command: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    networks: list[str] = field(default_factory=list)
    ports: list[tuple[str, int, int]] = field(default_factory=list)      # (host ip, host port, container port)
    binds: list[tuple[str, str, str]] = field(default_factory=list)      # (source, target, mode)
    stop_grace_s: int | None = None
    depends_on: list[str] = field(default_factory=list)


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """`${VAR}` and `${VAR:-default}` replaced from env in every string of a parsed YAML value."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    return value


def _seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)s", text.strip())
    if not match:
        raise StartError(f"{COMPOSE_FILE}: stop_grace_period {text!r}: only whole seconds like 5s are supported")
    return int(match.group(1))


def read_spec(env: dict[str, str], compose_file: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file parsed and interpolated with env."""
    return interpolate(yaml.safe_load(compose_file.read_text()), env)


def services(spec: dict[str, Any], names: list[str], compose_file: Path = COMPOSE_FILE) -> list[Service]:
    """The named services of a parsed compose file (pure)."""
    out = []
    for name in names:
        s = spec["services"][name]
        ports = []
        for port in s.get("ports", []):
            ip, host, container = port.split(":")
            ports.append((ip, int(host), int(container)))
        binds = []
        for volume in s.get("volumes", []):
            source, target, *mode = volume.split(":")
            binds.append((str((compose_file.parent / source).resolve()), target, mode[0] if mode else "rw"))
        out.append(Service(name, s["image"], s.get("command"), {k: str(v) for k, v in s.get("environment", {}).items()},
                           {k: str(v) for k, v in s.get("labels", {}).items()}, list(s.get("networks", [])), ports, binds,
                           _seconds(s["stop_grace_period"]) if "stop_grace_period" in s else None,
                           [d for d in s.get("depends_on", []) if d in names]))
    return out


def network_labels(spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each network of a parsed compose file and its labels (pure)."""
    return {name: {k: str(v) for k, v in (n or {}).get("labels", {}).items()} for name, n in spec.get("networks", {}).items()}


def start(project: str, names: list[str], env: dict[str, str], compose_file: Path = COMPOSE_FILE) -> None:
    """Make the project's networks, create every named service's container concurrently, and start
    each once its dependencies have started. Raises StartError; what was made is the caller's to remove
    (everything carries the file's labels)."""
    spec = read_spec(env, compose_file)
    wanted = services(spec, names, compose_file)
    client = docker.from_env(max_pool_size=max(10, len(wanted)))
    api = client.api
    try:
        networks = {}
        for name, labels in network_labels(spec).items():
            if any(name in s.networks for s in wanted):
                full = f"{project}_{name}"
                api.create_network(full, driver="bridge",
                                   labels={**labels, LABEL_PROJECT: project, "com.docker.compose.network": name})
                networks[name] = full

        def create(s: Service) -> str:
            host_config = api.create_host_config(
                port_bindings={p[2]: (p[0], p[1]) for p in s.ports},
                binds=[f"{src}:{dst}:{mode}" for src, dst, mode in s.binds],
                network_mode=networks[s.networks[0]] if s.networks else None)
            networking = (api.create_networking_config({networks[s.networks[0]]: api.create_endpoint_config(aliases=[s.name])})
                          if s.networks else None)
            created = api.create_container(
                s.image, command=s.command, name=f"{project}-{s.name}-1", environment=s.environment,
                labels={**s.labels, LABEL_PROJECT: project, LABEL_SERVICE: s.name,
                        "com.docker.compose.container-number": "1", "com.docker.compose.oneoff": "False"},
                ports=[p[2] for p in s.ports], host_config=host_config, networking_config=networking,
                stop_timeout=s.stop_grace_s)
            for extra in s.networks[1:]:
                api.connect_container_to_network(created["Id"], networks[extra], aliases=[s.name])
            return created["Id"]

        with ThreadPoolExecutor(len(wanted)) as pool:
            ids = dict(zip([s.name for s in wanted], pool.map(_named(create), wanted)))
            # Each service starts as soon as the services it depends on have started, not after a
            # whole wave: the Docker daemon takes seconds per start when busy.
            started: dict[str, Future] = {}

            def start_after(s: Service) -> None:
                for dependency in s.depends_on:
                    started[dependency].result()
                api.start(ids[s.name])

            for s in start_order(wanted, compose_file):
                started[s.name] = pool.submit(_named(start_after), s)
            for future in started.values():
                future.result()
    except docker.errors.APIError as exc:
        raise StartError(f"starting {project}: {exc.explanation or exc}") from None
    finally:
        client.close()


def start_order(wanted: list[Service], compose_file: Path) -> list[Service]:
    """The services with each after those it depends on (so a pool thread only waits on started work)."""
    done: list[Service] = []
    while len(done) < len(wanted):
        ready = [s for s in wanted if s not in done and all(d in {x.name for x in done} for d in s.depends_on)]
        if not ready:
            raise StartError(f"{compose_file}: depends_on has a cycle among "
                             f"{', '.join(s.name for s in wanted if s not in done)}")
        done += ready
    return done


def _named(step):
    """The step, with a failing service's name put in front of Docker's error."""
    def run(s: Service):
        try:
            return step(s)
        except docker.errors.APIError as exc:
            raise StartError(f"service {s.name}: {exc.explanation or exc}") from None
    return run
