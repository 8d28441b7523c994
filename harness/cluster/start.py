"""Starting a cluster's services from its compose files with the Docker API, all at once.

The compose files stay the declaration (and valid Compose: tests/integration/test_compose_config.py
checks that `docker compose config` / `docker-compose config` reads them as this module does): the
cluster file plus the system's fragment. The harness reads them and makes the project's network and
containers itself, each container created and started in its own thread, a service started as soon as
what it `depends_on` has started, or, for a dependency with `condition: service_healthy`, once Docker
reports that dependency healthy (its `healthcheck`). The Compose CLI spends seconds of its own start-up and per-service
round trips on every cluster; the daemon's creates and starts are the floor either way.
What is made carries Compose's project and service labels, so everything that finds containers by
label (faults, `harness ps`, `down`) sees a Compose project.

Supported, the subset the files use: image, command, environment, env_file, labels, networks, ports
(`IP:HOST:CONTAINER`), bind volumes (`SRC:DST[:ro]`, relative to the first file's directory as Compose
resolves them), stop_grace_period, depends_on (a list of services, or per service
`{condition: service_started | service_healthy}`), healthcheck (test as `[CMD, ...]`,
`[CMD-SHELL, "..."]` or a string, interval, timeout, start_period as `100ms` / `5s` / `2m`, retries;
not start_interval, which this Docker Engine's API (1.41) does not know), YAML anchors and merge keys, and
`${VAR}` / `${VAR:-default}` interpolation. Any other key or condition is refused, naming the file and
the service.
"""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import yaml

from harness.duration import EXAMPLES, parse_duration

LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
SERVICE_KEYS = {"image", "command", "environment", "env_file", "labels", "networks", "ports", "volumes",
                "stop_grace_period", "depends_on", "healthcheck"}
HEALTHCHECK_DURATIONS = ("interval", "timeout", "start_period")
HEALTHCHECK_KEYS = {"test", "retries", *HEALTHCHECK_DURATIONS}
CONDITIONS = ("service_started", "service_healthy")
HEALTHY_TIMEOUT_S = 30.0   # a dependency not healthy by then fails the start (its healthcheck normally decides first)
POLL_S = 0.05              # how often a service waiting on a dependency looks again
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class StartError(Exception):
    """The compose files could not be read, or the project's network or a container could not be made
    or started; the message says which."""


@dataclass
class Service:
    """One service of the compose files, interpolated: what creating its container needs."""

    name: str
    image: str
    command: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    networks: list[str] = field(default_factory=list)
    ports: list[tuple[str, int, int]] = field(default_factory=list)      # (host ip, host port, container port)
    binds: list[tuple[str, str, str]] = field(default_factory=list)      # (source, target, mode)
    stop_grace_s: int | None = None
    depends_on: dict[str, str] = field(default_factory=dict)           # dependency -> condition (CONDITIONS)
    healthcheck: dict[str, Any] | None = None                           # docker-py's form: durations in ns


