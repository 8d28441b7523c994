"""One cluster = one Compose project `hx-<run id>`, ports on 127.0.0.1 chosen free at start.

The nodes are the system under test's (harness/systems/): its compose fragment joins the cluster file,
and harness/cluster/start.py makes the containers from both with the Docker API.
Every container and network carries the labels io.hx.managed=true, io.hx.run-id, io.hx.owner-pid,
io.hx.system and io.hx.scope (tests/unit/test_compose_labels.py); a
cluster is ready only when each node passes its system's readiness probe (the project's node: /readyz,
a Redis write and read through Toxiproxy, the upstream reachable). Clusters are found again by label,
never by container name.
"""
from __future__ import annotations

import calendar
import math
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import docker
import httpx

from harness import systems
from harness.cluster.images import ImageBuilder, ImageError, image_exists
from harness.cluster.paths import COMPOSE_DIR, COMPOSE_FILE
from harness.cluster.services import CORE_SERVICES, MONITORING_SERVICES
from harness.cluster import scope as scopes
from harness.cluster.start import LABEL_PROJECT, LABEL_SERVICE, StartError, start
from harness.systems import probes
from harness.systems.base import Probe, System
from harness.workload.client import App

LABEL_MANAGED = "io.hx.managed"
LABEL_RUN = "io.hx.run-id"
LABEL_OWNER = "io.hx.owner-pid"      # "<host>:<pid>" of the harness process that owns it; "" = kept on purpose
LABEL_SYSTEM = "io.hx.system"        # the system under test's name
LABEL_SCOPE = "io.hx.scope"          # "user", or "test-…" for the harness's own tests (HX_SCOPE)
MAX_NODES = 3
# nodeN: the node's own port; clientN: the same node through Toxiproxy's proxy nodeN_client.
PORT_KEYS = ("redis", "toxiproxy", "upstream") + tuple(f"{kind}{i}" for kind in ("node", "client")
                                                      for i in range(1, MAX_NODES + 1))
# The container port each published port maps to, where a service publishes more than one.
CONTAINER_PORT_KEYS = {("toxiproxy", 8474): "toxiproxy",
                       **{("toxiproxy", 18000 + i): f"client{i}" for i in range(1, MAX_NODES + 1)}}
MONITORING_PORT_KEYS = ("prometheus", "alertmanager", "alertsink")
# Where each monitoring service answers once it is ready (Prometheus and Alertmanager's own probes).
MONITORING_READY_PATHS = {"prometheus": "/-/ready", "alertmanager": "/-/ready", "alertsink": "/healthz"}
POLL_S = 0.1   # readiness polls: short, each service on its own, never a fixed wait
# Where a custom system's per-node env files live while its cluster runs (compose/systems/custom.yml).
SYSTEM_DIRS = Path(tempfile.gettempdir()) / "hx-systems"


def rules_path(rule_set: str) -> Path:
    """The file of a named Prometheus rule set (compose/prometheus/rules/<name>.yml)."""
    return COMPOSE_DIR / "prometheus" / "rules" / f"{rule_set}.yml"


class ClusterError(Exception):
    """The cluster could not be started, made ready, or torn down (exit status 3)."""


@dataclass(frozen=True)
class NodeEndpoint:
    """How clients reach a node: `http`/`ws` go through Toxiproxy (proxy <name>_client, so a fault on
    target `<name>.client` degrades this node's clients only); `direct` is the node's own port."""

    name: str
    http: str
    ws: str
    direct: str | None = None


@dataclass
class Endpoints:
    """The contract of `harness up --json`: how to reach a running cluster from this machine."""

    project: str
    run_id: str
    nodes: list[NodeEndpoint]
    apps: list[App]
    system: str = systems.DEFAULT          # the system under test, its driver and WebSocket path
    protocol: str = "pusher"
    ws_path: str = ""
    toxiproxy: str | None = None
    redis: str | None = None
    upstream: str | None = None
    prometheus: str | None = None
    alertmanager: str | None = None
    alertsink: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: v for k, v in data.items() if v is not None}


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (held open together so none is handed out twice)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
        return ports


