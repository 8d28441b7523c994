"""Confirming a gap: the minimised trial run once more must be a gap with the same impact, or the gap is
`unconfirmed` (no scenario written). The rule on hand-made classes and journals; the hunt loop with its
cluster replaced by a bench whose trials have scripted classes."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.hunt import hunt as hunt_module
from harness.hunt.classify import DETECTED, GAP, NO_EVIDENCE, TOLERATED, Classification, Impact, Thresholds
from harness.hunt.confirm import CONFIRMED, NOT_REPRODUCED, NOT_RERUN, confirmation
from harness.hunt.plan import Trial
from harness.hunt.trial import TrialResult
from tests.unit.test_hunt_classify import T, Trial as Journal

SLOW_RECOVERY = Impact("recover", "delivery.latency_ms.p99", ">", 1000.0, 1353.0)
REFUSED = Impact("fault", "publish.success_rate", "<", 0.99, 0.03)


def gap(*impact: Impact) -> Classification:
    return Classification(GAP, "customers hurt, no alert firing within 20 s", list(impact))


def test_a_gap_again_with_the_same_impact_is_confirmed_naming_both_values():
    c = confirmation(gap(REFUSED, SLOW_RECOVERY), gap(Impact("fault", "publish.success_rate", "<", 0.99, 0.05)))
    assert c.status == CONFIRMED and [mine for mine, _ in c.shared] == [REFUSED]
    assert c.reason == "reproduced: fault: publish.success_rate = 0.03, then 0.05 (< 0.99)"


@pytest.mark.parametrize("again, status, said", [
    (Classification(TOLERATED, "no customer impact, no alert"), NOT_REPRODUCED,
     "not reproduced: the confirm trial was tolerated (no customer impact, no alert)"),
    (Classification(DETECTED, "A firing 2.0 s after", [SLOW_RECOVERY]), NOT_REPRODUCED, "the confirm trial was detected"),
    # The same metric in another phase is another harm: the scenario's expectation would not have held twice.
    (gap(Impact("fault", "delivery.latency_ms.p99", ">", 1000.0, 1100.0)), NOT_REPRODUCED,
     "hurt customers otherwise (fault: delivery.latency_ms.p99 = 1100 (> 1000)) than the gap (recover:"),
    (Classification(NO_EVIDENCE, "fault: 3 publish attempts (< 20)"), NOT_RERUN,
     "the confirm trial had no evidence: fault: 3 publish attempts"),
])
def test_anything_but_the_same_harm_unseen_again_leaves_the_gap_unconfirmed(again, status, said):
    c = confirmation(gap(SLOW_RECOVERY), again)
    assert c.status == status and said in c.reason and not c.shared


def test_on_journals_a_latency_spike_once_then_a_quiet_rerun_is_not_reproduced():
    """The incident of issue 15: delivery p99 over the SLO once (a loaded host), not in the re-run."""
    first, again = Journal(slow=1.5).classify(), Journal().classify()
    assert first.cls == GAP and [i.metric for i in first.impact] == ["delivery.latency_ms.p99"]
    assert confirmation(first, again).status == NOT_REPRODUCED and again.cls == TOLERATED
    assert confirmation(first, Journal(slow=1.2).classify()).status == CONFIRMED
    # Refused publishes in the re-run are harm too, but not the gap's: not a confirmation of it.
    assert confirmation(first, Journal(failing=0.5).classify(T)).status == NOT_REPRODUCED


class ScriptedBench:
    """The hunt's bench without a cluster: each run of a trial returns the next class scripted for its
    faults' description (the last one repeats); unscripted trials are tolerated."""

    script: dict[str, list[Classification]] = {}

    def __init__(self, *args, **kwargs):
        self.cluster, self.recreated, self.projects, self.runs = None, 0, ["hx-fake"], []

    async def up(self) -> None:
        pass

    async def down(self) -> None:
        pass

    async def ensure_steady(self, force: bool = False) -> bool:
        return False

    async def run(self, trial: Trial, name: str, out_dir: Path) -> TrialResult:
        self.runs.append(trial)
        classes = self.script.get(trial.describe(), [Classification(TOLERATED, "no customer impact, no alert")])
        return TrialResult(out_dir, [{"kind": "scripted", "class": classes[min(self.runs.count(trial), len(classes)) - 1]}], 30.0)


@pytest.fixture
def scripted(monkeypatch, tmp_path):
    """Run `harness hunt --seed 14 [--max-trials N] [--budget B]` on the scripted bench: (exit status,
    hunt.json, what it printed: stderr then stdout)."""
    monkeypatch.setattr(hunt_module, "Bench", ScriptedBench)
    monkeypatch.setattr(hunt_module, "classify", lambda events, t: events[0]["class"])
    first = hunt_module.plan(14, 2, 600)[0].describe()     # upstream-slow on upstream (ms=5000), 15 s

    def run(capsys, max_trials: int | None, *classes: Classification, budget: str = "10m") -> tuple[int, dict, str]:
        from harness.cli import main
        ScriptedBench.script = {first: list(classes)}
        cap = ["--max-trials", str(max_trials)] if max_trials is not None else []
        code = main(["hunt", "--seed", "14", "--budget", budget, *cap, "--out", str(tmp_path / "h")])
        said = capsys.readouterr()   # progress lines on stderr, then the summary on stdout
        return code, json.loads((tmp_path / "h" / "hunt.json").read_text()), said.err + said.out
    return run


