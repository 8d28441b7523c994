"""`harness down --all --scope S` after a run killed with SIGKILL mid-phase leaves nothing of scope S.

Tests remove only their own scope (HX_SCOPE, set in tests/conftest.py), so a user's game day or another
test session on the machine is never touched. It still removes every cluster of this session, so it runs
alone (marker `serial`, after the parallel tests in scripts/test).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import docker
import pytest

from harness.cluster.cluster import LABEL_MANAGED, LABEL_RUN, LABEL_SCOPE
from tests.integration.conftest import labelled, run_killed_mid_fault
from tests.integration.test_cli import scenario

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def test_down_all_of_the_scope_after_a_killed_run(tmp_path, images):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("removes every cluster of this test session: run it alone (pytest -m serial), as scripts/test does")
    scope = os.environ["HX_SCOPE"]
    assert scope.startswith("test-")
    client = docker.from_env()
    # Stands for someone else's cluster (a user's game day, another session): labelled, another scope.
    other_scope = f"{scope}-other"
    other = client.networks.create(f"hx-{other_scope}", labels={LABEL_MANAGED: "true", LABEL_RUN: other_scope,
                                                                LABEL_SCOPE: other_scope})
    try:
        _, journal = run_killed_mid_fault(scenario(tmp_path), tmp_path / "out")
        assert json.loads(journal.read_text().splitlines()[0])["kind"] == "run_start"
        assert labelled(LABEL_SCOPE, scope), "the killed run's containers and network should carry the scope"
        down = subprocess.run([sys.executable, "-m", "harness", "down", "--all", "--scope", scope],
                              capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        assert f"in scope {scope}" in down.stdout
        assert labelled(LABEL_SCOPE, scope) == []
        assert labelled(LABEL_SCOPE, other_scope) == [other.name], "another scope's cluster was touched"
    finally:
        other.remove()
        client.close()
