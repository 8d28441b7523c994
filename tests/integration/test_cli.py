"""The command line contract end to end: exit statuses, output files, a run killed with SIGKILL."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cluster.cluster import LABEL_RUN, remove_labelled
from tests.integration.conftest import leftovers, run_killed_mid_fault, start_run, wait_for_journal

pytestmark = pytest.mark.integration

SHORT = """\
name: short
cluster: {nodes: 2}
workload: {publish: {rate: 10}, subscribe: {per_node: 1}, grace: 1s}
phases:
  - {name: steady, duration: 2s}
  - name: slow
    duration: 3s
    faults: [{kind: latency, target: redis, latency: 100}]
expect:
  - "steady: publish.success_rate >= 0.99"
  - "slow: delivery.latency_ms.p50 >= steady.delivery.latency_ms.p50 + 80"
  - "{window}: delivery.lost {op} 0"
"""


def harness(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=300, **kw)


def scenario(tmp_path: Path, window: str = "run", op: str = "==") -> Path:
    path = tmp_path / "short.yaml"
    path.write_text(SHORT.replace("{window}", window).replace("{op}", op))
    return path


def test_run_passes_and_writes_every_file(tmp_path, images):
    result = harness("run", str(scenario(tmp_path)), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "out" / "short"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] == "pass" and [p["name"] for p in summary["phases"]] == ["steady", "slow"]
    assert summary["faults"][0]["confirmed_s"] >= summary["faults"][0]["injected_s"]
    assert "slow" in result.stdout and "verdict: pass" in result.stdout
    assert "<testsuite" in (out / "junit.xml").read_text()
    assert leftovers(summary["run_id"]) == []
    # `report` re-judges the same journal to the same verdict.
    again = harness("report", str(out / "journal.jsonl"), "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["phases"] == summary["phases"]


def test_failed_expectation_exits_1(tmp_path, images):
    result = harness("run", str(scenario(tmp_path, op=">")), "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  run: delivery.lost > 0" in result.stdout


def test_bad_scenario_exits_2_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SHORT.replace("kind: latency", "kind: lag"))
    result = harness("run", str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{bad}:8: phases[1].faults[0].kind: unknown fault kind 'lag'" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_run_killed_mid_phase_leaves_a_judgeable_journal_and_nothing_after_down(tmp_path, images):
    _, journal = run_killed_mid_fault(scenario(tmp_path), tmp_path / "out")
    run_id = json.loads(journal.read_text().splitlines()[0])["run_id"]
    try:
        assert leftovers(run_id), "the killed run's cluster should still be there before down"
        # `harness ps` says the cluster is orphaned, and in what state the killed run left it.
        ps = harness("ps", "--json")
        status = next(c["status"] for c in json.loads(ps.stdout) if c["run_id"] == run_id)
        assert status["orphaned"] and status["scope"].startswith("test-"), status
        assert [f for f in status["faults"] if f.startswith("latency toxic hx-slow-1 on node")], status
        assert "ORPHANED" in harness("ps").stdout
        refused = harness("report", str(journal))
        assert refused.returncode == 3 and "incomplete" in refused.stderr, refused.stderr
        report = harness("report", "--partial", str(journal))
        assert report.returncode == 3, report.stderr
        assert "run_end" not in journal.read_text() and "incomplete" in report.stdout
        judged = json.loads((journal.parent / "summary.json").read_text())["run"]["metrics"]
        # Judged up to the last complete line: the publishes cut off by the kill are not counted lost.
        assert judged["delivery.expected"] > 0 and judged["delivery.lost"] == 0, judged
        down = harness("down", f"hx-{run_id}")
        assert down.returncode == 0, down.stderr
        assert leftovers(run_id) == []
    finally:
        remove_labelled({LABEL_RUN: run_id})  # whatever failed above, the test owns this cluster


def test_interrupted_while_the_cluster_starts_leaves_nothing_even_with_a_second_signal(tmp_path, images):
    proc, journal = start_run(scenario(tmp_path), tmp_path / "out", stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_journal(proc, journal, "run_start", 60, interval=0.02)
        assert '"cluster_ready"' not in journal.read_text()
        proc.send_signal(signal.SIGINT)        # while the cluster is being started …
        wait_for_journal(proc, journal, "run_interrupted", 60, interval=0.02)
        proc.send_signal(signal.SIGINT)        # … and again, during the cleanup: it must not be cut short
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    # 3: interrupted; or killed by the second SIGINT if it came after the cleanup had already finished.
    assert proc.returncode in (3, -signal.SIGINT), output
    assert "Traceback" not in output
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    assert "run_interrupted" in kinds and kinds[-1] == "run_end"
    assert leftovers(events[0]["run_id"]) == []
