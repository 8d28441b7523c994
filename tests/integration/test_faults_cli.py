"""Faults by hand: `harness fault list|inject|revert` on a running cluster, remembered across processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.conftest import leftovers
from tests.integration.steady import inspect_service

pytestmark = pytest.mark.integration


def test_faults_by_hand_are_remembered_reverted_and_undone_by_down(cluster, tmp_path):
    c, e = cluster
    env = {**os.environ, "HX_STATE_DIR": str(tmp_path)}

    def harness(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                              timeout=120, env=env)

    listing = harness("fault", "list", "--nodes", "2")
    assert listing.returncode == 0 and "redis-misconf-unwritable-dir" in listing.stdout

    bad = harness("fault", "inject", "latency", "--project", e.project, "--target", "node9.redis")
    assert bad.returncode == 2 and "target: unknown target 'node9.redis'" in bad.stderr
    bad = harness("fault", "inject", "latency", "--project", e.project, "--param", "latncy=5")
    assert bad.returncode == 2 and "latncy: unknown parameter for latency; allowed:" in bad.stderr

    paused = harness("fault", "inject", "pause", "--project", e.project, "--target", "node1")
    assert paused.returncode == 0, paused.stderr
    assert "node1 paused" in paused.stdout and inspect_service(e.project, "node1")["State"]["Status"] == "paused"
    env_fault = harness("fault", "inject", "recreate-env", "--project", c.run_id, "--target", "upstream",
                        "--param", "env.HX_HAND=1")
    assert env_fault.returncode == 0, env_fault.stderr
    state = json.loads((tmp_path / f"{e.project}.json").read_text())
    assert [entry["spec"]["name"] for entry in state] == ["pause", "recreate-env"]
    assert state[1]["memo"]["original"]["name"]          # what revert re-creates, kept on disk

    # `harness ps` shows both faults, read from the cluster itself; its owner (this test) is alive.
    ps = next(x for x in json.loads(harness("ps", "--json").stdout) if x["run_id"] == c.run_id)["status"]
    assert "node1 paused" in ps["faults"] and "upstream re-created by recreate-env (recreate-env)" in ps["faults"], ps
    assert not ps["orphaned"]

    twice = harness("fault", "inject", "pause", "--project", e.project, "--target", "node2")
    assert twice.returncode == 2 and "is active already" in twice.stderr

    reverted = harness("fault", "revert", "--project", e.project, "pause")
    assert reverted.returncode == 0 and "reverted: pause" in reverted.stdout, reverted.stderr
    assert inspect_service(e.project, "node1")["State"]["Status"] == "running"
    unknown = harness("fault", "revert", "--project", e.project, "pause")
    assert unknown.returncode == 2 and "active: recreate-env" in unknown.stderr

    down = harness("down", e.project)      # reverts recreate-env, resets Toxiproxy, removes
    assert down.returncode == 0 and "note:" not in down.stderr, down.stderr
    assert not (tmp_path / f"{e.project}.json").exists()
    assert leftovers(c.run_id) == []