def new_run_id() -> str:
    return time.strftime("%m%d%H%M%S", time.gmtime()) + uuid.uuid4().hex[:6]


def endpoints_from_ports(run_id: str, ports: dict[str, int], nodes: int | None = None,
                         system: System | None = None) -> Endpoints:
    """Endpoints of a cluster from its published ports (services without a port are left out)."""
    system = system or systems.resolve()
    names = [f"node{i}" for i in range(1, (nodes or MAX_NODES) + 1) if f"node{i}" in ports]
    url = lambda scheme, service, path="": f"{scheme}://127.0.0.1:{ports[service]}{path}" if service in ports else None
    return Endpoints(f"hx-{run_id}", run_id,
                     [NodeEndpoint(n, url("http", f"client{n[4:]}") or url("http", n),
                                   url("ws", f"client{n[4:]}") or url("ws", n), url("http", n)) for n in names],
                     list(system.credentials), system=system.name, protocol=system.protocol, ws_path=system.ws_path,
                     toxiproxy=url("http", "toxiproxy"), redis=url("redis", "redis", "/0"),
                     upstream=url("http", "upstream"), prometheus=url("http", "prometheus"),
                     alertmanager=url("http", "alertmanager"), alertsink=url("http", "alertsink"))


@dataclass
class Cluster:
    """A cluster to start (or started) with `up()`, torn down with `down()`."""

    nodes: int = 2
    run_id: str = field(default_factory=new_run_id)
    keep: bool = False                       # owned by nobody: `harness up` leaves it for later
    ports: dict[str, int] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    monitoring: bool = False                 # Prometheus, redis_exporter, Alertmanager and the alert sink
    rules_file: Path = field(default_factory=lambda: rules_path("baseline"))
    scrape_interval_s: float = 1.0
    evaluation_interval_s: float = 1.0
    redis_policy: str = "strict"             # the nodes' failure policies (docs/node.md): strict | degrade
    upstream_policy: str = "strict"
    system: System = field(default_factory=systems.resolve)
    scope: str = field(default_factory=scopes.current)
    # Where up() spent its time, seconds from its call: images_s, containers_s (the last container
    # started), ready_s, and per service started_s / answered_s (its readiness probe first passed).
    start_timings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._aborted = threading.Event()
        if problem := scopes.problem(self.scope):
            raise ClusterError(problem)
        if not 1 <= self.nodes <= MAX_NODES:
            raise ClusterError(f"nodes must be from 1 to {MAX_NODES}, got {self.nodes}")

    @property
    def project(self) -> str:
        return f"hx-{self.run_id}"

    @property
    def services(self) -> list[str]:
        nodes = [f"node{i}" for i in range(1, self.nodes + 1)]
        return [*CORE_SERVICES, *nodes, *(MONITORING_SERVICES if self.monitoring else ())]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HX_")}
        env.update(HX_RUN_ID=self.run_id, HX_OWNER_PID="" if self.keep else owner_id(), HX_SCOPE=self.scope)
        env.update({f"HX_PORT_{k.upper()}": str(p) for k, p in self.ports.items()})
        env.update({f"HX_IMAGE_{k.upper()}": tag for k, tag in self.images.items()})
        env.update(HX_SYSTEM=self.system.name, HX_NODE_PORT=str(self.system.http_port),
                   HX_NODE_JOB=self.system.metrics_job, HX_METRICS_PATH=self.system.metrics_path,
                   HX_SYSTEM_DIR=str(self.system_dir))
        # Set even without monitoring: Compose interpolates the whole file, started services or not.
        env.update(HX_NODES=str(self.nodes), HX_RULES_FILE=str(Path(self.rules_file).resolve()),
                   HX_SCRAPE_INTERVAL=f"{round(self.scrape_interval_s * 1000)}ms",
                   HX_EVAL_INTERVAL=f"{round(self.evaluation_interval_s * 1000)}ms",
                   HX_REDIS_POLICY=self.redis_policy, HX_UPSTREAM_POLICY=self.upstream_policy)
        return env

    @property
    def system_dir(self) -> Path:
        return SYSTEM_DIRS / self.run_id

    def endpoints(self) -> Endpoints:
        return endpoints_from_ports(self.run_id, self.ports, self.nodes, self.system)

    def _images(self, builder: ImageBuilder) -> dict[str, str]:
        """The cluster's images and the system's (`node`): built-in ones built, a user's image found."""
        system = self.system
        images = builder.ensure(systems=(system.image,) if system.builtin_image else ())
        if system.builtin_image:
            images["node"] = images.pop(system.image)
        elif image_exists(system.image):
            images["node"] = system.image
        else:
            raise ClusterError(f"system image {system.image!r} is not on this machine; build or load it first "
                               "(the harness builds only its own images)")
        return images

    def _write_system_env(self) -> None:
        """Each node's environment file of a custom system (its declared env, links filled in)."""
        self.system_dir.mkdir(parents=True, exist_ok=True)
        for i in range(1, MAX_NODES + 1):
            lines = [f"{k}={v}" for k, v in self.system.node_env(i).items()]
            (self.system_dir / f"node{i}.env").write_text("".join(line + "\n" for line in lines))

    def up(self, ready_timeout: float = 90.0, builder: ImageBuilder | None = None) -> Endpoints:
        """Build missing images, start the project, wait until deeply ready; tears down on failure.

        Readiness is polled while the containers start: each service counts as ready the moment it
        answers. `start_timings` says where the time went."""
        began = time.monotonic()
        try:
            self.images = self._images(builder or ImageBuilder())
        except ImageError as exc:
            raise ClusterError(f"images: {exc}") from None
        self.start_timings = {"images_s": round(time.monotonic() - began, 3)}
        if self.system.fragment == "custom":   # compose/systems/custom.yml reads the nodes' env files
            self._write_system_env()
        for attempt in range(3):
            if self._aborted.is_set():
                raise ClusterError(f"cluster {self.project}: start aborted")
            keys = PORT_KEYS + (MONITORING_PORT_KEYS if self.monitoring else ())
            self.ports = dict(zip(keys, free_ports(len(keys))))
            try:
                self._start_and_wait(ready_timeout, began)
                break
            except StartError as exc:
                self.down()
                # Another process may have taken a port between our probe and Docker's bind: retry.
                if "port is already allocated" not in str(exc) and "address already in use" not in str(exc) or attempt == 2:
                    raise ClusterError(str(exc)) from None
            except BaseException:
                self.down()
                raise
        self.start_timings["ready_s"] = round(time.monotonic() - began, 3)
        return self.endpoints()

    def _start_and_wait(self, timeout: float, began: float) -> None:
        """Start the containers in one thread and poll readiness meanwhile; the start's own failure
        (StartError) is the one raised when both fail."""
        failed = threading.Event()
        with ThreadPoolExecutor(1) as pool:
            starting = pool.submit(start, self.project, self.services, self.env(), self.compose_files, self._aborted)
            starting.add_done_callback(lambda f: f.exception() is not None and failed.set())
            try:
                ready_at = self.wait_ready(timeout, give_up=failed)
            except ClusterError:
                if failed.is_set():
                    starting.result()
                raise
            started_at = starting.result()
        self.start_timings.update(
            containers_s=round(max(started_at.values()) - began, 3),
            started_s={k: round(t - began, 3) for k, t in started_at.items()},
            answered_s={k: round(t - began, 3) for k, t in ready_at.items()})

    @property
    def compose_files(self) -> tuple[Path, ...]:
        """The cluster file and the system's fragment (compose/systems/<fragment>.yml): the declaration."""
        return (COMPOSE_FILE, COMPOSE_DIR / "systems" / f"{self.system.fragment}.yml")

    def _move_client_proxies(self, http: httpx.Client) -> str | None:
        """Toxiproxy's nodeN_client proxies lead to nodeN:8080 (compose/toxiproxy/toxiproxy.json); a
        system on another port gets them moved, once Toxiproxy answers."""
        if self.system.http_port == 8080:
            return None
        base = f"http://127.0.0.1:{self.ports['toxiproxy']}"
        for i in range(1, self.nodes + 1):
            http.post(f"{base}/proxies/node{i}_client",
                      json={"upstream": f"node{i}:{self.system.http_port}"}).raise_for_status()
        return None

    def _rules_evaluated(self, http: httpx.Client) -> str | None:
        """Once Prometheus is ready: whether it has evaluated each of its rules once (healthy or not; the
        run's alert watcher judges their health), so a run's watcher starts without waiting a cycle."""
        groups = http.get(f"http://127.0.0.1:{self.ports['prometheus']}/api/v1/rules").json()["data"]["groups"]
        pending = [r["name"] for g in groups for r in g["rules"] if r.get("health") not in ("ok", "err")]
        return f"rules not evaluated yet: {', '.join(pending[:5])}" if pending else None

    def wait_ready(self, timeout: float, give_up: threading.Event | None = None) -> dict[str, float]:
        """Poll Toxiproxy, the monitoring services and every node's readiness probe, each in its own
        thread every POLL_S, until all pass (returns when each first passed, time.monotonic()), or raise
        with the last answers (at the deadline, on abort(), or when `give_up` is set)."""
        deadline = time.monotonic() + timeout
        url = lambda name: f"http://127.0.0.1:{self.ports[name]}"
        no_more = lambda http: None
        # Each check: its probe, the base URL, and what must hold once the probe passes (None: it holds).
        checks = {"toxiproxy": (Probe("ready", "/version"), url("toxiproxy"), self._move_client_proxies)}
        checks.update({f"node{i}": (self.system.readiness, url(f"node{i}"), no_more) for i in range(1, self.nodes + 1)})
        if self.monitoring:
            checks.update({name: (Probe("ready", path), url(name), self._rules_evaluated if name == "prometheus"
                                  else no_more) for name, path in MONITORING_READY_PATHS.items()})
        last: dict[str, str] = {name: "no answer yet" for name in checks}
        ready_at: dict[str, float] = {}
        stop = threading.Event()   # one check gave up: the others stop too

        def poll(name: str, http: httpx.Client) -> None:
            probe, base, then = checks[name]
            while not stop.is_set():
                try:
                    response = http.request(**probes.request_args(probe, base))
                    ok, error = probes.verdict(probe, response.status_code, response.content)
                    error = f"{error}: {response.text[:200]}" if not ok else then(http)
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                if error is None:
                    ready_at[name] = time.monotonic()
                    del last[name]
                    return
                last[name] = error
                if time.monotonic() > deadline or self._aborted.wait(POLL_S) or (give_up and give_up.is_set()):
                    stop.set()

        with httpx.Client(timeout=2.0, trust_env=False, limits=httpx.Limits(max_connections=len(checks))) as http, \
                ThreadPoolExecutor(len(checks)) as pool:
            list(pool.map(lambda name: poll(name, http), list(checks)))
        if self._aborted.is_set() or (give_up and give_up.is_set()):
            raise ClusterError(f"cluster {self.project}: start aborted")
        if last:
            detail = "; ".join(f"{k}: {v}" for k, v in last.items())
            raise ClusterError(f"cluster {self.project} not ready after {timeout:.0f} s: {detail}\n"
                               f"{container_logs(self.project, list(last))}")
        return ready_at

    def abort(self) -> None:
        """Make a start running in another thread give up at its next readiness poll."""
        self._aborted.set()

    def down(self) -> None:
        """Remove the project's containers, networks and volumes (and anything else with its run id)."""
        remove_labelled({LABEL_RUN: self.run_id})
        forget_system_dir(self.run_id)


