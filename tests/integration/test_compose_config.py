"""The compose files stay the declaration: the Compose CLI (v2 `docker compose`, else docker-compose v1)
reads the cluster file with each system's fragment exactly as the harness's starter does — image,
environment (env files included), labels, networks, ports, bind volumes, grace period, dependencies
with their conditions, healthchecks. No containers are made (`config` only)."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from harness import systems
from harness.cluster import cluster as cluster_module
from harness.cluster.cluster import Cluster
from harness.cluster.start import Service, healthcheck, read_spec, services

pytestmark = pytest.mark.integration

CUSTOM = {"image": "mine:1", "protocol": "pusher", "http_port": 9000, "env": {"REDIS": "redis://{redis}", "NAME": "{node}"}}


def compose_cli() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (scripts/setup installs docker-compose)")


def _port(p) -> tuple[str, int, int]:
    """A port as (host ip, host port, container port) from Compose's short (v1) or long (v2) form."""
    if isinstance(p, dict):
        return p.get("host_ip", ""), int(p["published"]), int(p["target"])
    ip, host, container = str(p).split(":")
    return ip, int(host), int(container.split("/")[0])


def _bind(v) -> tuple[str, str, str]:
    if isinstance(v, dict):
        return v["source"], v["target"], "ro" if v.get("read_only") else "rw"
    source, target, *mode = v.split(":")
    return source, target, mode[0] if mode else "rw"


def _grace(text) -> int | None:
    return None if text is None else int(str(text).rstrip("s"))


def _depends_on(d) -> dict[str, str]:
    """Compose's short (a list, v1 keeps it) or long form (v2 writes it, `required` included)."""
    if isinstance(d, dict):
        return {k: v["condition"] for k, v in d.items()}
    return dict.fromkeys(d or [], "service_started")


def as_compose_reads_it(name: str, s: dict) -> Service:
    """One service of `config`'s output in the starter's terms (its healthcheck durations as Compose
    normalised them, read by the starter's own parser)."""
    command = s.get("command")
    return Service(name, s["image"], command, {k: str(v) for k, v in (s.get("environment") or {}).items()},
                   {k: str(v) for k, v in (s.get("labels") or {}).items()}, list(s.get("networks") or []),
                   [_port(p) for p in s.get("ports", [])], [_bind(v) for v in s.get("volumes", [])],
                   _grace(s.get("stop_grace_period")), _depends_on(s.get("depends_on")),
                   healthcheck(s["healthcheck"], name) if "healthcheck" in s else None)


@pytest.mark.parametrize("system", ["pusher-node", "centrifugo", "custom"])
def test_compose_reads_the_files_as_the_starter_does(system, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "SYSTEM_DIRS", tmp_path)
    cluster = Cluster(nodes=3, monitoring=True, system=systems.resolve(CUSTOM if system == "custom" else system))
    cluster.ports = {k: 20000 + i for i, k in enumerate(cluster_module.PORT_KEYS + cluster_module.MONITORING_PORT_KEYS)}
    cluster.images = {k: f"hx-{k}:tag" for k in ("redis", "toxiproxy", "node", "upstream", "prometheus",
                                                  "alertmanager", "redis_exporter", "alertsink")}
    if system == "custom":
        cluster._write_system_env()
    env = cluster.env()
    files = [arg for path in cluster.compose_files for arg in ("-f", str(path))]
    out = subprocess.run([*compose_cli(), "-p", cluster.project, *files, "config"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    theirs = yaml.safe_load(out.stdout)["services"]
    ours = {s.name: s for s in services(read_spec(cluster.compose_files, env), cluster.services)}
    assert sorted(theirs) == sorted(ours)
    for name, service in ours.items():
        assert as_compose_reads_it(name, theirs[name]) == service, name
    # What the change to the long form is for: Centrifugo's (and a custom system's) nodes wait for Redis's health.
    waits = {name: s.depends_on.get("redis") for name, s in ours.items() if name.startswith("node")}
    assert set(waits.values()) == {None if system == "pusher-node" else "service_healthy"}, waits
