"""Expectations → verdicts."""
import pytest

from harness.expect import judge, parse

EVIDENCE = {"publish.scheduled": 10, "delivery.expected": 20}
METRICS = {"steady": {"delivery.latency_ms.p99": 10.0, "publish.success_rate": 1.0, **EVIDENCE},
           "slow": {"delivery.latency_ms.p99": 215.0, "publish.success_rate": None, **EVIDENCE}}


@pytest.mark.parametrize("text, passed", [
    ("steady: publish.success_rate >= 0.99", True),
    ("steady: publish.success_rate < 0.99", False),
    ("slow: delivery.latency_ms.p99 >= steady.delivery.latency_ms.p99 + 150", True),
    ("slow: delivery.latency_ms.p99 >= steady.delivery.latency_ms.p99 + 250", False),
    ("slow: delivery.latency_ms.p99 > steady.delivery.latency_ms.p99 - 5", True),
    ("steady: delivery.latency_ms.p99 == 10", True),
    ("steady: delivery.latency_ms.p99 != 10", False),
])
def test_judge(text, passed):
    verdict = judge(parse(text, {"steady", "slow"}), METRICS)
    assert verdict.passed is passed
    assert verdict.evidence


def test_missing_value_fails_with_evidence():
    verdict = judge(parse("slow: publish.success_rate >= 0.5", {"steady", "slow"}), METRICS)
    assert not verdict.passed and "no value" in verdict.evidence


@pytest.mark.parametrize("text, message", [
    ("steady publish.success_rate >= 1", "cannot read"),
    ("steady: publish.success_rate >= lots", "cannot read the value"),
    ("steady: speed >= 1", "unknown metric"),
    ("other: publish.ok >= 1", "unknown window 'other'"),
    (42, "must be a line"),
])
def test_parse_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse(text, {"steady"})
