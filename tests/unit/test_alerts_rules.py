"""The Prometheus rule sets under promtool, and the scenario's monitoring section (no Docker).

promtool is Debian's (scripts/setup installs the prometheus package for it).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cluster.paths import COMPOSE_DIR
from harness.observe import rules
from harness.scenario import ScenarioError, loads

PROM = COMPOSE_DIR / "prometheus"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))
TEST_FILES = sorted((PROM / "tests").glob("*_test.yml"))
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (run scripts/setup)")


def promtool(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL or "promtool", *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_there_are_the_rule_sets_and_a_test_file_for_each():
    assert [p.stem for p in RULE_FILES] == ["baseline", "centrifugo-baseline", "centrifugo-hardened", "hardened"]
    assert [p.name for p in TEST_FILES] == [f"{p.stem}_test.yml" for p in RULE_FILES]


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_promtool_check_rules(path):
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.stem)
def test_promtool_test_rules(path):
    result = promtool("test", "rules", str(path.relative_to(PROM)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.stem)
def test_every_test_group_sets_its_interval(path):
    # Prometheus 2.42 runs a group without `interval` and can pass tests that should fail.
    for group in yaml.safe_load(path.read_text())["tests"]:
        assert "interval" in group, f"{path.name}: test {group.get('name')!r} has no interval"


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.stem)
def test_every_alert_has_a_test_that_expects_it_to_fire(rule_file):
    defined = set(rules.check(rule_file))
    tests = yaml.safe_load((PROM / "tests" / f"{rule_file.stem}_test.yml").read_text())
    fired = {case["alertname"] for group in tests["tests"] for case in group.get("alert_rule_test", [])
             if case.get("exp_alerts")}
    assert defined - fired == set(), f"alerts of {rule_file.name} no test expects to fire"


def test_promtool_fails_a_wrong_expectation(tmp_path):
    # The rule tests can fail: expect RedisDown on a Redis that is up.
    broken = yaml.safe_load((PROM / "tests" / "baseline_test.yml").read_text())
    broken["rule_files"] = [str(PROM / "rules" / "baseline.yml")]
    group = next(g for g in broken["tests"] if g["name"].startswith("a healthy cluster"))
    group["alert_rule_test"] = [{"eval_time": "60s", "alertname": "RedisDown",
                                 "exp_alerts": [{"exp_labels": {"severity": "page"}}]}]
    broken["tests"] = [group]
    path = tmp_path / "wrong_test.yml"
    path.write_text(yaml.safe_dump(broken))
    result = promtool("test", "rules", str(path))
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


@pytest.mark.parametrize("rule_set, nodes", [("baseline", 1), ("hardened", 3)])
def test_rendered_prometheus_config_passes_check_config(tmp_path, rule_set, nodes):
    env = dict(os.environ, PROM_NODES=str(nodes), PROM_RULES=str(PROM / "rules" / f"{rule_set}.yml"),
               PROM_SCRAPE_INTERVAL="1500ms", PROM_EVAL_INTERVAL="1s")
    rendered = subprocess.run(["sh", str(PROM / "entrypoint.sh"), "--render"], capture_output=True, text=True,
                              env=env, check=True).stdout
    config = yaml.safe_load(rendered)
    assert config["global"]["scrape_interval"] == "1500ms"
    assert config["scrape_configs"][0]["static_configs"][0]["targets"] == [f"node{i}:8080" for i in range(1, nodes + 1)]
    # The customer path: each node through its Toxiproxy client link, its samples dropped (only `up` kept).
    client_path = next(job for job in config["scrape_configs"] if job["job_name"] == "client_path")
    assert [(c["targets"], c["labels"]) for c in client_path["static_configs"]] == \
        [([f"toxiproxy:1800{i}"], {"node": f"node{i}"}) for i in range(1, nodes + 1)]
    assert client_path["metric_relabel_configs"] == [{"source_labels": ["__name__"], "regex": ".+", "action": "drop"}]
    (tmp_path / "prometheus.yml").write_text(rendered)
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config_waits_about_a_second():
    config = yaml.safe_load((COMPOSE_DIR / "alertmanager" / "alertmanager.yml").read_text())
    assert config["route"]["group_wait"] == "1s"
    assert config["receivers"][0]["webhook_configs"][0]["url"] == "http://alertsink:8080/hook"


# --- the scenario's monitoring section --------------------------------------------------------------

SCENARIO = """\
name: m
cluster:
  nodes: 1
{cluster}
phases:
  - name: steady
    duration: 5s
  - name: fault
    duration: 5s
    faults: [{{kind: latency, target: redis, latency: 100}}]
