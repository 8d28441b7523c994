"""Alert analysis and alert expectations on small hand-written journals (pure, no Docker)."""
from __future__ import annotations

import math

import pytest

from harness import alert_expect, alerts, expect
from harness.observe.watcher import parse_time

PHASES = {"steady", "misconf"}
WINDOWS = {"steady": (0.0, 10.0), "misconf": (10.0, 40.0), "run": (0.0, math.inf)}


def ev(kind: str, t: float, **fields) -> dict:
    return {"t": t, "wall": 1000.0 + t, "kind": kind, **fields}


def episode_events(alert: str, pending: float, firing: float | None, resolved: float | None = None,
                   notified: float | None = None, labels: dict | None = None) -> list[dict]:
    labels = labels or {"severity": "page"}
    out = [ev("alert_pending", pending + 0.4, alert=alert, labels=labels, active_t=pending)]
    if firing is not None:
        out.append(ev("alert_firing", firing, alert=alert, labels=labels, active_t=pending))
    if notified is not None:
        out.append(ev("alert_notified", notified + 0.5, alert=alert, labels=dict(labels, instance="x"),
                      status="firing", arrived_t=notified))
    if resolved is not None:
        out.append(ev("alert_resolved", resolved, alert=alert, labels=labels))
    return out


def parse(text: str) -> alert_expect.AlertExpectation:
    return alert_expect.parse(text, set(WINDOWS), PHASES, {"misconf-1"})


def test_parse_fires_after_phase_and_fault_and_silent():
    e = parse("alert RedisCacheErrors fires within 30s after phase misconf")
    assert (e.alert, e.kind, e.anchor_kind, e.anchor, e.within_s) == ("RedisCacheErrors", "fires", "phase", "misconf", 30)
    assert parse("alert X fires within 500ms after fault misconf-1").within_s == 0.5
    assert parse("alert * silent during run").alert == alert_expect.ANY


@pytest.mark.parametrize("text, message", [
    ("alert X fires within 30s after phase nope", "unknown phase 'nope'; allowed: misconf, steady"),
    ("alert X fires within 30s after fault nope", "unknown fault 'nope'; allowed: misconf-1"),
    ("alert X fires within soon after phase misconf", "cannot read the duration 'soon'"),
    ("alert X silent during nowhere", "unknown window 'nowhere'"),
    ("alert X shouts", "cannot read 'alert X shouts'; write 'alert <Name|*> fires"),
])
def test_parse_errors_say_what_is_allowed(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("*", r"\*")):
        parse(text)


def test_expect_parse_dispatches_alert_lines():
    e = expect.parse("alert RedisDown silent during steady", {"steady"}, {"steady"}, set())
    assert isinstance(e, alert_expect.AlertExpectation)
    assert isinstance(expect.parse("steady: alert.RedisDown.fired == 0", {"steady"}), expect.Expectation)


def test_history_pairs_transitions_and_notifications():
    h = alerts.history(episode_events("A", pending=12.0, firing=14.2, resolved=30.0, notified=15.0))
    [e] = h.episodes
    assert (e.pending_t, e.firing_t, e.resolved_t, e.notified_t) == (12.0, 14.2, 30.0, 15.0)


def test_a_notification_before_the_episode_is_not_its_notification():
    events = episode_events("A", pending=2.0, firing=3.0, resolved=5.0, notified=3.5)
    events += episode_events("A", pending=20.0, firing=21.0)
    h = alerts.history(events)
    assert [e.notified_t for e in h.episodes] == [3.5, None]


def test_fires_within_passes_with_times_from_the_anchor():
    h = alerts.history(episode_events("A", pending=12.0, firing=14.5, notified=15.5))
    passed, observed, evidence = alert_expect.judge(parse("alert A fires within 10s after phase misconf"), h, WINDOWS, {})
    assert passed and observed == 4.5
    assert "pending after 2.0 s, firing after 4.5 s, notified after 5.5 s" in evidence


def test_fires_too_late_fails_with_the_time_it_took():
    h = alerts.history(episode_events("A", pending=20.0, firing=25.0))
    passed, observed, evidence = alert_expect.judge(parse("alert A fires within 10s after phase misconf"), h, WINDOWS, {})
    assert not passed and observed == 15.0 and "only after 15.0 s" in evidence


def test_never_firing_is_a_gap_and_pending_only_is_said():
    h = alerts.history(episode_events("A", pending=12.0, firing=None, resolved=13.0))
    passed, observed, evidence = alert_expect.judge(parse("alert A fires within 10s after phase misconf"), h, WINDOWS, {})
    assert not passed and observed is None
    assert "never fired" in evidence and "pending after 2.0 s" in evidence


def test_fires_after_fault_counts_from_its_confirmation():
    h = alerts.history(episode_events("A", pending=15.0, firing=16.0))
    e = parse("alert A fires within 3s after fault misconf-1")
    assert alert_expect.judge(e, h, WINDOWS, {"misconf-1": 14.0})[:2] == (True, 2.0)
    assert alert_expect.judge(e, h, WINDOWS, {"misconf-1": None})[0] is False