def test_a_gap_not_reproduced_by_its_confirm_trial_is_unconfirmed_with_no_scenario(scripted, capsys, tmp_path):
    # Three trials: t01 the gap; exploring on leaves room for its confirm trial, so t02 explores, t03 confirms.
    code, doc, out = scripted(capsys, 3, gap(SLOW_RECOVERY), Classification(TOLERATED, "no customer impact, no alert"))
    assert [(t["name"], t["role"], t["parent"]) for t in doc["trials"]] == [
        ("t01", "explore", None), ("t02", "explore", None), ("t03", "confirm", "t01")]
    assert doc["trials"][2]["describe"] == doc["trials"][0]["describe"] and doc["gaps"] == []
    [u] = doc["unconfirmed"]
    assert (u["found_by"], u["confirmation"], u["confirmed_by"], u["scenario"]) == ("t01", NOT_REPRODUCED, "t03", None)
    assert u["shrink_complete"] is False and u["impact"] == [str(SLOW_RECOVERY)] and u["impact_twice"] == []
    assert not (tmp_path / "h" / "found").exists()
    assert "UNCONFIRMED t01: upstream-slow on upstream (ms=5000), 15 s" in out
    assert "not reproduced: the confirm trial was tolerated (no customer impact, no alert) (t03)" in out
    assert "\nt03 not reproduced: the confirm trial was tolerated" in out and "not reproduced: not" not in out
    assert "gaps confirmed 0, unconfirmed 1" in out and out.rstrip().splitlines()[-2] == "no gap confirmed (1 unconfirmed above)"
    page = (tmp_path / "h" / "hunt.html").read_text()
    assert "confirm of t01" in page and "not reproduced: the confirm trial was tolerated" in page
    assert code == 0      # a refuted gap is no gap; the other trials reached a class


def test_a_reproduced_gap_is_reported_and_written_with_the_impact_seen_twice(scripted, capsys, tmp_path):
    again = gap(Impact("recover", "delivery.latency_ms.p99", ">", 1000.0, 2100.0))
    code, doc, out = scripted(capsys, 3, gap(SLOW_RECOVERY), again)
    [g] = doc["gaps"]
    assert (g["confirmation"], g["confirmed_by"], doc["unconfirmed"]) == (CONFIRMED, "t03", [])
    assert g["impact_twice"] == ["recover: delivery.latency_ms.p99 = 1353, then 2100 (> 1000)"]
    scenario = (tmp_path / "h" / g["scenario"]).read_text()
    assert "recover: delivery.latency_ms.p99 > 1000" in scenario and "confirmed by trial t03" in scenario
    assert "confirmed (t03): recover: delivery.latency_ms.p99 = 1353, then 2100 (> 1000)" in out
    assert code == 1


def test_a_gap_the_cap_leaves_no_room_to_confirm_is_unconfirmed_and_no_verdict(scripted, capsys, tmp_path):
    code, doc, out = scripted(capsys, 1, gap(SLOW_RECOVERY))
    [u] = doc["unconfirmed"]
    assert u["confirmation"] == NOT_RERUN and u["confirmed_by"] is None and len(doc["trials"]) == 1
    assert u["confirmation_reason"] == "not re-run: the trial cap is reached before it could be confirmed"
    assert code == 3 and not (tmp_path / "h" / "found").exists()


def test_shrinking_stops_while_the_confirm_trial_still_fits(scripted, capsys, monkeypatch):
    """A one-trial plan and a cap of 3: t01 the gap, t02 one milder candidate (not a gap), then the
    shorter candidate would take the confirm trial's place: shrinking stops, t03 confirms."""
    whole = hunt_module.plan
    monkeypatch.setattr(hunt_module, "plan", lambda *args, **kwargs: whole(*args, **kwargs)[:1])
    code, doc, _ = scripted(capsys, 3, gap(SLOW_RECOVERY))
    assert [(t["role"], t["parent"]) for t in doc["trials"]] == [("explore", None), ("shrink", "t01"), ("confirm", "t01")]
    [g] = doc["gaps"]
    assert (g["minimal_by"], g["shrink_complete"], g["confirmed_by"]) == ("t01", False, "t03") and code == 1


def test_a_repeat_of_an_unconfirmed_gap_is_listed_as_the_same_and_unconfirmed():
    from harness.hunt.hunt import Gap, TrialRecord, _repeated
    from harness.hunt.confirm import Confirmation
    trial = hunt_module.plan(14, 2, 600)[0]
    record = lambda name: TrialRecord(name, "explore", trial, gap(SLOW_RECOVERY), 30.0)
    refuted = Confirmation(NOT_REPRODUCED, "not reproduced: the confirm trial was tolerated (…)")
    gaps = [Gap(record("t01"), record("t01"), True, confirmation=refuted)]
    assert _repeated(record("t07"), gaps) and gaps[-1].same_as == "t01" and not gaps[-1].confirmed



def test_the_budget_plans_with_the_overhead_trials_have_shown_not_the_first_guess(scripted, capsys, monkeypatch):
    """Trials taking their phases plus 5 s, on a clock the bench moves: after t01 (a gap) 110 s are left.
    A shrink trial and the confirm trial after it need 2 × (35 + 5) + 15 = 95 s with the measured 5 s;
    with the 20 s first guessed, 125 s, which would not fit. So t02 shrinks, then t03 confirms."""
    clock = [0.0]
    monkeypatch.setattr(hunt_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    scripted_run = ScriptedBench.run

    async def taking_40_s(self, trial, name, out_dir):
        clock[0] += 40.0
        return replace(await scripted_run(self, trial, name, out_dir), seconds=40.0)
    monkeypatch.setattr(ScriptedBench, "run", taking_40_s)
    whole = hunt_module.plan
    monkeypatch.setattr(hunt_module, "plan", lambda *args, **kwargs: whole(*args, **kwargs)[:1])
    _, doc, _ = scripted(capsys, None, gap(SLOW_RECOVERY), budget="150s")
    assert [(t["role"], t["parent"]) for t in doc["trials"]] == [("explore", None), ("shrink", "t01"), ("confirm", "t01")]
