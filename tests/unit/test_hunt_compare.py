"""`harness compare HUNT_A HUNT_B`: two hand-made hunts of one seed, baseline and hardened, trial by trial."""
from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.hunt import compare, report
from harness.hunt.classify import DETECTED, GAP, TOLERATED, Classification, Impact, Thresholds
from harness.hunt.hunt import HuntConfig, HuntResult, TrialRecord
from harness.hunt.plan import Choice, Trial

MISCONF = Trial((Choice("redis-misconf-unwritable-dir", "redis", 0),), 15.0)
SLOW = Trial((Choice("slow_close", "redis", 1),), 15.0)
IMPACT = [Impact("fault", "publish.success_rate", "<", 0.99, 0.04)]


def alert(name, firing):
    return {"alert": name, "labels": {}, "pending_after_s": 0.0, "firing_after_s": firing, "notified_after_s": None}


def hunt_dir(tmp_path, rules, misconf: Classification, extra: TrialRecord | None = None):
    out = tmp_path / rules
    out.mkdir()
    records = [TrialRecord("t01", "explore", SLOW, Classification(TOLERATED, "no impact, no alert"), 38.0),
               TrialRecord("t02", "explore", MISCONF, misconf, 41.0)] + ([extra] if extra else [])
    config = HuntConfig(14, 2, rules, out / "r.yml", 300, out, Thresholds(), "centrifugo")
    report.write(HuntResult(config, records, stopped="the trial cap is reached"))
    return out


def baseline_and_hardened(tmp_path):
    metrics = {"fault": {"publish.success_rate": 0.04}}
    a = hunt_dir(tmp_path, "centrifugo-baseline",
                 Classification(GAP, "customers hurt", IMPACT, [alert("RedisDown", None)], None, True, True, metrics,
                                {"health": {"answers": 52, "ok": 52}}),
                 TrialRecord("t03", "shrink", Trial(MISCONF.faults, 10.0), Classification(GAP, "", IMPACT), 35.0, "t02"))
    b = hunt_dir(tmp_path, "centrifugo-hardened",
                 Classification(DETECTED, "fired", IMPACT, [alert("CentrifugoPublishErrors", 1.5), alert("RedisDown", None)],
                                1.5, True, True, metrics))
    return a, b


def test_two_hunts_trial_by_trial_name_the_closed_gap_and_the_alerts(tmp_path, capsys):
    a, b = baseline_and_hardened(tmp_path)
    # A hunt's directory, or its hunt.json.
    assert main(["compare", str(a), str(b / "hunt.json"), "--out", str(tmp_path / "cmp")]) == 0
    text = capsys.readouterr().out
    assert "A: seed 14, rules centrifugo-baseline, centrifugo" in text
    assert "trial t02: redis-misconf-unwritable-dir on redis, 15 s" in text
    rows = {}
    for line in text.split("trial t02")[1].split("trial t03")[0].strip().splitlines()[1:]:
        label, *cells = [c for c in line.strip().split("  ") if c]
        rows[label] = [c.strip() for c in cells]
    assert rows["class"] == ["gap", "detected"]
    assert rows["detected after"] == ["–", "1.5 s"]
    assert rows["alerts fired"] == ["none", "CentrifugoPublishErrors"]     # RedisDown only pending: not fired
    assert rows["health green"] == ["yes (health 52/52 ok)", "yes"] and rows["publish success %"] == ["4.00", "4.00"]
    assert "gaps B closed (gap in A, detected in B): t02" in text
    # Reported gaps are confirmed ones (these hand-made hunts confirmed none), not trials classed gap.
    assert [l.split() for l in text.splitlines() if l.startswith("gaps reported")] == [["gaps", "reported", "0", "0"]]
    assert "gaps B opened (detected in A, gap in B): none" in text
    assert "alerts only B fired: CentrifugoPublishErrors" in text and "alerts only A fired: none" in text
    assert "trial t03" in text and "(no such trial)" in text             # a shrink trial only A ran
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert "a gap in A that B detects" in html and "only B fired: CentrifugoPublishErrors" in html
    assert html.count("<h2>") == 3


def test_different_seeds_or_faults_are_said_not_hidden():
    one = {"seed": 14, "rules": "baseline", "system": "pusher-node",
           "trials": [{"name": "t01", "describe": "pause on redis, 15 s", "class": GAP, "alerts": []}]}
    two = {**one, "seed": 15, "trials": [{"name": "t01", "describe": "kill on node1, 15 s", "class": DETECTED,
                                          "alerts": [alert("TargetDown", 3.0)]}]}
    c = compare.compare_hunts(one, two)
    assert c["closed"] == [] and not c["trials"][0]["same_faults"]       # not the same trial: nothing closed
    text = compare.render_text(c)
    assert "note: the seeds differ (14, 15)" in text and "(different faults)" in text


def test_a_hunt_beside_a_run_or_a_broken_hunt_json_exits_2(tmp_path, capsys):
    a, _ = baseline_and_hardened(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    (run / "journal.jsonl").write_text("")
    assert main(["compare", str(a), str(run), "--out", str(tmp_path / "c")]) == 2
    assert f"{a} is a hunt and {run} is not" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "hunt.json").write_text(json.dumps({"seed": 1, "rules": "x", "system": "y", "trials": [{"name": "t01"}]}))
    assert main(["compare", str(a), str(broken), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "trials[0]: not a hunt trial" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("trials, said", [
    (5, "trials: a list of trials, got int"),
    ([{"name": "t01", "describe": "d", "class": "gap", "alerts": "A"}], "trials[0].alerts: a list of objects"),
    ([{"name": "t01", "describe": "d", "class": 3, "alerts": []}], "trials[0]: name and class are text"),
])
def test_a_hunt_json_of_the_wrong_shape_exits_2_naming_the_field(tmp_path, capsys, trials, said):
    a, _ = baseline_and_hardened(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "hunt.json").write_text(json.dumps({"seed": 1, "rules": "x", "system": "y", "trials": trials}))
    assert main(["compare", str(a), str(broken), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.splitlines()) == 1
