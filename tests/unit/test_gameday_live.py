"""The game day's live view: journal events in, settled per-second samples out."""
from harness.gameday.live import LiveView, line


def fed(events) -> LiveView:
    live = LiveView(grace_s=1.0)
    for e in events:
        live.feed(e)
    return live


BASE = [{"t": 0.1, "kind": "ws_connect", "sub": "a"}, {"t": 0.1, "kind": "ws_subscribed", "sub": "a", "channel": "c"},
        {"t": 0.1, "kind": "ws_connect", "sub": "b"}, {"t": 0.2, "kind": "ws_subscribed", "sub": "b", "channel": "c"}]


def pub(seq, sent, ok=True, t=None):
    return {"t": t or sent + 0.01, "kind": "publish", "pub": "p1", "seq": seq, "channel": "c", "sent": sent, "ok": ok}


def recv(seq, sub, t):
    return {"t": t, "kind": "ws_receive", "sub": sub, "channel": "c", "pub": "p1", "seq": seq}


def test_a_settled_second_counts_publishes_deliveries_and_latency():
    live = fed(BASE + [pub(0, 1.1), recv(0, "a", 1.12), recv(0, "b", 1.13), recv(0, "b", 1.14),   # a duplicate
                       pub(1, 1.5, ok=False), pub(2, 1.7), recv(2, "a", 1.9)])                   # b missed seq 2
    s = live.sample(3.0)          # grace 1 s: the second [1, 2) is settled at 3 s
    assert s["second"] == 1
    assert s["publish"] == {"attempts": 3, "ok": 2, "errors": 1, "success": 0.6667}
    assert s["delivery"]["expected"] == 4 and s["delivery"]["received"] == 3 and s["delivery"]["ratio"] == 0.75
    assert s["delivery"]["p50_ms"] == 30.0 and s["delivery"]["p99_ms"] == 200.0
    assert s["ws"] == {"connected": 2, "total": 2}


def test_a_receipt_before_the_publish_answer_is_matched():
    live = fed(BASE + [recv(0, "a", 1.2), recv(0, "b", 1.25), pub(0, 1.1, t=1.4)])
    d = live.sample(3.0)["delivery"]
    assert (d["expected"], d["received"]) == (2, 2)


def test_late_subscribers_and_disconnected_ones_are_not_expected():
    live = fed(BASE + [{"t": 1.0, "kind": "ws_disconnect", "sub": "b", "reason": "closed 1006"},
                       {"t": 1.2, "kind": "ws_connect", "sub": "c"}, pub(0, 1.1),
                       {"t": 1.15, "kind": "ws_subscribed", "sub": "c", "channel": "c"}, recv(0, "a", 1.2)])
    s = live.sample(3.0)
    assert (s["delivery"]["expected"], s["delivery"]["received"]) == (1, 1)
    assert s["ws"] == {"connected": 2, "total": 3}


def test_the_canary_is_left_out():
    live = fed(BASE + [{"t": 1.2, "kind": "publish", "pub": "canary", "seq": 0, "channel": "hx-canary", "sent": 1.1,
                        "ok": False}])
    assert live.sample(3.0)["publish"]["attempts"] == 0


def test_alerts_faults_probes_and_markers():
    live = fed([
        {"t": 1.0, "kind": "fault_injected", "fault": "latency", "fault_kind": "latency", "target": "redis",
         "params": {"latency": 300}, "by": {"user": "alice", "host": "h"}},
        {"t": 1.2, "kind": "fault_confirmed", "fault": "latency", "evidence": "toxic listed"},
        {"t": 2.0, "kind": "alert_pending", "alert": "Slow", "labels": {"job": "n"}},
        {"t": 3.0, "kind": "alert_firing", "alert": "Slow", "labels": {"job": "n"}},
        {"t": 3.5, "kind": "alert_notified", "alert": "Slow", "labels": {"job": "n"}, "status": "firing"},
        {"t": 4.0, "kind": "probe", "name": "readyz", "node": "node1", "ok": False, "status": 503, "latency_ms": 4.0,
         "error": None},
        {"t": 4.5, "kind": "note", "text": "paged", "user": "bob"},
    ])
    s = live.sample(5.0)
    assert s["faults"] == [{"name": "latency", "kind": "latency", "target": "redis", "params": {"latency": 300},
                            "by": {"user": "alice", "host": "h"}, "state": "confirmed", "evidence": "toxic listed"}]
    assert s["alerts"] == [{"alert": "Slow", "labels": {"job": "n"}, "notified": True, "state": "firing"}]
    assert s["probes"][0]["ok"] is False and s["probes"][0]["status"] == 503
    assert [m["kind"] for m in live.markers_since(0)] == ["fault_injected", "fault_confirmed", "pending", "firing",
                                                          "notified", "note"]
    assert [m["kind"] for m in live.markers_since(5)] == ["note"] and live.markers_since(6) == []
    text = line(s)
    assert "alerts firing Slow" in text and "faults latency" in text and "probes ok 0/1" in text
    live.feed({"t": 5.2, "kind": "alert_firing", "alert": "Slow", "labels": {"job": "m"}})
    assert "alerts firing Slow×2 " in line(live.sample(5.5))
    live.feed({"t": 5.6, "kind": "alert_resolved", "alert": "Slow", "labels": {"job": "m"}})
    live.feed({"t": 6.0, "kind": "fault_reverted", "fault": "latency"})
    live.feed({"t": 6.0, "kind": "alert_resolved", "alert": "Slow", "labels": {"job": "n"}})
    s = live.sample(7.0)
    assert s["faults"] == [] and s["alerts"] == []


def test_memory_is_dropped_once_seconds_settle():
    live = fed(BASE + [pub(i, 1 + i * 0.5) for i in range(20)])
    live.sample(30.0)
    assert not live.seconds and not live.pending
