"""Integration fixtures: each test owns a real cluster (unique project, free 127.0.0.1 ports).

Images are built once per machine (a file lock keeps two xdist workers from building at once); every
cluster is torn down in a finalizer, and the finalizer checks that nothing with its run id is left.
"""
from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import docker
import pytest

from harness.cluster.cluster import LABEL_RUN, Cluster
from harness.cluster.images import ImageBuilder

pytestmark = pytest.mark.integration


def labelled(label: str, value: str) -> list[str]:
    """Names of containers and networks carrying a label with a value (a container removed while it is
    listed is not one: a cluster being started or torn down removes some)."""
    client = docker.from_env()
    try:
        filters = {"label": f"{label}={value}"}
        return ([c.name for c in client.containers.list(all=True, filters=filters, ignore_removed=True)]
                + [n.name for n in client.networks.list(filters=filters)])
    finally:
        client.close()


def leftovers(run_id: str) -> list[str]:
    """Names of containers and networks still carrying a run id."""
    return labelled(LABEL_RUN, run_id)


def docker_time(text: str) -> float:
    """Unix time of a Docker timestamp (RFC 3339, nanoseconds with trailing zeros cut, Z or an offset)."""
    match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    assert match, f"not a Docker timestamp: {text!r}"
    base, fraction, zone = match.groups()
    return datetime.fromisoformat(base + (fraction or "")[:7] + ("+00:00" if zone == "Z" else zone)).timestamp()


def start_run(scenario_path, out, **popen) -> tuple[subprocess.Popen, Path]:
    """`harness run` in a subprocess; returns (process, the journal it will write)."""
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(scenario_path), "--out", str(out)], **popen)
    return proc, out / Path(scenario_path).stem / "journal.jsonl"


def wait_for_journal(proc: subprocess.Popen, journal: Path, kind: str, timeout: float, interval: float = 0.1) -> None:
    """Poll until the journal holds an event of `kind`; fails if the run ends or the deadline passes first."""
    deadline = time.monotonic() + timeout
    while not (journal.exists() and f'"{kind}"' in journal.read_text()):
        assert proc.poll() is None, f"the run ended before its journal held {kind}"
        assert time.monotonic() < deadline, f"no {kind} in the journal after {timeout:.0f} s"
        time.sleep(interval)  # poll


def run_killed_mid_fault(scenario_path, out) -> tuple[subprocess.Popen, Path]:
    """Start `harness run`, SIGKILL it once its first fault is confirmed; returns (process, journal path)."""
    proc, journal = start_run(scenario_path, out, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_journal(proc, journal, "fault_confirmed", 120)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    return proc, journal


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    with open(Path(tempfile.gettempdir()) / "hx-images.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ImageBuilder(log=lambda message: None).ensure()


@pytest.fixture
def make_cluster(images):
    """Start clusters on demand; all are torn down (and checked gone) after the test."""
    started: list[Cluster] = []

    def start(nodes: int = 2, **options):
        cluster = Cluster(nodes=nodes, **options)
        started.append(cluster)
        return cluster, cluster.up()

    yield start
    for cluster in started:
        cluster.down()
    for cluster in started:
        assert leftovers(cluster.run_id) == [], f"teardown left {leftovers(cluster.run_id)}"


@pytest.fixture
def cluster(make_cluster):
    """A running two-node cluster: (Cluster, Endpoints)."""
    return make_cluster(2)
