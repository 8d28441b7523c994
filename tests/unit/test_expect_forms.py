"""Per-node, per-bucket, and/or expectations, and `alert X resolves within T after revert of F`."""
import pytest

from harness import expect, expect_forms as forms
from harness.alerts import history
from harness.analysis import analyse

WINDOWS = {"steady", "fixed"}
NODES = ("node1", "node2")


def parse(text):
    return expect.parse(text, WINDOWS, WINDOWS, {"f"}, NODES)


def test_forms_parse():
    assert parse("settled@node2: delivery.ratio == 1".replace("settled", "fixed")).window == "fixed@node2"
    assert parse("node2: delivery.ratio >= 0.99").window == "run@node2"
    b = parse("fixed: publish.success_rate >= 0.99 every 2s")
    assert isinstance(b, forms.Bucketed) and b.every_s == 2 and b.inner.metric == "publish.success_rate"
    c = parse("steady: publish.success_rate >= 0.99 and delivery.ratio == 1")
    assert isinstance(c, forms.Compound) and [p.window for p in c.parts] == ["steady", "steady"]
    assert expect.node_windows([c, parse("fixed@node1: delivery.lost == 0 or node2: ws.disconnects == 0")]) == {
        "fixed@node1", "run@node2"}


@pytest.mark.parametrize("text, message", [
    ("fixed@node7: delivery.ratio == 1", "unknown window 'fixed@node7'.*seen from a node"),
    ("fixed: delivery.ratio == 1 and publish.ok > 1 or delivery.lost == 0", "mix of 'and' and 'or'"),
    ("fixed: delivery.latency_ms.p99 <= 10 every 1s", "'every' takes .* with a metric among publish.success_rate"),
    ("fixed: publish.success_rate >= 0.99 every 1500ms", "every: must be whole seconds"),
    # The 1 s timeline is the whole cluster's: judged there, a node's line would pass on other nodes' seconds.
    ("fixed@node2: publish.success_rate >= 0.99 every 1s", "'every' is judged on the cluster's 1 s timeline.*without @node2"),
    ("node2: publish.success_rate >= 0.99 every 1s", "'every' is judged on the cluster's 1 s timeline.*without @node2"),
    ("alert A resolves within 30s after revert of g", "unknown fault 'g'"),
])
def test_form_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse(text)


def bucket(t, ok, attempts, received=0, expected=0):
    return {"t": t, "publish.ok": ok, "publish.attempts": attempts, "delivery.received": received,
            "delivery.expected": expected}


def judge(e, timeline=(), metrics=None, spans=None, **context):
    ctx = expect.AlertContext(context.get("history") or history([]), {"fixed": (10.0, 14.0)} if spans is None else spans, {}, **{
        k: v for k, v in context.items() if k != "history"})
    return expect.judge_all([e], metrics or {}, ctx, list(timeline))[0]


def test_every_bucket_must_hold_and_have_evidence():
    e = parse("fixed: publish.success_rate >= 0.9 every 1s")
    good = [bucket(t, 10, 10) for t in (10.0, 11.0, 12.0, 13.0)]
    assert judge(e, good).passed
    dip = good[:2] + [bucket(12.0, 5, 10)] + good[3:]
    v = judge(e, dip)
    assert not v.passed and "0.5 in the 1 s bucket at +2 s" in v.evidence
    # Over 2 s buckets the dip is averaged with its neighbour: 15/20 is still below.
    assert not judge(parse("fixed: publish.success_rate >= 0.9 every 2s"), dip).passed
    empty = good[:1] + [bucket(11.0, 0, 0)] + good[2:]
    assert "no evidence in the bucket at +1 s" in judge(e, empty).evidence
    assert "never happened" in judge(e, good, spans={}).evidence


def test_and_or():
    metrics = {"steady": {"publish.scheduled": 10, "publish.success_rate": 1.0, "delivery.expected": 10,
                          "delivery.ratio": 0.5}}
    both = parse("steady: publish.success_rate >= 0.99 and delivery.ratio == 1")
    either = parse("steady: publish.success_rate >= 0.99 or delivery.ratio == 1")
    assert not judge(both, metrics=metrics).passed
    v = judge(either, metrics=metrics)
    assert v.passed and v.evidence.startswith("[held: steady: publish.success_rate = 1") and " OR [failed:" in v.evidence