def forget_system_dir(run_id: str | None = None) -> None:
    """Remove a cluster's system files (a custom system's env files), or every cluster's with None."""
    shutil.rmtree(SYSTEM_DIRS / run_id if run_id else SYSTEM_DIRS, ignore_errors=True)


def container_logs(project: str, services: list[str], lines: int = 15) -> str:
    """The last log lines of the named services of a project, and of the dependencies every node's
    readiness goes through (Redis, Toxiproxy), for error messages."""
    wanted = set(services) | {"redis", "toxiproxy"}
    client = docker.from_env()
    out = []
    try:
        for c in client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={project}"}, ignore_removed=True):
            service = c.labels.get(LABEL_SERVICE, "?")
            if service in wanted:
                tail = c.logs(tail=lines).decode(errors="replace").rstrip()
                out.append(f"--- {service} ({c.status}) ---\n{tail}")
    finally:
        client.close()
    return "\n".join(out)


NETWORK_RELEASE_S = 15.0  # how long the engine may take to release a removed container's endpoint


def remove_labelled(labels: dict[str, str], release_s: float = NETWORK_RELEASE_S) -> tuple[int, int]:
    """Force-remove containers, then networks and volumes, carrying all the given labels.

    Everything removable is removed; a network the engine will not let go (after `release_s` of polling)
    is named in a ClusterError raised at the end.
    """
    filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
    client = docker.from_env(max_pool_size=16)
    try:
        containers = client.containers.list(all=True, filters=filters, ignore_removed=True)
        names = [c.name for c in containers]
        _remove_containers(containers)
        networks = client.networks.list(filters=filters)
        kept = [problem for n in networks if (problem := _remove_network(n, names, release_s))]
        for v in client.volumes.list(filters=filters):
            try:
                v.remove(force=True)
            except docker.errors.NotFound:
                pass
        if kept:
            raise ClusterError("; ".join(kept))
        return len(containers), len(networks)
    finally:
        client.close()


