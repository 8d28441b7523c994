"""The story afterwards, from a hand-made journal: lanes, notes, the per-fault table, and the reports."""
from pathlib import Path

from harness.report import write_reports
from harness.judge import judge_events
from harness.scenario import loads
from harness.story import probe_lanes

SCENARIO = loads("""\
name: story
phases: [{name: day, duration: 30s}]
expect: ["run: delivery.duplicated == 0"]
""")
BY = {"user": "alice", "host": "laptop"}


def journal() -> list[dict]:
    """One fault injected at 5 s, confirmed at 5.5 s: publishes fail from 6.2 s, RedisCacheErrors pending 7 s, firing 8 s,
    notified 9 s, a note at 10 s, reverted at 12 s; probes fail from 6 s to 12 s."""
    out = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": 0.5},
           {"t": 0.0, "kind": "ws_connect", "sub": "a"},
           {"t": 0.0, "kind": "ws_subscribed", "sub": "a", "channel": "c"},
           {"t": 0.5, "kind": "phase_start", "phase": "day"}]
    for i in range(40):
        sent = 1.0 + i * 0.4
        ok = not 6.0 <= sent < 12.0
        out.append({"t": sent + 0.01, "kind": "publish", "pub": "p1", "seq": i, "channel": "c", "sent": sent,
                    "ok": ok, "status": 200 if ok else 500, "error": None if ok else "http_5xx"})
        if ok:
            out.append({"t": sent + 0.02, "kind": "ws_receive", "sub": "a", "channel": "c", "run": "r", "pub": "p1",
                        "seq": i})
    for i in range(17):
        t = 1.0 + i
        out.append({"t": t, "kind": "probe", "name": "readyz", "node": "node1", "ok": not 6 <= t < 12,
                    "status": 200 if not 6 <= t < 12 else 503, "latency_ms": 3.0, "error": None})
    out += [
        {"t": 5.0, "kind": "fault_injected", "fault": "misconf", "fault_kind": "redis-misconf-unwritable-dir",
         "target": "redis", "params": {}, "by": BY},
        {"t": 5.5, "kind": "fault_confirmed", "fault": "misconf", "evidence": "SET -> MISCONF", "by": BY},
        {"t": 7.5, "kind": "alert_pending", "alert": "RedisCacheErrors", "labels": {}, "active_t": 7.0},
        {"t": 8.0, "kind": "alert_firing", "alert": "RedisCacheErrors", "labels": {}, "active_t": 7.0},
        {"t": 9.0, "kind": "alert_notified", "alert": "RedisCacheErrors", "labels": {}, "status": "firing",
         "arrived_t": 9.0, "starts_t": 8.0},
        {"t": 10.0, "kind": "note", "text": "paged on-call", "user": "bob", "host": "desk"},
        {"t": 12.0, "kind": "fault_reverted", "fault": "misconf", "by": BY},
        {"t": 14.0, "kind": "alert_resolved", "alert": "RedisCacheErrors", "labels": {}},
        {"t": 18.0, "kind": "phase_end", "phase": "day"},
        {"t": 18.1, "kind": "run_end", "error": None},
    ]
    return sorted(out, key=lambda e: e["t"])


def test_fault_table_times_from_injection():
    summary = judge_events(journal(), SCENARIO)
    [row] = summary["story"]["fault_table"]
    assert row["by"] == BY and row["confirmed_after_s"] == 0.5
    assert row["impact_after_s"] == 1.2                # first failed publish sent at 6.2 s
    assert row["pending_after_s"] == 2.0 and row["firing_after_s"] == 3.0 and row["notified_after_s"] == 4.0
    assert row["note_after_s"] == 5.0
    assert row["first_alert"] == "RedisCacheErrors" and row["alerts_fired"] == ["RedisCacheErrors"]
    assert row["publish_failed"] == 15 and row["delivery_lost"] == 0
    assert row["recovery_s"] is not None and 0 <= row["recovery_s"] <= 1


