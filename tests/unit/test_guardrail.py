"""abort_when guardrails: parsed strictly, judged only on a full window with publishes."""
import pytest

from harness.guardrail import abort_verdicts, parse, tripped


def test_parse():
    g = parse("publish.success_rate < 0.2 over 10s")
    assert (g.metric, g.op, g.threshold, g.over_s) == ("publish.success_rate", "<", 0.2, 10)


@pytest.mark.parametrize("text, message", [
    ("publish.success_rate < 0.2", "cannot read"),
    ("delivery.ratio < 0.2 over 10s", "unknown live metric 'delivery.ratio'; allowed: publish.success_rate"),
    ("publish.errors > 5 over 0s", "over: must be a duration from 1s"),
    (5, "cannot read"),
])
def test_parse_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse(text)


def test_trips_only_on_a_full_window_with_publishes():
    g = parse("publish.success_rate < 0.5 over 4s")
    failing = [(t / 10, False) for t in range(0, 100)]
    assert tripped(g, failing, now=3.0, since=0) is None          # the window is not full yet
    assert "publish.success_rate = 0 over the last 4 s" in tripped(g, failing, now=5.0, since=0)
    assert tripped(g, [], now=20.0, since=0) is None               # no publishes: no evidence, no abort
    healthy = [(t / 10, t % 3 != 0) for t in range(0, 100)]
    assert tripped(g, healthy, now=9.0, since=0) is None


def test_abort_events_become_failing_verdicts():
    (v,) = abort_verdicts([{"kind": "abort", "guardrail": "publish.errors > 1 over 1s", "reason": "tripped: x", "t": 1}])
    assert not v.passed and v.text == "abort_when: publish.errors > 1 over 1s" and v.evidence == "tripped: x"
