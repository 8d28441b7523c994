"""A short game day as a facilitator runs it: started, a fault injected and reverted by the CLI from
other processes, a second fault left for the game day's end, a note, stopped with SIGINT; then the
journal, summary, reports and the cluster's absence are checked."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.journal import read_journal
from tests.integration.conftest import leftovers
from tests.integration.gameday_kit import GameDayProcess

pytestmark = pytest.mark.integration


def harness(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_a_short_game_day_with_faults_and_a_note_from_other_terminals(images, tmp_path):
    env = {**os.environ, "HX_STATE_DIR": str(tmp_path / "state")}
    gameday = GameDayProcess(tmp_path / "out", env, "--nodes", "2", "--for", "10m", "--rate", "20",
                             "--rules", "hardened")
    try:
        gameday.started()
        project = gameday.project
        inject = harness(env, "fault", "inject", "latency", "--project", project, "--target", "redis",
                         "--param", "latency=250")
        assert inject.returncode == 0, inject.stderr
        assert inject.stdout.startswith("injected latency (latency on redis): ")
        note = harness(env, "note", "--project", project, "paged", "on-call")
        assert note.returncode == 0 and "paged on-call" in note.stdout, note.stderr
        bad = harness(env, "fault", "inject", "latency", "--project", project, "--target", "node9.redis")
        assert bad.returncode == 2 and "node9.redis" in bad.stderr
        gameday.wait_for(r"faults latency", 10)                  # the terminal line shows it
        revert = harness(env, "fault", "revert", "--project", project, "latency")
        assert revert.returncode == 0 and "reverted: latency" in revert.stdout, revert.stderr
        again = harness(env, "fault", "inject", "latency", "--project", project, "--target", "node1.upstream",
                        "--param", "latency=100")                  # left active: the game day's end reverts it
        assert again.returncode == 0 and "injected latency-2 " in again.stdout, again.stderr
        status = gameday.stop()
    finally:
        gameday.ensure_stopped()
    assert status == 0, "\n".join(gameday.lines[-30:])
    assert not (tmp_path / "state" / f"{project}.sock").exists()
    assert leftovers(project.removeprefix("hx-")) == []

    out = tmp_path / "out" / "gameday"
    events = read_journal(out / "journal.jsonl")
    hand = [e for e in events if e["kind"].startswith("fault_") or e["kind"] in ("note", "gameday_close")]
    me = {"user": hand[0]["by"]["user"], "host": hand[0]["by"]["host"], "via": "cli"}
    assert me["user"] and me["host"]
    assert [(e["kind"], e.get("fault"), e.get("during")) for e in hand] == [
        ("fault_injected", "latency", None), ("fault_confirmed", "latency", None), ("note", None, None),
        ("fault_reverted", "latency", None), ("fault_injected", "latency-2", None),
        ("fault_confirmed", "latency-2", None), ("gameday_close", None, None), ("fault_reverted", "latency-2", "end")]
    assert all(e["by"] == me for e in hand if e["kind"].startswith("fault_") and e.get("during") != "end")
    assert hand[2] | {"t": 0, "wall": 0} == {"t": 0, "wall": 0, "kind": "note", "text": "paged on-call",
                                              "user": me["user"], "host": me["host"], "via": "cli"}
    assert hand[6]["reason"] == "stopped by Ctrl-C" and events[-1] == {**events[-1], "kind": "run_end", "error": None}

    assert any(e["kind"] == "alert_rules_loaded" and e["rule_set"] == "hardened" for e in events)
    assert any(e["kind"] == "alert_watch_ok" for e in events)      # the watcher polled all along
    assert any(e["kind"] == "loop_lag" for e in events)
    assert {(e["name"], e["node"]) for e in events if e["kind"] == "probe"} >= {("ready", "node1"), ("ready", "node2")}

    summary = json.loads((out / "summary.json").read_text())
    assert summary["alerts"]["rule_set"] == "hardened"
    assert (summary["verdict"], summary["exit_status"]) == ("pass", 0)
    assert [f["name"] for f in summary["faults"]] == ["latency", "latency-2"]
    gameday_phase = summary["phases"][0]["metrics"]
    assert gameday_phase["publish.attempts"] > 0 and gameday_phase["delivery.expected"] > 0
    [first, second] = summary["story"]["fault_table"]
    assert first["by"] == me and first["note_after_s"] is not None and first["reverted_s"] is not None
    assert summary["story"]["notes"][0]["text"] == "paged on-call"
    html = (out / "report.html").read_text()
    assert "Faults: impact, detection, recovery" in html and "paged on-call" in html
    assert "probe ready on node1" in html and "probe health on node2" in html     # the probe lanes
    assert (out / "summary.md").read_text().startswith("### ✅ gameday: PASS")
    assert "verdict: pass (exit 0)" in gameday.stdout