expect:
{expect}
"""


def scenario(cluster: str = "", expect: str = "  - \"alert RedisDown silent during steady\"", file: Path = Path("s.yaml")):
    return loads(SCENARIO.format(cluster=cluster, expect=expect), file)


def test_monitoring_is_off_by_default_and_rules_turn_it_on():
    assert scenario(expect="  - \"steady: publish.success_rate >= 0.9\"").monitoring is None
    m = scenario("  rules: hardened\n  scrape_interval: 2s").monitoring
    assert m.rule_set == "hardened" and m.scrape_interval_s == 2.0 and "RedisCacheErrors" in m.alerts
    assert m.cluster_args()["monitoring"] is True
    assert scenario("  monitoring: true").monitoring.rule_set == "baseline"


def test_alert_expectation_after_a_fault_by_its_default_name():
    s = scenario("  rules: hardened", "  - \"alert RedisCacheErrors fires within 10s after fault fault-1\"")
    assert s.expectations[0].anchor == "fault-1"


@pytest.mark.parametrize("cluster, expect, message", [
    ("", "  - \"alert RedisDown silent during steady\"", "s.yaml:12: expect[0]: alert expectations need cluster: {monitoring: true}"),
    ("  rules: hardened", "  - \"alert Nope silent during steady\"", "s.yaml:12: expect[0]: rule set 'hardened' has no alert 'Nope'"),
    ("  rules: gold", "  - \"alert RedisDown silent during steady\"", "s.yaml:4: cluster.rules: unknown rule set 'gold'; allowed: baseline, centrifugo-baseline, centrifugo-hardened, hardened"),
    ("  monitoring: false\n  rules: hardened", "  - \"steady: publish.ok >= 0\"", "cluster.rules: only meaningful with"),
    ("  monitoring: true\n  scrape_interval: 100ms", "  - \"steady: publish.ok >= 0\"", "cluster.scrape_interval: must be from 500ms to 15s"),
    ("  rules: hardened", "  - \"alert RedisDown fires within 5s after phase later\"", "unknown phase 'later'; allowed: fault, steady"),
])
def test_monitoring_errors_name_line_field_and_what_is_allowed(cluster, expect, message):
    with pytest.raises(ScenarioError) as info:
        scenario(cluster, expect)
    assert message in str(info.value)


def test_a_rule_file_with_a_syntax_error_is_refused_at_load(tmp_path):
    (tmp_path / "broken.yml").write_text("groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: up ==\n")
    with pytest.raises(ScenarioError, match=r"cluster.rules: .*broken.yml: promtool check rules refused it"):
        scenario("  rules: broken.yml", "  - \"steady: publish.ok >= 0\"", tmp_path / "s.yaml")


def test_harness_run_refuses_a_broken_rule_file_with_exit_2_before_any_container(tmp_path):
    (tmp_path / "broken.yml").write_text("groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: rate(up[\n")
    (tmp_path / "s.yaml").write_text(SCENARIO.format(cluster="  rules: broken.yml", expect="  - \"steady: publish.ok >= 0\""))
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "promtool check rules refused it" in result.stderr
    assert not (tmp_path / "out").exists()  # refused before the runner made anything


@pytest.mark.parametrize("rules_arg, message", [("gold", "unknown rule set 'gold'"), ("missing.yml", "cannot read rule file")])
def test_harness_up_refuses_a_bad_rule_set_with_exit_2(rules_arg, message, tmp_path):
    result = subprocess.run([sys.executable, "-m", "harness", "up", "--rules", rules_arg], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
