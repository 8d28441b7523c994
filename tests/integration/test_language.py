"""The scenario language on a real cluster: a seeded schedule replays exactly, a guardrail aborts and
reverts, an unsteady system gets nothing injected."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.journal import read_journal
from tests.integration.conftest import leftovers

pytestmark = pytest.mark.integration

WORKLOAD = "cluster: {nodes: 2}\nworkload: {publish: {rate: 10, channels: 1}, subscribe: {per_node: 1}, grace: 1s}\n"


def harness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=300)


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\n{WORKLOAD}{body}")
    return path


def schedules(journal: Path) -> list:
    return [(e["phase"], e["seed"], e["steps"]) for e in read_journal(journal) if e["kind"] == "schedule"]


def test_same_seed_same_schedule_with_selectors_flaps_ramps_and_chaos(tmp_path, images):
    path = write(tmp_path, "seeded", """\
phases:
  - name: storm
    duration: 8s
    faults:
      - {kind: latency, target: any-node.redis, latency: {from: 0, to: 200, over: 3s}, name: ramp}
      - {kind: down, target: any-node.upstream, at: 1s, flap: {on: 1s, off: 1s}, name: blip}
    chaos: {kinds: [{kind: latency, latency: 50}], targets: [any-node.client], every: 1s..3s, for: 1s..2s}
expect: ["run: delivery.duplicated == 0"]
""")
    runs = [harness("run", str(path), "--seed", "7", "--out", str(tmp_path / f"out{k}")) for k in (1, 2)]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        assert "seed 7 (replay:" in run.stderr
    first, second = (schedules(tmp_path / f"out{k}" / "seeded" / "journal.jsonl") for k in (1, 2))
    assert first == second and first[0][2], "the same seed planned the same steps"
    events = read_journal(tmp_path / "out1" / "seeded" / "journal.jsonl")
    assert any(e["kind"] == "fault_updated" and e["params"]["latency"] == 200 for e in events)
    injected = [e["target"] for e in events if e["kind"] == "fault_injected"]
    assert all("any-node" not in t for t in injected), "selectors are journaled as the chosen nodes"


def test_guardrail_aborts_reverts_and_exits_1(tmp_path, images):
    path = write(tmp_path, "guarded", """\
abort_when: ["publish.success_rate < 0.5 over 2s"]
phases:
  - {name: steady, duration: 2s}
  - name: outage
    duration: 60s
    faults: [{kind: down, target: redis, name: cut}]
expect: ["steady: publish.success_rate == 1"]
""")
    run = harness("run", str(path), "--out", str(tmp_path / "out"))
    assert run.returncode == 1, run.stdout + run.stderr
    out = tmp_path / "out" / "guarded"
    events = read_journal(out / "journal.jsonl")
    kinds = [e["kind"] for e in events]
    assert "abort" in kinds and kinds.index("abort") < kinds.index("fault_reverted")
    assert "fault_revert_failed" not in kinds
    summary = json.loads((out / "summary.json").read_text())
    assert summary["phases"][-1]["end_s"] - summary["phases"][-1]["start_s"] < 30, "ended long before 60 s"
    assert [e["text"] for e in summary["expectations"] if not e["passed"]] == [
        "abort_when: publish.success_rate < 0.5 over 2s"]
    assert leftovers(summary["run_id"]) == []


def test_not_steady_injects_nothing_and_exits_3(tmp_path, images):
    path = write(tmp_path, "unsteady", """\
steady_state: {duration: 2s, expect: ["publish.latency_ms.p50 <= 0.001"]}
phases:
  - name: outage
    duration: 3s
    faults: [{kind: down, target: redis}]
expect: ["outage: publish.success_rate == 0"]
""")
    run = harness("run", str(path), "--out", str(tmp_path / "out"))
    assert run.returncode == 3, run.stdout + run.stderr
    assert "not steady" in run.stdout + run.stderr
    events = read_journal(tmp_path / "out" / "unsteady" / "journal.jsonl")
    assert not [e for e in events if e["kind"] == "fault_injected"]
    assert [e["holds"] for e in events if e["kind"] == "steady_state"] == [False]
