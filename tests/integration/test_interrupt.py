"""A signal at any step of a run ends it non-zero, journaled, reverted and removed, within 30 s.

`harness run` runs in this process with the real cluster and the real Redis preset (the fault whose
polling once swallowed a Ctrl-C); only the moment is staged: the step's own code sends the signal to
this process just as the step begins, so each step is hit every time, not by luck of timing.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from harness import cli
from harness.cluster.cluster import LABEL_RUN, Cluster, remove_labelled
from harness.runner import Runner
from tests.integration.conftest import leftovers

pytestmark = pytest.mark.integration

SCENARIO = """\
name: interrupted
cluster: {nodes: 2}
workload: {publish: {rate: 10}, subscribe: {per_node: 1}, grace: 1s}
phases:
  - {name: steady, duration: 1s}
  # Its confirmation waits for a probe to time out: async_timeout then cancels the run's task and never
  # uncancels it, the count that once made the next Ctrl-C look like a second one and get ignored.
  - name: paused
    duration: 1s
    faults: [{kind: redis-client-pause, target: redis, duration: 1500, mode: write}]
  - name: broken
    duration: 3s
    faults: [{kind: redis-misconf-unwritable-dir, target: redis}]
expect:
  - "steady: publish.success_rate >= 0.9"
"""

STAGED_KIND = "redis-misconf-unwritable-dir"   # the fault whose steps are interrupted
STEPS = ("start", "injection", "confirmation", "phase", "revert", "judging")
END_WITHIN_S = 30.0


class Stage:
    """Sends the signal once, at the step asked for, and remembers when."""

    def __init__(self, step: str, sig: int) -> None:
        self.step, self.sig, self.sent_at = step, sig, None

    def at(self, step: str) -> None:
        if step == self.step and self.sent_at is None:
            self.sent_at = time.monotonic()
            os.kill(os.getpid(), self.sig)


class StagedFault:
    """The real fault; the stage's signal goes out as its step begins."""

    def __init__(self, real, stage: Stage) -> None:
        self.real, self.stage, self.spec, self.memo = real, stage, real.spec, real.memo

    async def inject(self) -> None:
        self.stage.at("injection")
        await self.real.inject()

    async def confirm(self) -> str:
        self.stage.at("confirmation")
        evidence = await self.real.confirm()
        self.stage.at("phase")        # read while the phase's duration runs
        return evidence

    async def revert(self) -> None:
        self.stage.at("revert")
        await self.real.revert()


def staged_run(monkeypatch, tmp_path: Path, stage: Stage) -> tuple[int, list[dict], str, float]:
    import harness.runner as runner_module
    real_make, real_up, real_judge = runner_module.make_fault, Cluster.up, Runner._judge

    def up(cluster, *args, **kw):
        stage.at("start")              # in the starting thread: the signal reaches the main thread
        return real_up(cluster, *args, **kw)

    def judge(runner, *args, **kw):
        stage.at("judging")
        return real_judge(runner, *args, **kw)

    def make(spec, *a, **kw):
        real = real_make(spec, *a, **kw)
        return StagedFault(real, stage) if spec.kind == STAGED_KIND else real

    monkeypatch.setattr(runner_module, "make_fault", make)
    monkeypatch.setattr(Cluster, "up", up)
    monkeypatch.setattr(Runner, "_judge", judge)
    path = tmp_path / "interrupted.yaml"
    path.write_text(SCENARIO)
    out = tmp_path / f"out-{stage.step}-{stage.sig}"
    status = cli.main(["run", str(path), "--out", str(out)])
    ended = time.monotonic()
    journal = out / "interrupted" / "journal.jsonl"
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    try:
        assert stage.sent_at is not None, f"the run never reached the step {stage.step}"
        assert ended - stage.sent_at < END_WITHIN_S, f"ended {ended - stage.sent_at:.1f} s after the signal"
    finally:
        remove_labelled({LABEL_RUN: events[0]["run_id"]})  # whatever failed, the test owns this cluster
    return status, events, events[0]["run_id"], ended - stage.sent_at


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("step", STEPS)
def test_a_signal_at_any_step_ends_the_run_cleanly(monkeypatch, tmp_path, capsys, images, step, sig):
    status, events, run_id, took = staged_run(monkeypatch, tmp_path, Stage(step, sig))
    kinds = [e["kind"] for e in events]
    err = capsys.readouterr().err
    with capsys.disabled():
        print(f" [{step} {signal.Signals(sig).name}: exit {status}, ended {took:.1f} s after the signal]", end="")
    assert status == 3, err
    assert "Traceback" not in err
    assert kinds[-1] == "run_end"
    injected = {e["fault"] for e in events if e["kind"] == "fault_injected"}
    reverted = {e["fault"] for e in events if e["kind"] == "fault_reverted"}
    assert injected == reverted and "fault_revert_failed" not in kinds, kinds
    assert leftovers(run_id) == []
    if step == "judging":   # the run had ended: its journal is whole, and says nothing was interrupted
        assert events[-1]["error"] is None and "interrupted while the run was being judged" in err
    else:
        assert "run_interrupted" in kinds and events[-1]["error"] == "interrupted", kinds
        brief = [{"kind": e["kind"], "fault": e.get("fault", e.get("phase"))} for e in events]
        unconfirmed = {"kind": "fault_confirmed", "fault": "broken-1"} not in brief
        assert {"injection": unconfirmed, "confirmation": unconfirmed,
                "phase": {"kind": "fault_confirmed", "fault": "broken-1"} in brief
                and {"kind": "phase_end", "fault": "broken"} not in brief,
                "revert": any(e["kind"] == "fault_reverted" and e.get("during") == "cleanup" for e in events), "start": "cluster_ready" not in kinds}.get(step, True), kinds


def test_an_interrupted_toxic_is_reverted_through_an_open_toxiproxy_client(tmp_path, images):
    """SIGINT mid-fault: the latency toxic is removed by the run itself (once, the client was closed first)."""
    import subprocess

    from tests.integration.conftest import start_run, wait_for_journal
    from tests.integration.test_cli import scenario
    proc, journal = start_run(scenario(tmp_path), tmp_path / "out", stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for_journal(proc, journal, "fault_confirmed", 120)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=END_WITHIN_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    remove_labelled({LABEL_RUN: events[0]["run_id"]})
    kinds = [e["kind"] for e in events]
    assert proc.returncode == 3, err
    assert "fault_revert_failed" not in kinds, [e for e in events if e["kind"] == "fault_revert_failed"]
    assert any(e["kind"] == "fault_reverted" and e.get("during") == "cleanup" for e in events), kinds
