"""What `harness ps` tells of a cluster besides its endpoints: scope, owner, orphaned, active faults.

A run killed with SIGKILL leaves its cluster as the fault left it (Redis misconfigured, a toxic on a
link) until the sweep; a user looking at `harness ps` must see that it is orphaned (its owner process is
gone) and in what state. The faults are read from what the cluster itself shows: Toxiproxy's toxics and
disabled proxies, containers not running or cut from their network, and containers re-created by a
fault (RecreateFault labels them io.hx.fault). Changes made through Redis commands (CONFIG SET, CLIENT
PAUSE, DEBUG SLEEP) leave no such trace and are not listed.
"""
from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from typing import Any

import docker
import httpx

from harness.cluster.cluster import (LABEL_MANAGED, LABEL_OWNER, LABEL_RUN, LABEL_SCOPE, LABEL_SERVICE,
                                     process_alive)

LABEL_FAULT = "io.hx.fault"     # on a container re-created by a fault: the fault's kind and name


@dataclass
class ClusterStatus:
    run_id: str
    scope: str = ""
    owner: str = ""                 # "<host>:<pid>", "" for a cluster kept on purpose (`harness up`)
    orphaned: bool = False          # the owner is a process of this host that no longer exists
    faults: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line: scope, owner and what is faulted."""
        owner = "kept (no owner)" if not self.owner else (
            f"ORPHANED: owner {self.owner} is gone (a killed run; swept by the next run, or `harness down`)"
            if self.orphaned else f"owner {self.owner}")
        faults = "; ".join(self.faults) if self.faults else "none seen"
        return f"scope {self.scope or '?'} · {owner} · active faults: {faults}"


def is_orphaned(owner: str, alive=process_alive) -> bool:
    """Whether an owner label names a dead process of this host (pure but for `alive`)."""
    host, _, pid = owner.rpartition(":")
    return bool(owner) and host == socket.gethostname() and not alive(pid)


def container_faults(containers: list[dict[str, Any]]) -> list[str]:
    """Faults shown by containers: {service, status, labels, networks} each (pure)."""
    out = []
    for c in sorted(containers, key=lambda c: c["service"]):
        if fault := c["labels"].get(LABEL_FAULT):
            out.append(f"{c['service']} re-created by {fault}")
        if c["status"] != "running":
            out.append(f"{c['service']} {c['status']}")
        elif not c["networks"]:
            out.append(f"{c['service']} cut from every network (partition)")
    return out


def toxic_faults(proxies: dict[str, Any]) -> list[str]:
    """Faults shown by Toxiproxy's GET /proxies answer: toxics, disabled proxies (pure)."""
    out = []
    for name, proxy in sorted(proxies.items()):
        if not proxy.get("enabled", True):
            out.append(f"proxy {name} disabled")
        out += [f"{t.get('type')} toxic {t.get('name')} on {name}" for t in proxy.get("toxics") or []]
    return out


def cluster_statuses(toxiproxy_urls: dict[str, str]) -> dict[str, ClusterStatus]:
    """Status of every labelled cluster by run id; `toxiproxy_urls` (run id → URL) for the toxics."""
    client = docker.from_env()
    try:
        by_run: dict[str, list[dict[str, Any]]] = {}
        statuses: dict[str, ClusterStatus] = {}
        for c in client.containers.list(all=True, filters={"label": f"{LABEL_MANAGED}=true"}, ignore_removed=True):
            run_id = c.labels.get(LABEL_RUN, "")
            status = statuses.setdefault(run_id, ClusterStatus(run_id))
            status.scope = status.scope or c.labels.get(LABEL_SCOPE, "")
            status.owner = status.owner or c.labels.get(LABEL_OWNER, "")
            by_run.setdefault(run_id, []).append(
                {"service": c.labels.get(LABEL_SERVICE, "?"), "status": c.status, "labels": c.labels,
                 "networks": list((c.attrs.get("NetworkSettings") or {}).get("Networks") or {})})
    finally:
        client.close()
    for run_id, status in statuses.items():
        status.orphaned = is_orphaned(status.owner)
        status.faults = container_faults(by_run[run_id]) + _toxics(toxiproxy_urls.get(run_id))
    return statuses


def _toxics(url: str | None) -> list[str]:
    if not url:
        return []
    try:
        return toxic_faults(httpx.get(f"{url}/proxies", timeout=2.0, trust_env=False).json())
    except (httpx.HTTPError, ValueError) as exc:
        return [f"toxics unknown (Toxiproxy: {type(exc).__name__})"]