def test_silent_fails_on_firing_only_and_any_matches_every_alert():
    h = alerts.history(episode_events("A", pending=5.0, firing=None, resolved=6.0)
                       + episode_events("B", pending=20.0, firing=21.0, resolved=22.0))
    h.polls = [float(t) for t in range(41)]
    assert alert_expect.judge(parse("alert A silent during steady"), h, WINDOWS, {})[0]
    assert alert_expect.judge(parse("alert * silent during steady"), h, WINDOWS, {})[0]
    passed, observed, evidence = alert_expect.judge(parse("alert * silent during misconf"), h, WINDOWS, {})
    assert not passed and observed == 11.0 and evidence.startswith("B firing during misconf")


def test_an_alert_still_firing_from_before_the_window_breaks_its_silence():
    h = alerts.history(episode_events("A", pending=1.0, firing=2.0))
    assert not alert_expect.judge(parse("alert A silent during misconf"), h, WINDOWS, {})[0]
    assert alerts.timings(h, "A", 10.0)["firing_after_s"] == 0.0


def test_window_metrics_use_the_shared_vocabulary():
    h = alerts.history(episode_events("A", pending=12.0, firing=14.0, notified=14.5))
    m = alerts.window_metrics(h, 10.0, 40.0)
    assert {k: v for k, v in m.items() if k.startswith("alert.")} == {"alert.A.pending_after_s": 2.0, "alert.A.firing_after_s": 4.0,
                 "alert.A.notified_after_s": 4.5, "alert.A.fired": True}
    assert alerts.window_metrics(h, 0.0, 10.0)["alert.A.fired"] is False


def test_judge_all_judges_alert_lines_on_the_history():
    h = alerts.history(episode_events("A", pending=12.0, firing=14.0))
    lines = [expect.parse("alert A fires within 5s after phase misconf", set(WINDOWS) - {"run"}, PHASES),
             expect.parse("misconf: alert.A.fired == 1", set(WINDOWS) - {"run"})]
    h.polls = [10.0 + i for i in range(31)]     # the watcher polled every second of misconf
    metrics = {"misconf": alerts.window_metrics(h, 10.0, 40.0)}
    verdicts = expect.judge_all(lines, metrics, expect.AlertContext(h, WINDOWS, {}))
    assert [v.passed for v in verdicts] == [True, True]


def test_summary_reports_gaps_noise_and_alerts_during_faults():
    events = (episode_events("Expected", pending=12.0, firing=13.0, notified=14.0)
              + episode_events("Missing", pending=12.0, firing=None)
              + episode_events("Noisy", pending=3.0, firing=4.0, resolved=5.0)
              + episode_events("Bonus", pending=15.0, firing=16.0))
    fires = [parse("alert Expected fires within 5s after phase misconf"),
             parse("alert Missing fires within 5s after phase misconf")]
    faults = [{"name": "misconf-1", "injected_s": 10.5, "confirmed_s": 11.0, "reverted_s": 40.0}]
    h = alerts.history(events)
    h.polls = [float(second) for second in range(41)]   # watched throughout: a missing alert is a gap
    s = alert_expect.summary(fires, h, WINDOWS, faults)
    assert s["gaps"] == ["Missing"] and s["no_evidence"] == []
    assert [n["alert"] for n in s["noise"]] == ["Noisy"]
    assert [n["alert"] for n in s["other_during_faults"]] == ["Bonus"]
    assert s["expected"][0]["firing_after_s"] == 3.0 and s["expected"][0]["notified_after_s"] == 4.0


def test_parse_time_keeps_nanoseconds_and_zone():
    assert parse_time("1970-01-01T00:00:01.500000001Z") == pytest.approx(1.500000001)
    assert parse_time("2026-11-26T17:29:30Z") == 1795714170.0


def test_the_notifications_starts_at_refines_the_polled_firing_time():
    events = episode_events("A", pending=12.0, firing=14.9)
    events.append(ev("alert_notified", 15.5, alert="A", labels={"severity": "page"}, status="firing",
                     arrived_t=15.2, starts_t=14.05))
    [e] = alerts.history(events).episodes
    assert (e.firing_t, e.notified_t) == (14.05, 15.2)


def test_any_alert_fires_within_is_met_by_the_first_alert_of_any_name():
    h = alerts.history(episode_events("B", pending=15.0, firing=17.0) + episode_events("A", pending=30.0, firing=31.0))
    e = parse("alert * fires within 5s after fault misconf-1")
    assert e.alert == alert_expect.ANY
    assert alert_expect.judge(e, h, WINDOWS, {"misconf-1": 14.0})[:2] == (True, 3.0)
    passed, observed, evidence = alert_expect.judge(e, h, WINDOWS, {"misconf-1": 1.0})
    assert not passed and "fired only after 16.0 s" in evidence


def test_an_alert_not_seen_while_the_watcher_was_blind_is_no_evidence_not_a_gap():
    fires = [parse("alert Missing fires within 5s after phase misconf")]
    faults = [{"name": "misconf-1", "injected_s": 10.5, "confirmed_s": 11.0, "reverted_s": 40.0}]
    h = alerts.history(episode_events("Missing", pending=12.0, firing=None))
    h.polls = [float(second) for second in range(11)]   # the watcher stopped at 10 s, as misconf began
    s = alert_expect.summary(fires, h, WINDOWS, faults)
    assert s["gaps"] == [] and s["no_evidence"] == ["Missing"]
