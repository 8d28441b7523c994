"""The hunt on every system: targets the system has, trials and found scenarios that carry the system,
and `harness hunt --system NAME|FILE.yaml` (no Docker: the hunt itself is replaced)."""
from __future__ import annotations

import pytest

from harness import systems
from harness.faults.catalog import FAULT_KINDS
from harness.hunt import hunt as hunt_module
from harness.hunt.classify import GAP, TOLERATED, Classification, Impact, Thresholds
from harness.hunt.hunt import Gap, HuntConfig, HuntResult, TrialRecord, found_scenario
from harness.hunt.plan import Choice, Trial, explorable, plan
from harness.hunt.trial import scenario_text
from harness.scenario import loads

MISCONF = Trial((Choice("redis-misconf-unwritable-dir", "redis", 0),), 15.0)


def on_upstream(choice: Choice) -> bool:
    return FAULT_KINDS[choice.kind].family == "upstream" or choice.target.split(".")[-1] == "upstream"


def test_builtin_and_declared_systems_say_whether_they_use_the_upstream():
    assert systems.resolve("pusher-node").upstream and not systems.resolve("centrifugo").upstream
    assert systems.resolve("centrifugo").baseline_rules == "centrifugo-baseline"
    assert systems.resolve("pusher-node").baseline_rules == "baseline"
    assert not systems.resolve({"image": "x:1", "protocol": "pusher", "env": {"R": "redis://{redis}"}}).upstream
    assert systems.resolve({"image": "x:1", "protocol": "pusher", "env": {"U": "{upstream_host}"}}).upstream


@pytest.mark.parametrize("seed", range(1, 41))
def test_without_an_upstream_no_trial_acts_on_it(seed):
    trials = plan(seed, 3, 3600, upstream=False)
    assert trials and not [c.describe() for t in trials for c in t.faults if on_upstream(c)]
    for t in trials:
        t.specs(3)                                   # each still validates


def test_with_an_upstream_the_plan_is_unchanged_and_tries_it():
    assert plan(14, 2, 600) == plan(14, 2, 600, upstream=True)
    assert plan(14, 2, 600)[0].describe().startswith("upstream-slow")     # docs/hunt.md's measured hunt
    assert any(on_upstream(c) for t in plan(3, 3, 3600) for c in t.faults)


def test_seed_14_rediscovers_the_misconfigured_redis_second_on_centrifugo_too():
    assert plan(14, 2, 600, upstream=False)[1] == MISCONF


def test_kinds_acting_only_on_the_upstream_are_not_explorable_without_one():
    without = set(explorable(upstream=False))
    assert set(explorable()) - without == {"upstream-5xx", "upstream-slow"}


def test_trials_and_found_scenarios_carry_the_system(tmp_path):
    declared = {"image": "mine:1", "protocol": "pusher", "env": {"REDIS_URL": "redis://{redis}/0"}}
    for spec, name in (("centrifugo", "centrifugo"), (declared, "custom"), ("pusher-node", "pusher-node")):
        s = loads(scenario_text(MISCONF, "t01", "baseline", 2, Thresholds(), system=spec), tmp_path / "t01.yaml")
        assert s.system.name == name
    impact = [Impact("fault", "publish.success_rate", "<", 0.99, 0.01)]
    record = TrialRecord("t02", "explore", MISCONF, Classification(GAP, "", impact), 40.0)
    config = HuntConfig(14, 2, "centrifugo-baseline", tmp_path / "r.yml", 600, tmp_path, Thresholds(), "centrifugo")
    _, text = found_scenario(Gap(record, record, False), config, 1)
    found = loads(text, tmp_path / "found.yaml")
    assert found.system.name == "centrifugo" and found.monitoring.rule_set == "centrifugo-baseline"
    assert "harness hunt --seed 14 --rules centrifugo-baseline --system centrifugo" in found.description


@pytest.fixture
def hunted(monkeypatch):
    """`harness hunt` with the hunt replaced: the config it would run."""
    seen: list[HuntConfig] = []

    async def fake(config, log):
        seen.append(config)
        planned = plan(config.seed, config.nodes, config.budget_s, upstream=config.under_test().upstream)
        tolerated = TrialRecord("t01", "explore", planned[0], Classification(TOLERATED, "no impact, no alert"), 38.0)
        return HuntResult(config, [tolerated], planned=planned, stopped="the trial cap is reached")

    monkeypatch.setattr(hunt_module, "hunt", fake)
    return seen


def test_hunt_takes_a_builtin_system_and_its_baseline_rules(hunted, tmp_path, capsys):
    from harness.cli import main
    assert main(["hunt", "--system", "centrifugo", "--seed", "14", "--out", str(tmp_path / "h")]) == 0
    [config] = hunted
    assert config.system == "centrifugo" and config.rules == "centrifugo-baseline"
    assert config.rules_file.name == "centrifugo-baseline.yml"
    doc = (tmp_path / "h" / "hunt.json").read_text()
    assert '"system": "centrifugo"' in doc and "upstream-5xx" in doc.split('"not_explorable"')[1]


def test_hunt_takes_a_declaration_file(hunted, tmp_path):
    from harness.cli import main
    path = tmp_path / "mine.yaml"
    path.write_text("image: mine:1\nprotocol: pusher\nenv: {REDIS_URL: 'redis://{redis}/0'}\n")
    assert main(["hunt", "--system", str(path), "--rules", "hardened", "--out", str(tmp_path / "h")]) == 0
    [config] = hunted
    assert config.system["image"] == "mine:1" and config.rules == "hardened"
    assert not config.under_test().upstream


def test_hunt_refuses_a_bad_declaration_with_its_field(tmp_path, capsys):
    from harness.cli import main
    path = tmp_path / "mine.yaml"
    path.write_text("image: mine:1\nprotocol: mqtt\n")
    assert main(["hunt", "--system", str(path), "--out", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert f"hunt: --system: {path}: protocol: must be one of pusher, centrifugo" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "h").exists()