def test_a_fault_nothing_noticed_has_no_detection_times():
    events = [e for e in journal() if not e["kind"].startswith("alert_") and e["kind"] != "note"]
    [row] = judge_events(events, SCENARIO)["story"]["fault_table"]
    assert (row["pending_after_s"], row["firing_after_s"], row["notified_after_s"], row["note_after_s"]) == (None,) * 4
    assert row["alerts_fired"] == [] and row["impact_after_s"] == 1.2


def test_probe_lanes_are_runs_of_results():
    [lane] = probe_lanes(journal())
    assert (lane["name"], lane["node"], lane["checks"], lane["failures"]) == ("readyz", "node1", 17, 6)
    assert [(s["from"], s["to"], s["ok"], s["count"]) for s in lane["segments"]] == [
        (1.0, 6.0, True, 5), (6.0, 12.0, False, 6), (12.0, 17.0, True, 6)]
    assert lane["segments"][1]["status"] == 503


def test_alert_lanes_and_notes():
    story = judge_events(journal(), SCENARIO)["story"]
    [lane] = story["alert_lanes"]
    assert lane["alert"] == "RedisCacheErrors"
    assert lane["episodes"] == [{"pending_t": 7.0, "firing_t": 8.0, "notified_t": 9.0, "resolved_t": 14.0}]
    assert story["notes"] == [{"t": 10.0, "text": "paged on-call", "user": "bob", "host": "desk"}]


def test_report_shows_lanes_fault_table_and_notes_and_summary_md(tmp_path: Path):
    summary = judge_events(journal(), SCENARIO)
    write_reports(tmp_path, summary)
    html = (tmp_path / "report.html").read_text()
    assert "Alert and probe lanes" in html and "alert RedisCacheErrors" in html and "probe readyz on node1" in html
    assert "Faults: impact, detection, recovery" in html and "alice@laptop" in html and "paged on-call" in html
    md = (tmp_path / "summary.md").read_text()
    assert md.startswith("### ✅ story: PASS (exit 0)")
    assert "| misconf (redis-misconf-unwritable-dir) | 1.2 | 3.0 | 4.0 | 5.0 |" in md


def test_summary_md_lists_failed_expectations(tmp_path: Path):
    scenario = loads("name: s\nphases: [{name: day, duration: 30s}]\nexpect: ['day: publish.success_rate >= 0.99']\n")
    write_reports(tmp_path, judge_events(journal(), scenario))
    md = (tmp_path / "summary.md").read_text()
    assert "❌ s: FAIL (exit 1)" in md and "0/1 expectations held" in md and "- `day: publish.success_rate >= 0.99`" in md


def test_a_fault_window_ends_where_the_next_fault_begins():
    """An earlier fault, reverted at 3 s, keeps nothing of the one injected at 5 s (well within its
    settling time): neither its failures, its alert, nor the bucket straddling its injection."""
    events = journal()
    events.insert(4, {"t": 1.5, "kind": "fault_injected", "fault": "slow", "fault_kind": "latency", "target": "redis",
                      "params": {}})
    events.insert(5, {"t": 1.6, "kind": "fault_confirmed", "fault": "slow", "evidence": "listed"})
    events.insert(6, {"t": 3.0, "kind": "fault_reverted", "fault": "slow"})
    events.sort(key=lambda e: e["t"])
    slow, misconf = judge_events(events, SCENARIO)["story"]["fault_table"]
    assert slow["name"] == "slow" and slow["window_end_s"] == 5.0
    assert (slow["impact_after_s"], slow["pending_after_s"], slow["alerts_fired"], slow["publish_failed"]) == \
        (None, None, [], 0)
    assert misconf["alerts_fired"] == ["RedisCacheErrors"] and misconf["publish_failed"] == 15


def test_a_fault_by_hand_does_not_reshape_its_phase():
    """A game day's fault (`phase: null`) leaves the phase measured from its start; a scenario's fault
    (no `phase` field in older journals) still makes it start at its confirmation."""
    by_hand = [dict(e, phase=None) if e["kind"] == "fault_injected" else e for e in journal()]
    assert judge_events(by_hand, SCENARIO)["phases"][0]["start_s"] == 0.5
    assert judge_events(journal(), SCENARIO)["phases"][0]["start_s"] == 5.5
