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
    from harness.params import load_variants
    paths = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert len(paths) >= 18, "the library has at least 18 scenarios"
    for path in paths:
        for scenario in load_variants(path):
            assert scenario.description.strip(), f"{path}: the description says the customer-visible question"


def test_good_scenario_loads():
    s = loads(GOOD)
    assert [p.name for p in s.phases] == ["steady", "slow"]
    assert s.phases[1].duration_s == 0.5
    fault = s.phases[1].faults[0].spec
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
    with pytest.raises(ScenarioError, match=r":1: colour: unknown field; allowed: abort_when, cluster, description"):
        loads("colour: red\n" + GOOD)


def test_not_yaml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"x.yaml:3: not valid YAML"):
        loads("name: a\nphases: [\n", Path("x.yaml"))
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text, seconds", [(10, 10.0), ("10s", 10.0), ("500ms", 0.5), ("2m", 120.0), ("x", None), (True, None)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


TIMED = """\
name: t
seed: 7
cluster: {nodes: 3}
steady_state:
  duration: 3s
  expect:
    - "publish.success_rate >= 0.99"
abort_when: ["publish.success_rate < 0.2 over 10s"]
phases:
  - name: storm
    duration: 30s
    faults:
      - {kind: down, target: any-node.redis, at: 5s, for: 10s, flap: {on: 1s, off: 2s}}
    chaos:
      kinds: [pause]
      targets: [half-of-nodes]
      every: 5s..10s
      for: 1s..2s
expect:
  - "storm: delivery.duplicated == 0"
"""


def test_timing_chaos_seed_guardrails_and_steady_state_load():
    s = loads(TIMED)
    assert [p.name for p in s.phases] == ["steady-state-before", "storm", "steady-state-after"]
    assert s.phases[0].duration_s == 3 and s.seed == 7 and s.abort_when[0].over_s == 10
    assert [e.text for e in s.expectations] == ["steady-state-before: publish.success_rate >= 0.99",
                                                "storm: delivery.duplicated == 0",
                                                "steady-state-after: publish.success_rate >= 0.99"]
    assert [e.window for e in s.steady_state] == ["steady-state-before"]
    storm = s.phases[1]
    assert storm.faults[0].flap.on_s == 1 and storm.chaos.every == (5, 10)


@pytest.mark.parametrize("old, new, message", [
    ("at: 5s", "at: 50s", r":13: phases\[0\]\.faults\[0\]\.at: must be a duration from the phase's start"),
    ("off: 2s", "off: never", r":13: phases\[0\]\.faults\[0\]\.flap\.off: must be a duration"),
    ("kinds: [pause]", "kinds: [pause, explode]", r":15: phases\[0\]\.chaos\.kinds\[1\]\.kind: unknown fault kind"),
    ("every: 5s..10s", "every: soon", r":17: phases\[0\]\.chaos\.every: must be a duration or a range"),
    ("seed: 7", "seed: seven", r":2: seed: must be a non-negative integer"),
    ('"publish.success_rate < 0.2 over 10s"', '"publish.success_rate < 0.2"', r":8: abort_when\[0\]: cannot read"),
    ('    - "publish.success_rate >= 0.99"', '    - "storm: publish.success_rate >= 0.99"',
     r":7: steady_state\.expect\[0\]: must be '<metric> <op> <value>' without a window"),
    ("name: storm", "name: steady-state-after", r":10: phases\[0\]\.name: phase name 'steady-state-after' is used twice or reserved"),
])
def test_new_fields_errors_are_located(old, new, message):
    with pytest.raises(ScenarioError, match=message):
        loads(TIMED.replace(old, new, 1))


WORKLOAD = """\
name: w
cluster: {nodes: 2, redis_policy: degrade}
workload:
  apps: 2
  publish: {rate: 10}
  subscribe: {channels: presence, churn: 2/s, client_events: 1/s}
steady_state: {duration: 2s, expect: ["publish.success_rate >= 0.99"]}
phases:
  - {name: a, duration: 3s}
  - {name: b, duration: 4s, workload: {publish: {rate: 30}}}
  - {name: c, duration: 5s}
expect: ["run: delivery.duplicated == 0"]
"""


def test_workload_breadth_loads():
    s = loads(WORKLOAD)
    w = s.workload
    assert (w.apps, w.subscribe.channel_type, w.subscribe.churn_per_s, w.subscribe.client_events_per_s) == (2, "presence", 2, 1)
    # Offsets from the load's start: the steady-state window comes first, and goes back to the base rate.
    assert w.phase_rates == ((0, 10), (2, 10), (5, 30), (9, 10), (14, 10))
    assert {k: s.cluster_args()[k] for k in ("nodes", "redis_policy", "upstream_policy")} == {
        "nodes": 2, "redis_policy": "degrade", "upstream_policy": "strict"}


@pytest.mark.parametrize("old, new, message", [
    ("apps: 2", "apps: 4", r":4: workload\.apps: must be from 1 to 3"),
    ("channels: presence", "channels: secret", r":6: workload\.subscribe\.channels: must be one of public, private, presence"),
    ("churn: 2/s", "churn: often", r":6: workload\.subscribe\.churn: must be a rate like 2/s"),
    ("channels: presence, ", "", r":6: workload\.subscribe\.client_events: client events need channels: private or presence"),
    ("rate: 30", "rate: 0", r":10: phases\[1\]\.workload\.publish\.rate: must be from 0.1 to 5000"),
    ("{publish: {rate: 30}}", "{subscribe: {}}", r":10: phases\[1\]\.workload\.subscribe: unknown field; allowed: publish"),
    ("redis_policy: degrade", "redis_policy: lenient", r":2: cluster\.redis_policy: unknown policy .lenient.; allowed: strict, degrade"),
])
def test_workload_errors_are_located(old, new, message):
    with pytest.raises(ScenarioError, match=message):
        loads(WORKLOAD.replace(old, new, 1))