def _remove_containers(containers: list) -> None:
    def remove(c) -> None:
        try:
            c.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass

    # Together: each removal waits on the daemon (stop, unmount), and they do not depend on each other.
    if containers:
        with ThreadPoolExecutor(len(containers)) as pool:
            list(pool.map(remove, containers))


def _remove_network(network, container_names: list[str], release_s: float) -> str | None:
    """Remove one network; None when it is gone, else why the engine kept it."""
    deadline = time.monotonic() + release_s
    while True:
        try:
            # A container still attached (one a fault re-created while the list was taken) is the
            # cluster's too: the network is its own.
            network.reload()
            _remove_containers(network.containers)
            network.remove()
            return None
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            if "active endpoints" not in str(exc):
                raise
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)  # poll: the engine releases the endpoint once its container's removal ends
    # An endpoint the engine kept with no container behind it (moby/moby#17217): a forced disconnect by
    # the name it was attached under is what releases it.
    endpoints = {e.get("Name", "") for e in (network.attrs.get("Containers") or {}).values()}
    for name in sorted((endpoints | set(container_names)) - {""}):
        try:
            network.disconnect(name, force=True)
        except docker.errors.APIError:
            pass  # not attached under that name
    try:
        network.remove()
        return None
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as exc:
        return (f"network {network.name} left over: the Docker engine keeps an endpoint on it with no "
                f"container behind it ({exc.explanation or exc}); nothing of the cluster runs; after "
                f"restarting the engine, `docker network rm {network.name}` removes it")


