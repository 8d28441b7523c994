"""The explorer's plan (pure, seeded) and shrinking against hand-made gap predicates."""
from __future__ import annotations

import asyncio

from harness.faults.catalog import FAULT_KINDS
from harness.hunt.plan import DURATIONS_S, LADDERS, Choice, Trial, explorable, families, plan
from harness.hunt.shrink import candidates, shrink

MISCONF = Choice("redis-misconf-unwritable-dir", "redis", 0)
LATENCY = Choice("latency", "node1.redis", 3)


def test_the_plan_is_a_pure_function_of_seed_nodes_and_budget():
    assert plan(14, 2, 600) == plan(14, 2, 600)
    assert plan(14, 2, 600) != plan(15, 2, 600)
    assert plan(14, 2, 1200)[:len(plan(14, 2, 600))] == plan(14, 2, 600)     # more budget: same trials first


def test_the_first_round_tries_every_family_once_and_every_fault_validates():
    trials = plan(3, 3, 3600)
    first = [FAULT_KINDS[t.faults[0].kind].family for t in trials[:len(families())]]
    assert sorted(first) == sorted(families())
    for t in trials:
        assert t.fault_s == DURATIONS_S[-1]
        assert len(t.specs(3)) == len(t.faults)        # the catalogue's validation accepts each rung
    pairs = [t for t in trials if len(t.faults) == 2]
    assert pairs and all(FAULT_KINDS[t.faults[0].kind].family in ("toxic", "proxy", "upstream") for t in pairs)


def test_kinds_without_a_search_space_are_not_explored():
    assert "recreate-env" not in explorable() and "redis-config-set" not in explorable()
    assert set(explorable()) == set(LADDERS)
    for kind, ladder in LADDERS.items():            # every rung is valid for its kind
        for level in range(len(ladder)):
            Choice(kind, FAULT_KINDS[kind].targets if FAULT_KINDS[kind].targets in ("redis", "upstream")
                   else "redis", level).spec("x", 2)


def test_candidates_drop_faults_first_then_soften_then_shorten():
    pair = Trial((LATENCY, MISCONF), 15.0)
    assert candidates(pair) == [Trial((LATENCY,), 15.0), Trial((MISCONF,), 15.0),
                                Trial((Choice("latency", "node1.redis", 2), MISCONF), 15.0), Trial(pair.faults, 10.0)]
    assert candidates(Trial((MISCONF,), 5.0)) == []


def run_shrink(trial, is_gap, budget=100):
    calls = []

    async def still_gap(candidate):
        calls.append(candidate)
        return is_gap(candidate)

    result = asyncio.run(shrink(trial, still_gap, lambda: len(calls) < budget))
    return result, calls


def test_a_pair_shrinks_to_the_fault_that_alone_stays_a_gap_at_its_shortest():
    result, calls = run_shrink(Trial((LATENCY, MISCONF), 15.0),
                               lambda t: any(c.kind == MISCONF.kind for c in t.faults))
    assert result.minimal == Trial((MISCONF,), 5.0) and result.complete
    assert calls[0] == Trial((LATENCY,), 15.0)       # tried, not a gap alone: dropped from consideration
    assert [kept for _, kept in result.steps] == [False, True, True, True]


def test_magnitude_shrinks_to_the_mildest_rung_that_still_hurts():
    result, _ = run_shrink(Trial((LATENCY,), 15.0), lambda t: t.faults[0].level >= 2 and t.fault_s >= 10)
    assert result.minimal == Trial((Choice("latency", "node1.redis", 2),), 10.0)


def test_no_evidence_is_not_kept_and_the_budget_stops_shrinking_early():
    result, _ = run_shrink(Trial((MISCONF,), 15.0), lambda t: None)
    assert result.minimal == Trial((MISCONF,), 15.0) and result.complete
    result, calls = run_shrink(Trial((LATENCY, MISCONF), 15.0), lambda t: True, budget=2)
    assert len(calls) == 2 and not result.complete
    assert result.minimal == Trial((Choice("latency", "node1.redis", 2),), 15.0)


def test_a_found_gap_is_written_as_a_valid_scenario_expecting_impact_and_any_alert(tmp_path):
    from harness.hunt.classify import GAP, Classification, Impact, Thresholds
    from harness.hunt.hunt import Gap, HuntConfig, TrialRecord, found_scenario
    from harness.scenario import loads
    impact = [Impact("fault", "publish.success_rate", "<", 0.99, 0.18)]
    found = TrialRecord("t02", "explore", Trial((LATENCY, MISCONF), 15.0), Classification(GAP, "", impact), 30.0)
    minimal = TrialRecord("t05", "shrink", Trial((MISCONF,), 5.0), Classification(GAP, "", impact), 30.0, "t02")
    config = HuntConfig(14, 2, "baseline", tmp_path / "r.yml", 600, tmp_path, Thresholds(deadline_s=20))
    name, text = found_scenario(Gap(found, minimal, True), config, 1)
    s = loads(text, tmp_path / f"{name}.yaml")
    assert name == "found-1-redis-misconf-unwritable-dir"
    assert [e.text for e in s.expectations] == ["steady: publish.success_rate >= 0.99",
                                                "fault: publish.success_rate < 0.99",
                                                "alert * fires within 20s after fault f1"]
    assert [(p.name, p.duration_s) for p in s.phases] == [("steady", 5.0), ("fault", 5.0), ("recover", 23.0)]
    assert s.phases[1].faults[0].kind == "redis-misconf-unwritable-dir" and s.monitoring.rule_set == "baseline"
    assert "description: |" in text and "minimised by trial t05" in s.description


def test_gaps_are_shrunk_worst_first():
    from harness.hunt.classify import GAP, Classification
    from harness.hunt.hunt import TrialRecord, severity

    def record(name, success, ratio):
        c = Classification(GAP, "", metrics={"fault": {"publish.success_rate": success, "delivery.ratio": ratio}})
        return TrialRecord(name, "explore", Trial((MISCONF,)), c, 30.0)

    records = [record("slow", 1.0, 0.5), record("broken", 0.0, None), record("some", 0.8, 1.0)]
    assert [r.name for r in sorted(records, key=severity)] == ["broken", "some", "slow"]


def test_a_gap_repeating_an_earlier_ones_faults_is_listed_as_the_same_not_shrunk_again():
    from harness.hunt.classify import GAP, Classification
    from harness.hunt.hunt import Gap, TrialRecord, _repeated

    def record(name, trial):
        return TrialRecord(name, "explore", trial, Classification(GAP, ""), 30.0)

    gaps = [Gap(record("t02", Trial((LATENCY, MISCONF))), record("t05", Trial((MISCONF,), 5.0)), True)]
    assert _repeated(record("t09", Trial((MISCONF,), 10.0)), gaps)          # same faults as t02's minimum
    assert gaps[-1].same_as == "t02" and len(gaps) == 2
    assert not _repeated(record("t10", Trial((LATENCY,))), gaps) and len(gaps) == 2
