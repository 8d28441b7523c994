"""The streaming analysis: judging each publish at its horizon and forgetting it gives the same metrics
as holding the whole journal (an infinite horizon), and a receipt after the horizon is said, not lost."""
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis import analyse
from harness.windows import NamedWindow

NAMED = (NamedWindow("early", "fault", 0.0, 2.0), NamedWindow("tail", "calm", 1.0, None))


def journal(seed: int) -> list[dict]:
    """A time-ordered run with all the analysis distinguishes: phases (one faulted, its start moved to the
    confirmation, sometimes never confirmed), a scheduled fault, loss, duplicates, late and reordered
    receipts, failed and skipped publishes, the canary, foreign receipts, a dropped subscriber that comes
    back, loop-lag samples. Every receipt comes within 2.6 s of its send."""
    rng = random.Random(seed)
    events = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": 1.0}]
    subs = {f"s{i}": rng.sample(["c0", "c1"], rng.randint(1, 2)) for i in range(rng.randint(1, 4))}
    subs["canary"] = ["c0"]
    for sub, channels in subs.items():
        events.append({"t": 0.1, "kind": "ws_connect", "sub": sub})
        events += [{"t": 0.2, "kind": "ws_subscribed", "sub": sub, "channel": c} for c in channels]
    t, seq, down = 1.0, 0, {}
    for phase in ["steady", "fault", "calm"][:rng.randint(2, 3)]:
        length = rng.uniform(3, 12)
        start, end = t, t + length
        events.append({"t": start, "kind": "phase_start", "phase": phase})
        if phase == "fault":
            events.append({"t": start + 0.01, "kind": "fault_injected", "fault": "f", "phase": phase, "planned_s": 0})
            if rng.random() < 0.85:
                events.append({"t": start + rng.uniform(0.1, 3), "kind": "fault_confirmed", "fault": "f"})
            events.append({"t": end - 0.5, "kind": "fault_reverted", "fault": "f"})
            events.append({"t": start + 1.5, "kind": "fault_injected", "fault": "g", "phase": phase, "planned_s": 1.5})
            events.append({"t": start + 1.7, "kind": "fault_confirmed", "fault": "g"})
        events.append({"t": end, "kind": "phase_end", "phase": phase})
        for second in range(int(length)):
            events.append({"t": start + second + 0.5, "kind": "loop_lag", "lag_ms": rng.uniform(0, 600), "cpu_s": 0.1})
        while t < end:
            sub = rng.choice(sorted(subs))
            if rng.random() < 0.01 and sub not in down:
                down[sub] = t
                events.append({"t": t, "kind": "ws_disconnect", "sub": sub, "reason": "closed 1006"})
            elif sub in down and t - down[sub] > 1:
                events.append({"t": t, "kind": "ws_connect", "sub": sub})
                events += [{"t": t + 0.05, "kind": "ws_subscribed", "sub": sub, "channel": c} for c in subs[sub]]
                del down[sub]
            pub = "canary" if rng.random() < 0.1 else "p1"
            channel = "c0" if pub == "canary" else rng.choice(["c0", "c1"])
            if rng.random() < 0.03:
                events.append({"t": t, "kind": "publish_skipped", "pub": pub, "seq": seq})
            else:
                ack = t + rng.uniform(0.001, 0.4)
                ok = rng.random() < 0.9
                events.append({"t": ack, "kind": "publish", "pub": pub, "seq": seq, "channel": channel, "sent": t,
                               "ok": ok, "error": None if ok else "timeout"})
                for sub, channels in subs.items():
                    if channel not in channels or sub in down or rng.random() < 0.05:
                        continue
                    late = rng.uniform(1.5, 2.5) if rng.random() < 0.03 else rng.uniform(0.001, 0.1)
                    for copy in range(2 if rng.random() < 0.03 else 1):
                        events.append({"t": t + late + copy * 0.05, "kind": "ws_receive", "sub": sub, "channel": channel,
                                       "run": "r", "pub": pub, "seq": seq})
            if rng.random() < 0.02:   # never published, or another run's
                events.append({"t": t, "kind": "ws_receive", "sub": sub, "channel": "c0",
                               "run": rng.choice(["r", "other"]), "pub": "p1", "seq": 10 ** 6 + seq})
            seq += 1
            t += rng.uniform(0.01, 0.1)
        t = end
    events.append({"t": t + 3, "kind": "run_end"})
    return sorted(events, key=lambda e: e["t"])


def everything(a) -> dict:
    return {"metrics": a.metrics, "timeline": a.timeline, "faults": a.faults, "phases": a.windows, "named": a.named}


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32))
def test_a_short_horizon_judges_like_the_whole_journal(seed):
    events = journal(seed)
    held = analyse(events, NAMED, horizon_s=1e9)
    streamed = analyse(events, NAMED, horizon_s=2.0)
    assert everything(streamed) == everything(held)
    assert held.metrics["run"]["delivery.expected"] > 0


def test_a_receipt_after_the_horizon_is_counted_as_such_not_unexpected():
    events = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": 1.0},
              {"t": 0.0, "kind": "phase_start", "phase": "p"},
              {"t": 0.1, "kind": "ws_connect", "sub": "a"}, {"t": 0.1, "kind": "ws_subscribed", "sub": "a", "channel": "c"},
              {"t": 1.01, "kind": "publish", "pub": "p1", "seq": 0, "channel": "c", "sent": 1.0, "ok": True, "error": None},
              {"t": 1.02, "kind": "publish", "pub": "p1", "seq": 1, "channel": "c", "sent": 1.0, "ok": True, "error": None},
              {"t": 1.03, "kind": "ws_receive", "sub": "a", "channel": "c", "run": "r", "pub": "p1", "seq": 1},
              {"t": 50.0, "kind": "ws_receive", "sub": "a", "channel": "c", "run": "r", "pub": "p1", "seq": 0},
              {"t": 60.0, "kind": "phase_end", "phase": "p"}]
    m = analyse(events, horizon_s=10.0).metrics["p"]
    assert (m["delivery.expected"], m["delivery.received"], m["delivery.lost"]) == (2, 1, 1)
    assert (m["delivery.after_horizon"], m["delivery.unexpected"]) == (1, 0)
    # Within the horizon, the same receipt is a late delivery.
    m = analyse(events, horizon_s=60.0).metrics["p"]
    assert (m["delivery.received"], m["delivery.late"], m["delivery.after_horizon"]) == (2, 1, 0)
