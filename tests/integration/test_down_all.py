"""`harness down --all` after a run killed with SIGKILL mid-phase leaves nothing labelled.

It removes every harness cluster on the machine, so it runs alone (marker `serial`, after the parallel
tests in scripts/test) and is skipped when clusters it did not make are running (someone's game day).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.cluster.cluster import LABEL_MANAGED
from tests.integration.conftest import labelled, run_killed_mid_fault
from tests.integration.test_cli import scenario

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def test_down_all_after_a_killed_run(tmp_path, images):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("removes every harness cluster: run it alone (pytest -m serial), as scripts/test does")
    if labelled(LABEL_MANAGED, "true"):
        pytest.skip(f"harness clusters this test did not make are running: {labelled(LABEL_MANAGED, 'true')[:3]}")
    _, journal = run_killed_mid_fault(scenario(tmp_path), tmp_path / "out")
    assert json.loads(journal.read_text().splitlines()[0])["kind"] == "run_start"
    assert labelled(LABEL_MANAGED, "true"), "the killed run's containers and network should be there before down"
    down = subprocess.run([sys.executable, "-m", "harness", "down", "--all"], capture_output=True, text=True,
                          timeout=120)
    assert down.returncode == 0, down.stderr
    assert labelled(LABEL_MANAGED, "true") == []
