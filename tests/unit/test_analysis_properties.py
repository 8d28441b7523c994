"""Property: generated histories with known losses, duplicates and reorders are counted exactly."""
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis import analyse
from harness.expect import judge, parse


@st.composite
def histories(draw):
    n = draw(st.integers(min_value=2, max_value=40))
    subs = [f"s{i}" for i in range(draw(st.integers(min_value=1, max_value=4)))]
    pairs = [(s, i) for s in subs for i in range(n)]
    lost = draw(st.sets(st.sampled_from(pairs), max_size=len(pairs) // 2))
    received = [p for p in pairs if p not in lost]
    duplicated = draw(st.sets(st.sampled_from(received), max_size=len(received) // 2)) if received else set()
    # Reorders swap the arrival of messages i and i+1 at one subscriber: even i only, so swaps never overlap.
    swappable = [(s, i) for s, i in received if i % 2 == 0 and i + 1 < n and (s, i + 1) not in lost]
    reordered = draw(st.sets(st.sampled_from(swappable), max_size=len(swappable))) if swappable else set()
    return n, subs, lost, duplicated, reordered


def journal(n, subs, lost, duplicated, reordered):
    events = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": 1.0},
              {"t": 0.0, "kind": "phase_start", "phase": "p"}]
    for s in subs:
        events += [{"t": 0.1, "kind": "ws_connect", "sub": s}, {"t": 0.1, "kind": "ws_subscribed", "sub": s, "channel": "c"}]
    for i in range(n):
        sent = 1.0 + i * 0.1
        events.append({"t": sent + 0.01, "kind": "publish", "pub": "p1", "seq": i, "channel": "c", "sent": sent,
                       "ok": True, "error": None})
    for s in subs:
        for i in range(n):
            if (s, i) in lost:
                continue
            arrival = 1.0 + i * 0.1 + 0.02
            if (s, i) in reordered:
                arrival += 0.1            # arrives after i + 1 …
            elif (s, i - 1) in reordered:
                arrival -= 0.1            # … which arrives in i's slot
            events.append({"t": arrival, "kind": "ws_receive", "sub": s, "channel": "c", "run": "r", "pub": "p1", "seq": i})
            if (s, i) in duplicated:
                events.append({"t": arrival + 0.2, "kind": "ws_receive", "sub": s, "channel": "c", "run": "r",
                               "pub": "p1", "seq": i})
    events.append({"t": 1.0 + n * 0.1 + 5, "kind": "phase_end", "phase": "p"})
    return sorted(events, key=lambda e: e["t"])


@settings(max_examples=200, deadline=None)
@given(histories())
def test_exactly_the_injected_anomalies_are_counted(history):
    n, subs, lost, duplicated, reordered = history
    m = analyse(journal(*history)).metrics["p"]
    assert m["delivery.expected"] == n * len(subs)
    assert m["delivery.lost"] == len(lost)
    assert m["delivery.received"] == n * len(subs) - len(lost)
    assert m["delivery.duplicated"] == len(duplicated)
    assert m["delivery.reordered"] == len(reordered)
    assert m["delivery.unexpected"] == 0


# Property: removing a window's traffic never turns a failing expectation into a passing one -------------

METRICS = ["publish.attempts", "publish.ok", "publish.errors", "publish.errors.timeout", "publish.success_rate",
           "publish.skipped", "publish.latency_ms.p99", "delivery.received", "delivery.lost", "delivery.duplicated",
           "delivery.reordered", "delivery.ratio", "delivery.late", "delivery.unexpected", "delivery.latency_ms.p50",
           "delivery.missed_disconnected", "delivery.of_failed"]


@st.composite
def expectations(draw):
    window = draw(st.sampled_from(["p", "q"]))
    metric = draw(st.sampled_from(METRICS))
    op = draw(st.sampled_from([">=", "<=", ">", "<", "==", "!="]))
    if draw(st.booleans()):
        value = str(draw(st.sampled_from([0, 0.5, 0.99, 1, 3, 10, 100])))
    else:
        value = f"{'q' if window == 'p' else 'p'}.{draw(st.sampled_from(METRICS))} + {draw(st.integers(0, 5))}"
    return parse(f"{window}: {metric} {op} {value}", {"p", "q"})


def two_phases(history):
    """The generated history as phase p, then the same shifted into phase q."""
    events = journal(*history)
    end = max(e["t"] for e in events)
    shifted = []
    for e in events:
        if e["kind"] in ("publish", "ws_receive"):
            e2 = dict(e, t=e["t"] + end, seq=e["seq"] + 1000)
            if "sent" in e2:
                e2["sent"] = e["sent"] + end
            shifted.append(e2)
    phases = [{"t": end, "kind": "phase_start", "phase": "q"}, {"t": 2 * end, "kind": "phase_end", "phase": "q"}]
    return sorted(events + shifted + phases, key=lambda e: e["t"]), (0.0, end)


@settings(max_examples=300, deadline=None)
@given(histories(), expectations(), st.sampled_from(["p", "q"]))
def test_removing_a_windows_traffic_never_turns_a_failure_into_a_pass(history, expectation, stripped):
    events, p_span = two_phases(history)
    a = analyse(events)
    span = (a.metrics[stripped]["window.start_s"], a.metrics[stripped]["window.end_s"])
    sent_there = {(e["pub"], e["seq"]) for e in events if e["kind"] == "publish" and span[0] <= e["sent"] < span[1]}
    without = [e for e in events if not (e["kind"] in ("publish", "ws_receive") and (e["pub"], e["seq"]) in sent_there)]
    before = judge(expectation, a.metrics)
    after = judge(expectation, analyse(without).metrics)
    assert before.passed or not after.passed, (expectation.text, before.evidence, after.evidence)
