"""`harness down --all` after a run killed with SIGKILL mid-phase leaves nothing labelled.

It removes every harness cluster on the machine, so it runs alone (marker `serial`, after the parallel
tests in scripts/test) and is skipped when clusters it did not make are running (someone's game day).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import docker
import pytest

from harness.cluster.cluster import LABEL_MANAGED
from tests.integration.test_cli import scenario

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def labelled() -> list[str]:
    client = docker.from_env()
    try:
        label = {"label": f"{LABEL_MANAGED}=true"}
        return ([c.name for c in client.containers.list(all=True, filters=label)]
                + [n.name for n in client.networks.list(filters=label)])
    finally:
        client.close()


def test_down_all_after_a_killed_run(tmp_path, images):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("removes every harness cluster: run it alone (pytest -m serial), as scripts/test does")
    if labelled():
        pytest.skip(f"harness clusters this test did not make are running: {labelled()[:3]}")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(scenario(tmp_path)), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = out / "short" / "journal.jsonl"
    deadline = time.monotonic() + 120
    try:
        while not (journal.exists() and '"fault_confirmed"' in journal.read_text()):
            assert proc.poll() is None, "the run ended before its fault phase"
            assert time.monotonic() < deadline, "the run never reached its fault phase"
            time.sleep(0.1)  # poll
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert labelled(), "the killed run's containers and network should be there before down"
        down = subprocess.run([sys.executable, "-m", "harness", "down", "--all"], capture_output=True, text=True,
                              timeout=120)
        assert down.returncode == 0, down.stderr
        assert labelled() == []
        assert json.loads(journal.read_text().splitlines()[0])["kind"] == "run_start"
    finally:
        if proc.poll() is None:
            proc.kill()