def test_a_node_sees_its_publishes_and_its_subscribers():
    events = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": 1.0}, {"t": 0.0, "kind": "phase_start", "phase": "p"}]
    for sub, node in (("a", "node1"), ("b", "node2")):
        events += [{"t": 0.1, "kind": "ws_connect", "sub": sub, "node": node},
                   {"t": 0.1, "kind": "ws_subscribed", "sub": sub, "channel": "c"}]
    for seq, node in ((0, "node1"), (1, "node2")):
        events.append({"t": 1.0 + seq, "kind": "publish", "pub": "p1", "seq": seq, "channel": "c", "node": node,
                       "sent": 0.9 + seq, "ok": True, "error": None})
    events += [{"t": 1.1, "kind": "ws_receive", "sub": "a", "channel": "c", "run": "r", "pub": "p1", "seq": 0},
               {"t": 1.1, "kind": "ws_receive", "sub": "b", "channel": "c", "run": "r", "pub": "p1", "seq": 0},
               {"t": 2.1, "kind": "ws_receive", "sub": "a", "channel": "c", "run": "r", "pub": "p1", "seq": 1},
               {"t": 10.0, "kind": "phase_end", "phase": "p"}]
    node2 = analyse(forms.node_events(events, "node2")).metrics["p"]
    # node2's subscriber missed the message published through node2; node2 sent one publish.
    assert (node2["publish.attempts"], node2["delivery.expected"], node2["delivery.received"]) == (1, 2, 1)
    node1 = analyse(forms.node_events(events, "node1")).metrics["p"]
    assert (node1["publish.attempts"], node1["delivery.ratio"]) == (1, 1.0)


def test_alert_resolves_after_revert():
    events = [{"t": 5.0, "kind": "alert_firing", "alert": "A", "labels": {}, "active_t": 4.0},
              {"t": 31.0, "kind": "alert_resolved", "alert": "A", "labels": {}}]
    h = history(events)
    e = parse("alert A resolves within 20s after revert of f")
    assert judge(e, history=h, reverts={"f": 20.0}).passed
    late = judge(parse("alert A resolves within 5s after revert of f"), history=h, reverts={"f": 20.0})
    assert not late.passed and late.observed == 11.0
    assert "not firing when f was reverted" in judge(e, history=h, reverts={"f": 40.0}).evidence
    assert "never reverted" in judge(e, history=h, reverts={}).evidence


def test_a_window_shorter_than_one_bucket_is_no_evidence():
    # `fixed` spans 4 whole 1 s buckets: not one 5 s bucket to judge, so nothing held.
    good = [bucket(t, 10, 10) for t in (10.0, 11.0, 12.0, 13.0)]
    v = judge(parse("fixed: publish.success_rate >= 0.9 every 5s"), good)
    assert not v.passed and "no whole 5 s bucket" in v.evidence and "no evidence" in v.evidence


def test_a_bucket_counts_skipped_publishes_as_the_window_does():
    # Half the publishes of one second were skipped (too many in flight, a stalled cluster): its success
    # is 5 of 10 due, as the window's publish.success_rate counts it, not 5 of the 5 sent.
    seconds = [bucket(t, 10, 10) for t in (10.0, 11.0, 13.0)]
    stalled = {**bucket(12.0, 5, 5), "publish.skipped": 5}
    good = [{**b, "publish.skipped": 0} for b in seconds]
    v = judge(parse("fixed: publish.success_rate >= 0.9 every 1s"), good[:2] + [stalled] + good[2:])
    assert not v.passed and "0.5 in the 1 s bucket at +2 s" in v.evidence


def test_a_node_sees_its_own_probes_only():
    events = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": 1.0}, {"t": 0.0, "kind": "phase_start", "phase": "p"}]
    for second in range(1, 9):
        for node, ok in (("node1", True), ("node2", False)):
            events.append({"t": float(second), "kind": "probe", "name": "ready", "node": node, "ok": ok,
                           "status": 200 if ok else 503, "latency_ms": 2.0, "error": None})
    events.append({"t": 10.0, "kind": "phase_end", "phase": "p"})
    # node2 answered not ready all along: seen from node2, no answer was ok (node1's answers are not node2's).
    node2 = analyse(forms.node_events(events, "node2")).metrics["p"]
    assert (node2["probe.ready.answers"], node2["probe.ready.ok_ratio"]) == (8, 0.0)
