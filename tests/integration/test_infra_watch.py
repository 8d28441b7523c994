"""The run's own Toxiproxy killed mid-phase: the run ends within 2 s with exit 3 naming it."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import docker
import pytest

from harness.cluster.cluster import LABEL_RUN, LABEL_SERVICE, remove_labelled
from tests.integration.conftest import leftovers

pytestmark = pytest.mark.integration

SCENARIO = """\
name: infra
cluster: {nodes: 2}
workload: {publish: {rate: 10}, subscribe: {per_node: 1}, grace: 1s}
phases:
  - {name: steady, duration: 30s}
expect:
  - "steady: publish.success_rate >= 0.9"
"""


def test_killed_toxiproxy_ends_the_run_within_2_s_with_exit_3(tmp_path, images):
    path = tmp_path / "infra.yaml"
    path.write_text(SCENARIO)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(path), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    journal = out / "infra" / "journal.jsonl"
    run_id = None
    client = docker.from_env()
    try:
        deadline = time.monotonic() + 180
        while not (journal.exists() and '"phase_start"' in journal.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, "the run never reached its phase"
            time.sleep(0.05)  # poll
        run_id = json.loads(journal.read_text().splitlines()[0])["run_id"]
        toxiproxy, = client.containers.list(filters={"label": [f"{LABEL_RUN}={run_id}", f"{LABEL_SERVICE}=toxiproxy"]})
        killed_at = time.time()
        toxiproxy.kill()
        output, _ = proc.communicate(timeout=120)
        events = [json.loads(line) for line in journal.read_text().splitlines()]
        down = next((e for e in events if e["kind"] == "infra_down"), None)
        assert down is not None, output + str([e["kind"] for e in events if not e["kind"].startswith(("ws_", "pub"))])
        end = events[-1]
        print(f"infra_down {down['wall'] - killed_at:.2f} s, run_end {end['wall'] - killed_at:.2f} s, "
              f"exit {time.time() - killed_at:.2f} s after the kill")
        assert proc.returncode == 3, output
        assert down["part"] == "toxiproxy" and "toxiproxy died mid-run" in output, output
        assert end["kind"] == "run_end" and "toxiproxy" in end["error"]
        assert end["wall"] - killed_at < 2.0, f"the run ended {end['wall'] - killed_at:.2f} s after the kill"
        assert "phase_end" not in [e["kind"] for e in events]   # ended mid-phase, not at its end
        assert leftovers(run_id) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        if run_id:
            remove_labelled({LABEL_RUN: run_id})
        client.close()
