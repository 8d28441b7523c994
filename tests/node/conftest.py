"""Fixtures for the node tests (helpers live in nodekit.py): processes started here are always stopped."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # make nodekit importable in any import mode

from nodekit import (  # noqa: E402
    Cluster, Spawner, start_node, start_redis, start_upstream, wait_ready,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "node: tests of the pub/sub node against real host processes")


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-logs")


@pytest.fixture(scope="session")
def upstream(log_dir: Path) -> Iterator[str]:
    proc, url = start_upstream(log_dir)
    try:
        yield url
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def cluster(upstream: str, log_dir: Path) -> Iterator[Cluster]:
    """One shared Redis and three nodes; tests must not break it (use `spawn` for that)."""
    redis = start_redis(log_dir)
    c = Cluster(redis, upstream)
    try:
        c.nodes = [start_node(f"node{i}", redis.url, upstream, log_dir) for i in (1, 2, 3)]
        for node in c.nodes:
            wait_ready(node)
        yield c
    finally:
        for node in c.nodes:
            node.proc.stop()
        redis.proc.stop()


@pytest.fixture
def spawn(upstream: str, log_dir: Path) -> Iterator[Spawner]:
    """Private processes for tests that break things (kill Redis, misconfigure it, SIGTERM a node)."""
    spawner = Spawner(upstream, log_dir)
    try:
        yield spawner
    finally:
        spawner.stop_all()
