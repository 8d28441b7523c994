"""Integration fixtures: each test owns a real cluster (unique project, free 127.0.0.1 ports).

Images are built once per machine (a file lock keeps two xdist workers from building at once); every
cluster is torn down in a finalizer, and the finalizer checks that nothing with its run id is left.
"""
from __future__ import annotations

import fcntl
import tempfile
from pathlib import Path

import docker
import pytest

from harness.cluster.cluster import LABEL_RUN, Cluster
from harness.cluster.images import ImageBuilder

pytestmark = pytest.mark.integration


def leftovers(run_id: str) -> list[str]:
    """Names of containers and networks still carrying a run id."""
    client = docker.from_env()
    try:
        label = {"label": f"{LABEL_RUN}={run_id}"}
        return ([c.name for c in client.containers.list(all=True, filters=label)]
                + [n.name for n in client.networks.list(filters=label)])
    finally:
        client.close()


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    with open(Path(tempfile.gettempdir()) / "hx-images.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ImageBuilder(log=lambda message: None).ensure()


@pytest.fixture
def make_cluster(images):
    """Start clusters on demand; all are torn down (and checked gone) after the test."""
    started: list[Cluster] = []

    def start(nodes: int = 2):
        cluster = Cluster(nodes=nodes)
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
