"""Property: generated histories with known losses, duplicates and reorders are counted exactly."""
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis import analyse


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