def down_all(scope: str | None = None) -> tuple[int, int]:
    """Remove everything the harness labelled, whoever started it; only one scope's when `scope` is given."""
    removed = remove_labelled({LABEL_MANAGED: "true", **({LABEL_SCOPE: scope} if scope else {})})
    if not scope:
        forget_system_dir()
    return removed


SWEEP_AGE_S = 120.0  # a killed run's cluster is left this long for whoever is looking at it


def owner_id() -> str:
    """This process as a cluster owner: host and pid, since a pid means nothing on another host."""
    return f"{socket.gethostname()}:{os.getpid()}"


def orphan_runs(objects: list[tuple[dict[str, str], str]], now: float, alive) -> list[str]:
    """Run ids among labelled (labels, Created) objects whose owner is dead and that are old enough (pure).

    Kept clusters (no owner), owners on another host (their liveness cannot be judged here) and clusters
    younger than SWEEP_AGE_S stay.
    """
    runs: dict[str, tuple[str, float]] = {}   # run id → (owner, newest creation time)
    for labels, created in objects:
        run_id = labels.get(LABEL_RUN, "")
        owner, newest = runs.get(run_id, ("", 0.0))
        runs[run_id] = (owner or labels.get(LABEL_OWNER, ""), max(newest, _timestamp(created)))
    out = []
    for run_id, (owner, newest) in runs.items():
        host, _, pid = owner.rpartition(":")
        if owner and host == socket.gethostname() and not alive(pid) and now - newest > SWEEP_AGE_S:
            out.append(run_id)
    return out


