"""Trial classification on hand-made journals: detected, gap, noise, tolerated, no evidence, lying health."""
from __future__ import annotations

import pytest

from harness.hunt.classify import DETECTED, GAP, NO_EVIDENCE, NOISE, TOLERATED, Thresholds, classify

T = Thresholds(deadline_s=10.0, min_publishes=20)
FAULT_AT, CONFIRMED_AT, REVERTED_AT, END = 5.0, 6.0, 20.0, 30.0


class Trial:
    """A trial's journal: steady 0-5 s, fault 5-20 s, recover 20-30 s, drain to 32 s; 10 publishes a second
    to one subscriber; `failing` and `slow` (seconds) say what the fault does to them."""

    def __init__(self, failing: float = 0.0, slow: float = 0.0, traffic: bool = True, confirmed: bool = True,
                 watched: bool = True, error: str | None = None, ended: bool = True, steady_ok: bool = True):
        e = self.events = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": 2.0}]
        if watched:
            e.append({"t": 0.0, "kind": "alert_rules_loaded", "rule_set": "baseline", "rules": 3, "alerts": ["A"]})
            e += [{"t": second + 0.2, "kind": "alert_watch_ok", "source": "prometheus"} for second in range(int(END) + 2)]
        e += [{"t": 0.0, "kind": "ws_connect", "sub": "s"}, {"t": 0.0, "kind": "ws_subscribed", "sub": "s", "channel": "c"}]
        for name, start, end in (("steady", 0.0, FAULT_AT), ("fault", FAULT_AT, REVERTED_AT), ("recover", REVERTED_AT, END)):
            e.append({"t": start, "kind": "phase_start", "phase": name})
            e.append({"t": end - 1e-6, "kind": "phase_end", "phase": name})
        e.append({"t": FAULT_AT, "kind": "fault_injected", "fault": "f1", "fault_kind": "k", "target": "redis"})
        if confirmed:
            e.append({"t": CONFIRMED_AT, "kind": "fault_confirmed", "fault": "f1", "evidence": "x"})
        e.append({"t": REVERTED_AT, "kind": "fault_reverted", "fault": "f1"})
        seq = 0
        for tenth in range(int(END * 10)):
            sent = tenth / 10
            in_fault = FAULT_AT <= sent < REVERTED_AT
            if not traffic and in_fault:
                continue
            ok = not (in_fault and seq % 10 < failing * 10) and (steady_ok or sent >= FAULT_AT)
            delay = slow if in_fault else 0.01
            e.append({"t": sent + 0.005, "kind": "publish", "pub": "p1", "seq": seq, "channel": "c", "sent": sent,
                      "ok": ok, "error": None if ok else "http_5xx"})
            if ok:
                e.append({"t": sent + delay, "kind": "ws_receive", "sub": "s", "channel": "c", "run": "r", "pub": "p1",
                          "seq": seq})
            seq += 1
        e += [{"t": END, "kind": "drain_start", "seconds": 2.0}, {"t": END + 2.0, "kind": "drain_end"},
              {"t": END + 2.0, "kind": "ws_disconnect", "sub": "s", "reason": "stopped"}]
        if ended:
            e.append({"t": END + 2.1, "kind": "run_end", "error": error})

    def alert(self, name: str, pending: float, firing: float | None) -> "Trial":
        self.events.append({"t": pending + 0.3, "kind": "alert_pending", "alert": name, "labels": {}, "active_t": pending})
        if firing is not None:
            self.events.append({"t": firing, "kind": "alert_firing", "alert": name, "labels": {}, "active_t": pending})
        return self

    def probes(self, ok: bool) -> "Trial":
        for second in range(int(END)):
            self.events.append({"t": second + 0.5, "kind": "probe", "name": "readyz", "node": "node1",
                                "ok": ok or second < FAULT_AT, "status": 200 if ok or second < FAULT_AT else 503,
                                "latency_ms": 3.0, "error": None})
        return self

    def classify(self, t: Thresholds = T):
        return classify(sorted(self.events, key=lambda e: e["t"]), t)


def test_impact_and_an_alert_in_time_is_detected_with_its_time_from_confirmation():
    c = Trial(failing=0.5).alert("RedisRefusing", pending=7.0, firing=9.5).classify()
    assert c.cls == DETECTED and c.detected_after_s == 3.5
    assert "RedisRefusing" in c.reason
    assert [i.metric for i in c.impact] == ["publish.success_rate"]
    assert c.impact[0].expectation() == "fault: publish.success_rate < 0.99"


def test_impact_and_no_alert_is_a_gap():
    c = Trial(failing=0.5).classify()
    assert c.cls == GAP and c.detected_after_s is None
    assert c.metrics["fault"]["publish.success_rate"] == pytest.approx(0.5, abs=0.01)


