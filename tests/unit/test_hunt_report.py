"""The hunt's outputs from a hand-made result: hunt.json's shape, the terminal summary, hunt.html."""
from __future__ import annotations

import json

from harness.hunt import report
from harness.hunt.classify import DETECTED, GAP, NO_EVIDENCE, TOLERATED, Classification, Impact, Thresholds
from harness.hunt.confirm import confirmation
from harness.hunt.hunt import Gap, HuntConfig, HuntResult, TrialRecord, evidenced
from harness.hunt.plan import Choice, Trial

MISCONF = Trial((Choice("redis-misconf-unwritable-dir", "redis", 0),), 15.0)
PARTITION = Trial((Choice("partition", "node1", 0),), 15.0)


def result(tmp_path) -> HuntResult:
    impact = [Impact("fault", "publish.success_rate", "<", 0.99, 0.04)]
    gap = TrialRecord("t01", "explore", MISCONF, Classification(GAP, "customers hurt, no alert", impact), 39.5)
    small = TrialRecord("t03", "shrink", Trial(MISCONF.faults, 5.0), Classification(GAP, "same", impact), 41.0, "t01")
    seen = TrialRecord("t02", "explore", PARTITION,
                       Classification(DETECTED, "TargetDown firing 11.1 s after", impact, detected_after_s=11.1), 36.0)
    again = TrialRecord("t04", "confirm", small.trial, Classification(GAP, "again", impact), 40.0, "t03")
    config = HuntConfig(14, 2, "baseline", tmp_path / "b.yml", 600, tmp_path, Thresholds())
    confirmed = Gap(gap, small, True, scenario=tmp_path / "found" / "found-1-x.yaml",
                    confirmation=confirmation(small.classification, again.classification), confirmed_by=again)
    return HuntResult(config, [gap, seen, small, again], [confirmed], [MISCONF, PARTITION], wall_s=123.4,
                      stopped="the budget is spent")


def test_hunt_json_holds_trials_gaps_thresholds_and_coverage(tmp_path):
    doc = report.write(result(tmp_path))
    assert json.loads((tmp_path / "hunt.json").read_text()) == doc
    assert doc["classes"] == {"gap": 3, "detected": 1} and doc["thresholds"]["deadline_s"] == 20.0
    [gap] = doc["gaps"]
    assert gap["minimal_by"] == "t03" and gap["minimal"]["fault_s"] == 5.0 and gap["scenario"] == "found/found-1-x.yaml"
    assert (gap["confirmation"], gap["confirmed_by"], doc["unconfirmed"]) == ("confirmed", "t04", [])
    assert doc["coverage"]["kinds_tried"] == ["partition", "redis-misconf-unwritable-dir"]
    assert "recreate-env" in doc["coverage"]["not_explorable"] and "latency" in doc["coverage"]["not_tried"]
    assert doc["trials"][1]["detected_after_s"] == 11.1 and doc["trials"][2]["parent"] == "t01"


def test_terminal_summary_and_page_name_the_minimised_gap(tmp_path):
    doc = report.to_json(result(tmp_path))
    text = report.terminal(doc)
    assert "4 trials in 123 s (budget 600 s; the budget is spent)" in text
    assert "classes: detected 1, gap 3, noise 0, tolerated 0, no-evidence 0" in text
    assert "minimised (t03): redis-misconf-unwritable-dir on redis, 5 s" in text
    assert "confirmed (t04): fault: publish.success_rate = 0.04, then 0.04 (< 0.99)" in text
    assert "DETECTED t02: partition on node1, 15 s after 11.1 s" in text
    page = report.render_html(doc)
    assert page.count("<tr>") == 5 and "trials/t03/report.html" in page and "confirm of t03" in page and "found/found-1-x.yaml" in page


def test_bad_hunt_flags_exit_2_with_one_line_and_start_nothing(tmp_path, capsys):
    from harness.cli import main
    (tmp_path / "old" / "trials").mkdir(parents=True)
    for argv, message in [
        (["--budget", "5s"], "--budget must be a duration from 1m to 24h"),
        (["--deadline", "soon"], "--deadline must be a duration"),
        (["--system", "soketi"], "--system: unknown system 'soketi'; allowed: pusher-node, centrifugo"),
        (["--success-rate", "1.5"], "--success-rate must be from 0 (exclusive) to 1"),
        (["--rules", "nope"], "--rules: unknown rule set 'nope'"),
        (["--out", str(tmp_path / "old")], "already holds a hunt"),
    ]:
        assert main(["hunt", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_no_gap_found_is_a_finding_only_when_some_trial_reached_a_class(tmp_path):
    config = HuntConfig(14, 2, "baseline", tmp_path / "b.yml", 600, tmp_path, Thresholds())
    blind = HuntResult(config, [TrialRecord("t01", "explore", PARTITION, Classification(NO_EVIDENCE, "no run_end"), 30.0)])
    assert not evidenced(blind) and not evidenced(HuntResult(config))
    assert report.terminal(report.write(blind)).endswith("no gap found, but no trial reached a class: no evidence")
    seen = HuntResult(config, [TrialRecord("t01", "explore", PARTITION, Classification(TOLERATED, "nothing"), 30.0)])
    assert evidenced(seen) and report.terminal(report.write(seen)).endswith("\nno gap found")