def sweep_orphans(now: float | None = None) -> list[str]:
    """Remove clusters whose owning harness process is gone (a killed run), once they are old enough."""
    client = docker.from_env()
    try:
        # ignore_removed: another cluster may remove (or a fault re-create) a container meanwhile.
        objects = [(c.labels, c.attrs.get("Created", "")) for c in
                   client.containers.list(all=True, filters={"label": f"{LABEL_MANAGED}=true"}, ignore_removed=True)]
        objects += [(n.attrs.get("Labels") or {}, n.attrs.get("Created", "")) for n in
                    client.networks.list(filters={"label": f"{LABEL_MANAGED}=true"})]
    finally:
        client.close()
    swept = []
    for run_id in orphan_runs(objects, time.time() if now is None else now, process_alive):
        try:
            # No polling: an endpoint the engine keeps would otherwise delay every run's start.
            remove_labelled({LABEL_RUN: run_id}, release_s=0)
            swept.append(f"hx-{run_id}")
        except (docker.errors.APIError, ClusterError):
            pass  # another run is sweeping the same orphan (409), or the engine keeps its network: not ours to fix
    return swept


def _timestamp(created: str) -> float:
    """Unix time of Docker's `Created` (RFC 3339 with nanoseconds); infinitely new when unreadable, so a
    cluster is never swept on a guess of its age."""
    try:
        return calendar.timegm(time.strptime(created[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return math.inf


def process_alive(pid: str) -> bool:
    """Whether a process of this host with this pid (text) exists."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def running_clusters() -> list[Endpoints]:
    """Clusters up on this machine, rebuilt from container labels and published ports."""
    client = docker.from_env()
    try:
        by_run: dict[str, dict[str, int]] = {}
        system_of: dict[str, str] = {}
        for c in client.containers.list(filters={"label": f"{LABEL_MANAGED}=true"}, ignore_removed=True):
            run_id = c.labels.get(LABEL_RUN, "")
            system_of[run_id] = c.labels.get(LABEL_SYSTEM) or systems.DEFAULT
            service = c.labels.get(LABEL_SERVICE, "")
            for container_port, bindings in (c.attrs.get("NetworkSettings", {}).get("Ports") or {}).items():
                key = CONTAINER_PORT_KEYS.get((service, int(container_port.split("/")[0])), service)
                if bindings:
                    by_run.setdefault(run_id, {})[key] = int(bindings[0]["HostPort"])
    finally:
        client.close()
    return [_with_system(endpoints_from_ports(run_id, ports), system_of[run_id]) for run_id, ports in sorted(by_run.items())]


def _with_system(endpoints: Endpoints, name: str) -> Endpoints:
    """A running cluster's endpoints with its system's credentials and protocol, from its label. A custom
    system's declaration is not kept: its cluster shows the name only, with the default credentials."""
    if name in systems.BUILTIN:
        system = systems.resolve(name)
        endpoints.apps, endpoints.protocol, endpoints.ws_path = list(system.credentials), system.protocol, system.ws_path
    endpoints.system = name
    return endpoints


def find_cluster(project: str) -> Endpoints:
    """The running cluster with this project name (or run id)."""
    for e in running_clusters():
        if project in (e.project, e.run_id):
            return e
    raise ClusterError(f"no running cluster {project!r}; `harness ps` lists them")
