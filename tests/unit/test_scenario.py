"""Scenario validation: good files load, bad ones name file, line, field and what is allowed."""
from pathlib import Path

import pytest

from harness.duration import parse_duration
from harness.scenario import ScenarioError, load, loads

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
name: t
cluster: {nodes: 2}
phases:
  - name: steady
    duration: 2s
  - name: slow
    duration: 500ms
    faults:
      - kind: latency
        target: node2.redis
        latency: 100
expect:
  - "slow: delivery.latency_ms.p99 >= steady.delivery.latency_ms.p99 + 50"
"""


def test_every_scenario_in_the_library_is_valid():
    paths = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert paths, "no scenarios found"
    for path in paths:
        load(path)


def test_good_scenario_loads():
    s = loads(GOOD)
    assert [p.name for p in s.phases] == ["steady", "slow"]
    assert s.phases[1].duration_s == 0.5
    fault = s.phases[1].faults[0]
    assert fault.links(2) == ["node2_redis"] and fault.params == {"latency": 100, "jitter": 0}
    assert s.expectations[0].rhs.offset == 50


@pytest.mark.parametrize("old, new, message", [
    ("kind: latency", "kind: latncy", r"<scenario>:9: phases\[1\]\.faults\[0\]\.kind: unknown fault kind 'latncy'; allowed: .*latency"),
    ("target: node2.redis", "target: node7.redis", r":10: .*target: unknown target 'node7.redis'.*allowed: redis, upstream"),
    ("latency: 100", "latency: -5", r":11: .*latency: must be a number from 0"),
    ("latency: 100", "latency: 100\n        color: red", r":12: .*color: unknown parameter for latency; allowed:"),
    ("duration: 2s", "duration: soon", r":5: phases\[0\]\.duration: must be a duration"),
    ("{nodes: 2}", "{nodes: 9}", r":2: cluster\.nodes: must be from 1 to 3"),
    ("name: slow", "name: steady", r":6: phases\[1\]\.name: phase name 'steady' is used twice"),
    ('"slow: delivery', '"fast: delivery', r":13: expect\[0\]: unknown window 'fast'; allowed: slow, steady, run"),
    ("delivery.latency_ms.p99 >=", "latency >=", r":13: expect\[0\]: unknown metric 'latency'"),
])
def test_errors_name_line_field_and_allowed_values(old, new, message):
    with pytest.raises(ScenarioError, match=message):
        loads(GOOD.replace(old, new, 1))


def test_unknown_top_level_field():
    with pytest.raises(ScenarioError, match=r":1: colour: unknown field; allowed: cluster, description"):
        loads("colour: red\n" + GOOD)


def test_not_yaml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"x.yaml:3: not valid YAML"):
        loads("name: a\nphases: [\n", Path("x.yaml"))
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text, seconds", [(10, 10.0), ("10s", 10.0), ("500ms", 0.5), ("2m", 120.0), ("x", None), (True, None)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_rules_override_replaces_the_files_rule_set_and_checks_its_alerts():
    baseline = load(ROOT / "scenarios" / "incident-ap4-baseline.yaml")
    hardened = load(ROOT / "scenarios" / "incident-ap4-baseline.yaml", rules="hardened")
    assert baseline.monitoring.rule_set == "baseline" and hardened.monitoring.rule_set == "hardened"
    assert "RedisRefusingCommands" in hardened.monitoring.alerts
    assert loads(GOOD, rules="baseline").monitoring.rule_set == "baseline"   # monitoring turned on
    with pytest.raises(ScenarioError, match="rule set 'baseline' has no alert 'RedisCacheErrors'"):
        load(ROOT / "scenarios" / "incident-ap4-hardened.yaml", rules="baseline")