SLOW = """\
name: slow
cluster: {nodes: 2}
workload:
  subscribe:
    slow_readers:
      - {node: node1, at: 0s, for: 6s}
      - {node: node2, at: 3s, for: 13s}
phases: [{name: a, duration: 20s}]
expect: ["run: delivery.duplicated == 0"]
"""


def test_slow_readers_load():
    from harness.scenario import SlowReader
    assert loads(SLOW).workload.subscribe.slow_readers == (SlowReader("node1", 0, 6), SlowReader("node2", 3, 13))


@pytest.mark.parametrize("old, new, message", [
    ("node: node2", "node: node3", r":7: workload\.subscribe\.slow_readers\[1\]\.node: unknown node .node3.; allowed: node1, node2"),
    ("for: 13s", "for: 16s", r":7: workload\.subscribe\.slow_readers\[1\]\.for: at most 15s: a longer pause trips"),
    ("at: 3s", "at: 8s", r":7: workload\.subscribe\.slow_readers\[1\]\.for: the pause ends at 21s, after the phases' 20s"),
    ("at: 0s", "at: soon", r":6: workload\.subscribe\.slow_readers\[0\]\.at: must be a duration"),
    (", for: 6s}", "}", r":6: workload\.subscribe\.slow_readers\[0\]: missing required field 'for'"),
    ("    slow_readers:\n      - {node: node1, at: 0s, for: 6s}\n      - {node: node2, at: 3s, for: 13s}",
     "    slow_readers: []", r":5: workload\.subscribe\.slow_readers: must be a list like"),
])
def test_slow_reader_errors_are_located(old, new, message):
    assert old in SLOW
    with pytest.raises(ScenarioError, match=message):
        loads(SLOW.replace(old, new, 1))


def test_rules_override_replaces_the_files_rule_set_and_checks_its_alerts():
    baseline = load(ROOT / "scenarios" / "incident-ap4-baseline.yaml")
    hardened = load(ROOT / "scenarios" / "incident-ap4-baseline.yaml", rules="hardened")
    assert baseline.monitoring.rule_set == "baseline" and hardened.monitoring.rule_set == "hardened"
    assert "RedisRefusingCommands" in hardened.monitoring.alerts
    assert loads(GOOD, rules="baseline").monitoring.rule_set == "baseline"   # monitoring turned on
    with pytest.raises(ScenarioError, match="rule set 'baseline' has no alert 'RedisCacheErrors'"):
        load(ROOT / "scenarios" / "incident-ap4-hardened.yaml", rules="baseline")


@pytest.mark.parametrize("extra, message", [
    # The journal keys faults by name: a second fault of the same name would be merged into the first
    # (its injection, confirmation and phase lost), so its phase would be judged as if it were faulted.
    ("      - {kind: latency, target: redis, latency: 50, name: slow-1}",
     r":12: phases\[1\]\.faults\[1\]\.name: fault name 'slow-1' is used twice"),
    ("  - {name: again, duration: 1s, faults: [{kind: pause, target: redis, name: slow-1}]}",
     r":12: phases\[2\]\.faults\[0\]\.name: fault name 'slow-1' is used twice"),
    ("  - {name: again, duration: 9s, faults: [{kind: pause, target: redis, name: f, at: 1s, for: 8s, "
     "flap: {on: 1s, off: 1s}}, {kind: pause, target: upstream, name: f.2}]}",
     r"phases\[2\]\.faults\[1\]\.name: fault name 'f.2' is used twice \(a flap's or a chaos schedule's"),
])
def test_fault_names_are_unique(extra, message):
    text = GOOD.replace("        latency: 100\n", "        latency: 100\n" + extra + "\n", 1)
    with pytest.raises(ScenarioError, match=message):
        loads(text)


@pytest.mark.parametrize("line, rules, message", [
    # A probe or an alert that does not exist can only fail, and only after the whole run: a typo is bad input.
    ("slow: probe.helth.ok_ratio == 1", None, r":14: expect\[1\]: no probe 'helth'; the probes are health, ready"),
    ("slow: delivery.ratio == 1 and probe.x.answers > 0", None, r":14: expect\[1\]: no probe 'x'"),
    ("slow: alert.RedisDown.fired == 0", None, r":14: expect\[1\]: alert metrics need cluster: \{monitoring: true\}"),
    ("slow: alert.NoSuch.fired == 0", "baseline", r":14: expect\[1\]: rule set 'baseline' has no alert 'NoSuch'; it has: "),
])
def test_probe_and_alert_metrics_name_what_exists(line, rules, message):
    text = GOOD + f'  - "{line}"\n'
    with pytest.raises(ScenarioError, match=message):
        loads(text, rules=rules)
    assert loads(text.replace("helth", "health").replace("probe.x.", "probe.ready.").replace("NoSuch", "RedisDown"),
                 rules="baseline")


def test_a_journal_of_a_run_with_rules_given_on_the_command_line_is_rejudged_with_monitoring():
    # `harness run --rules baseline S.yaml` turns monitoring on for a file without it; its journal records
    # the rule set, and `harness report` must judge the run as it ran (alert lines, the alerts section).
    text = GOOD + '  - "alert RedisDown silent during steady"\n'
    ran = loads(text, rules="baseline")
    recorded = {"rule_set": "baseline", "rules_file": str(ran.monitoring.rules_file), "alerts": list(ran.monitoring.alerts)}
    again = loads(text, recorded_alerts=recorded)
    assert again.monitoring is not None and again.monitoring.alerts == ran.monitoring.alerts
