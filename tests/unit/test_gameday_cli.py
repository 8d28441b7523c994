"""`harness gameday`: its scenario, its menu, and bad input refused before anything starts (exit 2)."""
from pathlib import Path

import pytest

from harness import cli
from harness.gameday.session import INVARIANT, PHASE, Plan, commands, load_menu, scenario
from harness.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
AP4 = ROOT / "scenarios" / "incident-ap4-hardened.yaml"


def test_the_game_day_scenario():
    s = scenario(Plan(nodes=2, rate=10, for_s=90, rules="hardened"))
    assert (s.name, s.nodes, [(p.name, p.duration_s) for p in s.phases]) == (PHASE, 2, [(PHASE, 90.0)])
    assert s.workload.publish.shape.rate == 10 and [e.text for e in s.expectations] == [INVARIANT]
    assert s.monitoring.rule_set == "hardened" and "RedisCacheErrors" in s.monitoring.alerts
    assert scenario(Plan()).monitoring is None
    assert scenario(Plan()).system.name == "pusher-node"
    assert scenario(Plan(system="centrifugo")).system.protocol == "centrifugo"
    degraded = scenario(Plan(redis_policy="degrade"))
    assert (degraded.redis_policy, degraded.upstream_policy) == ("degrade", "strict")


def test_a_scenario_as_menu():
    menu = load_menu(str(AP4), 3)
    assert [m.name for m in menu] == ["upstream-unreachable", "redis-slow", "redis-misconfig"]
    lines = commands("hx-x", menu)
    assert "  harness fault inject latency --project hx-x --target redis --name redis-slow --param latency=50 " \
           "--param jitter=0" in lines
    assert "  harness fault inject redis-misconf-unwritable-dir --project hx-x --target redis --name redis-misconfig" in lines


def test_a_menu_that_does_not_fit_the_cluster(tmp_path):
    path = tmp_path / "three.yaml"
    path.write_text("name: three\ncluster: {nodes: 3}\nphases:\n  - {name: p, duration: 5s, faults: "
                    "[{kind: pause, target: node3, name: freeze}]}\nexpect: ['run: delivery.duplicated == 0']\n")
    with pytest.raises(ScenarioError, match="fault freeze does not fit a 2-node game day: target: unknown target 'node3'"):
        load_menu(str(path), 2)


@pytest.mark.parametrize("args, message", [
    (["--for", "1s"], "--for must be a duration from 5s to 24h"),
    (["--for", "soon"], "--for must be a duration from 5s to 24h"),
    (["--rate", "0"], "--rate must be from 0.1 to 5000"),
    (["--faults", "nowhere.yaml"], "nowhere.yaml: cannot read scenario"),
    (["--rules", "nosuch"], "unknown rule set 'nosuch'"),
    (["--system", "nosuch"], "gameday: --system: unknown system 'nosuch'"),
    (["--system", "nowhere.yaml"], "gameday: --system: nowhere.yaml: cannot read the system declaration"),
])
def test_bad_input_exits_2_before_anything_starts(tmp_path, capsys, args, message):
    assert cli.main(["gameday", "--out", str(tmp_path / "out"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_run_directory_is_never_reused(tmp_path, capsys):
    (tmp_path / "gameday").mkdir()
    (tmp_path / "gameday" / "journal.jsonl").write_text("")
    assert cli.main(["gameday", "--out", str(tmp_path)]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_an_unknown_policy_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["gameday", "--redis-policy", "lenient"])
    assert exit_.value.code == 2 and "invalid choice: 'lenient'" in capsys.readouterr().err