@dataclass
class Spec:
    """The compose files read together: each service's definition and the file it came from, the networks."""

    services: dict[str, dict[str, Any]]
    origin: dict[str, Path]
    networks: dict[str, dict[str, str]]
    project_dir: Path


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """`${VAR}` and `${VAR:-default}` replaced from env in every string of a parsed YAML value."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    return value


def read_spec(files: tuple[Path, ...], env: dict[str, str]) -> Spec:
    """The compose files parsed, interpolated with env and put together. A service defined in two files
    is refused: Compose would merge the two, and this reader does not."""
    services: dict[str, dict[str, Any]] = {}
    origin: dict[str, Path] = {}
    networks: dict[str, dict[str, str]] = {}
    for path in files:
        doc = interpolate(yaml.safe_load(path.read_text()) or {}, env)
        for name, definition in (doc.get("services") or {}).items():
            if name in services:
                raise StartError(f"{path}: service {name} is also defined in {origin[name]}; "
                                 "each service belongs to one file")
            unknown = sorted(set(definition or {}) - SERVICE_KEYS)
            if unknown:
                raise StartError(f"{path}: service {name}: {', '.join(unknown)} not supported by the harness's "
                                 f"starter (supported: {', '.join(sorted(SERVICE_KEYS))})")
            services[name], origin[name] = definition or {}, path
        for name, network in (doc.get("networks") or {}).items():
            networks[name] = {k: str(v) for k, v in ((network or {}).get("labels") or {}).items()}
    return Spec(services, origin, networks, files[0].parent)


def env_file(path: Path) -> dict[str, str]:
    """A Compose env file: KEY=VALUE lines, blank lines and # comments skipped, the value taken as is."""
    out = {}
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise StartError(f"env_file {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise StartError(f"env_file {path}, line {number}: expected KEY=VALUE, got {line!r}")
        out[key.strip()] = value
    return out


def _seconds(text: str, where: Path) -> int:
    match = re.fullmatch(r"(\d+)s", str(text).strip())
    if not match:
        raise StartError(f"{where}: stop_grace_period {text!r}: only whole seconds like 5s are supported")
    return int(match.group(1))


def _nanoseconds(text: Any, where: str) -> int:
    # With a unit only: Compose reads a bare number as something else than seconds.
    seconds = parse_duration(text) if isinstance(text, str) and text.strip()[-1:].isalpha() else None
    if seconds is None or seconds <= 0:
        raise StartError(f"{where} {text!r}: expected a positive duration like {EXAMPLES.split(' (')[0]}")
    return round(seconds * 1e9)


def healthcheck(definition: Any, where: str) -> dict[str, Any]:
    """A service's Compose `healthcheck` in docker-py's terms (test list, durations in nanoseconds); `where`
    (file and service) names it in the StartError for anything not supported."""
    if not isinstance(definition, dict):
        raise StartError(f"{where}: healthcheck must be a mapping")
    unknown = sorted(set(definition) - HEALTHCHECK_KEYS)
    if unknown:
        raise StartError(f"{where}: healthcheck {', '.join(unknown)} not supported by the harness's starter "
                         f"(supported: {', '.join(sorted(HEALTHCHECK_KEYS))})")
    test = definition.get("test")
    if isinstance(test, str) and test:
        test = ["CMD-SHELL", test]
    if not (isinstance(test, list) and len(test) >= 2 and test[0] in ("CMD", "CMD-SHELL")
            and (test[0] == "CMD" or len(test) == 2)):
        raise StartError(f"{where}: healthcheck test {test!r}: expected [CMD, program, args...], "
                         "[CMD-SHELL, command] or a command string")
    out: dict[str, Any] = {"test": [str(t) for t in test]}
    for key in HEALTHCHECK_DURATIONS:
        if key in definition:
            out[key] = _nanoseconds(definition[key], f"{where}: healthcheck {key}")
    if "retries" in definition:
        retries = definition["retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
            raise StartError(f"{where}: healthcheck retries {retries!r}: expected a whole number from 1")
        out["retries"] = retries
    return out


def dependencies(definition: Any, where: str) -> dict[str, str]:
    """A service's `depends_on` as {dependency: condition}: the list form means service_started; the
    mapping form must name a condition the starter knows (CONDITIONS)."""
    if isinstance(definition, list):
        return dict.fromkeys(map(str, definition), "service_started")
    if not isinstance(definition, dict):
        raise StartError(f"{where}: depends_on must be a list of services or a mapping")
    out = {}
    for dependency, how in definition.items():
        unknown = sorted(set(how or {}) - {"condition"}) if isinstance(how, dict) else ["(not a mapping)"]
        condition = (how or {}).get("condition") if isinstance(how, dict) else None
        if unknown or condition not in CONDITIONS:
            raise StartError(f"{where}: depends_on {dependency}: {how!r} not supported by the harness's starter "
                             f"(supported: condition {' or '.join(CONDITIONS)})")
        out[str(dependency)] = condition
    return out


def services(spec: Spec, names: list[str]) -> list[Service]:
    """The named services of the read compose files (environment files read; no Docker)."""
    out = []
    for name in names:
        if name not in spec.services:
            raise StartError(f"no service {name} in {', '.join(sorted({str(p) for p in spec.origin.values()}))}")
        s, where = spec.services[name], spec.origin[name]
        ports = []
        for port in s.get("ports", []):
            parts = str(port).split(":")
            if len(parts) != 3:
                raise StartError(f"{where}: service {name}: port {port!r}: only IP:HOST:CONTAINER is supported")
            ports.append((parts[0], int(parts[1]), int(parts[2])))
        binds = []
        for volume in s.get("volumes", []):
            source, target, *mode = volume.split(":")
            binds.append((str((spec.project_dir / source).resolve()), target, mode[0] if mode else "rw"))
        files = s.get("env_file", [])
        environment = {k: v for f in ([files] if isinstance(files, str) else files)
                       for k, v in env_file(spec.project_dir / f).items()}
        environment.update({k: str(v) for k, v in (s.get("environment") or {}).items()})
        named = f"{where}: service {name}"
        depends_on = {d: c for d, c in dependencies(s.get("depends_on", []), named).items() if d in names}
        for dependency, condition in depends_on.items():
            if condition == "service_healthy" and "healthcheck" not in spec.services.get(dependency, {"healthcheck": 0}):
                raise StartError(f"{named}: depends_on {dependency} being healthy, but {dependency} has no healthcheck")
        out.append(Service(name, s["image"], s.get("command"), environment,
                           {k: str(v) for k, v in (s.get("labels") or {}).items()}, list(s.get("networks", [])),
                           ports, binds, _seconds(s["stop_grace_period"], where) if "stop_grace_period" in s else None,
                           depends_on, healthcheck(s["healthcheck"], named) if "healthcheck" in s else None))
    return out


def check_order(wanted: list[Service]) -> None:
    """Refuse a depends_on cycle (pure): a service waiting on itself would never start."""
    done: set[str] = set()
    while len(done) < len(wanted):
        ready = {s.name for s in wanted if s.name not in done and set(s.depends_on) <= done}
        if not ready:
            raise StartError(f"depends_on has a cycle among {', '.join(s.name for s in wanted if s.name not in done)}")
        done |= ready


def last_check(state: dict[str, Any]) -> str:
    """The health status and the last line of the last health check's output, from an inspected State."""
    health = state.get("Health") or {}
    log = health.get("Log") or []
    if not log:
        return f"{health.get('Status', 'no health status')}, no health check has run yet"
    lines = (log[-1].get("Output") or "").strip().splitlines()
    return f"{health.get('Status')}, last health check exit {log[-1].get('ExitCode')}: {lines[-1] if lines else '(no output)'}"


def health_verdict(state: dict[str, Any]) -> tuple[bool, str | None]:
    """From a container's inspected State (pure): (True, None) once Docker reports it healthy, (False, None)
    while it may still become so, (False, why not) once it cannot: it exited, or its healthcheck failed."""
    if not state.get("Running"):
        return False, f"is {state.get('Status')} (exit code {state.get('ExitCode')}; {last_check(state)})"
    status = (state.get("Health") or {}).get("Status")
    if status == "healthy":
        return True, None
    if status == "unhealthy":
        return False, f"is unhealthy ({last_check(state)})"
    return False, None


def wait_healthy(api: docker.APIClient, container: str, service: str, dependency: str,
                 stop: threading.Event, abort: threading.Event | None, timeout: float = HEALTHY_TIMEOUT_S) -> bool:
    """Poll `dependency`'s container until Docker reports it healthy (True), or `stop` or `abort` is set
    (False); StartError naming `service`, the dependency and its last health check when it exits, turns
    unhealthy or is not healthy within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        state = api.inspect_container(container)["State"]
        healthy, failure = health_verdict(state)
        if healthy:
            return True
        if failure is None and time.monotonic() > deadline:
            failure = f"is not healthy after {timeout:g} s ({last_check(state)})"
        if failure:
            raise StartError(f"service {service}: waiting for {dependency} to be healthy: {dependency} {failure}")
        if stop.wait(POLL_S) or (abort is not None and abort.is_set()):
            return False


def start(project: str, names: list[str], env: dict[str, str], files: tuple[Path, ...],
          abort: threading.Event | None = None) -> dict[str, float]:
    """Make the project's networks, then create and start every named service's container, each in its
    own thread and started once its dependencies have started (or, `condition: service_healthy`, are
    healthy); returns when each started (time.monotonic()). Raises StartError; what was made is the
    caller's to remove (everything carries the files' labels). A set `abort` stops the waits for health:
    the services still waiting are not started, and the caller reports the abort."""
    spec = read_spec(files, env)
    wanted = services(spec, names)
    check_order(wanted)
    client = docker.from_env(max_pool_size=len(wanted) + 2)
    api = client.api
    started_at: dict[str, float] = {}
    ids: dict[str, str] = {}
    started = {s.name: threading.Event() for s in wanted}
    failed = threading.Event()
    try:
        networks = {}
        for name, labels in spec.networks.items():
            if any(name in s.networks for s in wanted):
                full = f"{project}_{name}"
                api.create_network(full, driver="bridge",
                                   labels={**labels, LABEL_PROJECT: project, "com.docker.compose.network": name})
                networks[name] = full

        def create_and_start(s: Service) -> None:
            try:
                host_config = api.create_host_config(
                    port_bindings={p[2]: (p[0], p[1]) for p in s.ports},
                    binds=[f"{src}:{dst}:{mode}" for src, dst, mode in s.binds],
                    network_mode=networks[s.networks[0]] if s.networks else None)
                networking = (api.create_networking_config(
                    {networks[s.networks[0]]: api.create_endpoint_config(aliases=[s.name])}) if s.networks else None)
                created = api.create_container(
                    s.image, command=s.command, name=f"{project}-{s.name}-1", environment=s.environment,
                    labels={**s.labels, LABEL_PROJECT: project, LABEL_SERVICE: s.name,
                            "com.docker.compose.container-number": "1", "com.docker.compose.oneoff": "False"},
                    ports=[p[2] for p in s.ports], host_config=host_config, networking_config=networking,
                    stop_timeout=s.stop_grace_s, healthcheck=s.healthcheck)
                for extra in s.networks[1:]:
                    api.connect_container_to_network(created["Id"], networks[extra], aliases=[s.name])
                ids[s.name] = created["Id"]
                for dependency, condition in s.depends_on.items():
                    while not started[dependency].wait(POLL_S):
                        if failed.is_set():
                            return   # the dependency failed: its error is the one reported
                    if condition == "service_healthy" and \
                            not wait_healthy(api, ids[dependency], s.name, dependency, failed, abort):
                        return       # another service failed (its error is reported) or the start was aborted
                api.start(created["Id"])
                started_at[s.name] = time.monotonic()
                started[s.name].set()
            except docker.errors.APIError as exc:
                failed.set()
                raise StartError(f"service {s.name}: {exc.explanation or exc}") from None
            except BaseException:
                failed.set()
                raise

        with ThreadPoolExecutor(len(wanted)) as pool:
            for future in [pool.submit(create_and_start, s) for s in wanted]:
                future.result()
        return started_at
    except docker.errors.APIError as exc:
        raise StartError(f"starting {project}: {exc.explanation or exc}") from None
    finally:
        client.close()