def test_an_alert_after_the_deadline_leaves_a_gap_and_says_when_it_came():
    c = Trial(failing=0.5).alert("Slow", pending=10.0, firing=17.0).classify()
    assert c.cls == GAP and "first alert only after 11.0 s" in c.reason


def test_pending_only_does_not_detect():
    assert Trial(failing=0.5).alert("Flappy", pending=7.0, firing=None).classify().cls == GAP


def test_an_alert_still_firing_from_an_earlier_trial_detects_nothing():
    c = Trial(failing=0.5).alert("Carried", pending=-30.0, firing=-25.0).classify()
    assert c.cls == GAP and c.alerts == []


def test_latency_over_the_slo_is_impact():
    c = Trial(slow=1.5).classify()
    assert c.cls == GAP and [str(i).split(" =")[0] for i in c.impact] == ["fault: delivery.latency_ms.p99"]
    assert Trial(slow=0.5).classify().cls == TOLERATED


def test_an_alert_without_impact_is_noise_and_nothing_at_all_is_tolerated():
    assert Trial().alert("Twitchy", pending=8.0, firing=9.0).classify().cls == NOISE
    assert Trial().classify().cls == TOLERATED


@pytest.mark.parametrize("trial, reason", [
    (Trial(failing=1.0, traffic=False), "no traffic, no verdict"),
    (Trial(failing=0.5, confirmed=False), "never confirmed"),
    (Trial(failing=0.5, watched=False), "never saw the rule set loaded"),
    (Trial(failing=0.5, error="fault f1: confirm timed out"), "the trial failed: fault f1"),
    (Trial(failing=0.5, ended=False), "no run_end"),
])
def test_missing_evidence_gives_no_class(trial, reason):
    c = trial.classify()
    assert c.cls == NO_EVIDENCE and reason in c.reason


def test_subscribers_dropped_by_the_fault_are_no_evidence_of_tolerance():
    # Publishes succeed, the only subscriber is dropped at the fault and never back: its deliveries are
    # missed, none expected, no delivery ratio. That is not "no impact".
    trial = Trial()
    trial.events = [e for e in trial.events if not (e["kind"] == "ws_receive" and e["t"] >= FAULT_AT + 0.5)]
    trial.events.append({"t": FAULT_AT + 0.5, "kind": "ws_disconnect", "sub": "s", "reason": "closed 1006 abnormal"})
    c = trial.classify()
    assert c.cls == NO_EVIDENCE and "0 deliveries expected" in c.reason


def test_a_detection_window_not_watched_to_the_deadline_gives_no_class():
    c = Trial(failing=0.5).classify(Thresholds(deadline_s=40.0))
    assert c.cls == NO_EVIDENCE and "no monitoring evidence for 14.8 s of the 40 s" in c.reason


def test_a_watcher_that_stopped_polling_in_the_window_gives_no_class():
    trial = Trial(failing=0.5)
    trial.events = [e for e in trial.events if not (e["kind"] == "alert_watch_ok" and 7 < e["t"] < 13)]
    c = trial.classify()
    assert c.cls == NO_EVIDENCE and "no monitoring evidence for 7.0 s" in c.reason


def test_a_saturated_harness_gives_no_class():
    trial = Trial(failing=0.5)
    trial.events += [{"t": second + 0.7, "kind": "loop_lag", "lag_ms": 900.0, "cpu_s": 1.0} for second in range(30)]
    c = trial.classify()
    assert c.cls == NO_EVIDENCE and "harness saturated" in c.reason


def test_an_unsteady_start_is_flagged_so_the_cluster_is_replaced():
    c = Trial(failing=0.5, steady_ok=False).classify()
    assert c.cls == NO_EVIDENCE and not c.steady and "not steady before the fault" in c.reason


def test_lying_health_is_impact_while_every_probe_stayed_green():
    lying = Trial(failing=0.5).probes(ok=True).classify()
    assert lying.lying_health is True
    assert lying.probes == {"readyz": {"answers": 24, "ok": 24}}   # the evidence: 1 a second from confirmation to the end
    honest = Trial(failing=0.5).probes(ok=False).classify()
    assert honest.lying_health is False and honest.probes == {"readyz": {"answers": 24, "ok": 0}}
    assert honest.to_json()["probes"] == honest.probes
    assert Trial(failing=0.5).classify().lying_health is None            # no probes: no evidence either way
    assert Trial().probes(ok=True).classify().lying_health is None       # no impact: nothing to lie about


def test_a_recover_phase_without_traffic_is_no_evidence_of_tolerance():
    trial = Trial()
    trial.events = [e for e in trial.events if not (e["kind"] in ("publish", "ws_receive")
                                                    and e.get("sent", e["t"]) >= REVERTED_AT)]
    c = trial.classify()
    assert c.cls == NO_EVIDENCE and "recover: 0 publish attempts" in c.reason
