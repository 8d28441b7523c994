"""The hunt: explore the plan within the budget, shrink every gap, run its minimised trial once more to
confirm it, and write each confirmed gap as a regression scenario.

Time: the budget covers everything (cluster start, trials, shrinking, teardown). A trial is started
only if it fits in what is left, by its planned length plus the largest overhead a trial has shown so
far, and only if the confirm trials of the gaps still waiting fit after it: a gap found is confirmed
before the budget goes to more exploration or shrinking. Exploration takes the first EXPLORE_SHARE of the
budget; then every gap found is shrunk and confirmed; then, if time is left, exploration goes on, and
each new gap is shrunk and confirmed at once.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from harness import systems
from harness.hunt.classify import GAP, NO_EVIDENCE, Classification, Thresholds, classify
from harness.hunt.confirm import CONFIRMED, Confirmation, confirmation, not_rerun
from harness.hunt.plan import Trial, plan
from harness.hunt.shrink import shrink
from harness.hunt.trial import Bench, planned_s, scenario_text
from harness.scenario import ScenarioError, load
from harness.systems import System

EXPLORE_SHARE = 0.55
FIRST_OVERHEAD_S = 20.0      # a trial's seconds beyond its phases (load start, fault re-creations, reports) until measured
TEARDOWN_S = 15.0            # kept back for the cluster's removal


@dataclass(frozen=True)
class HuntConfig:
    seed: int
    nodes: int
    rules: str                  # a set's name or an absolute rule file path, as scenarios state it
    rules_file: Path
    budget_s: float
    out: Path
    thresholds: Thresholds = Thresholds()
    system: Any = systems.DEFAULT   # as a scenario's `system:` states it: a built-in's name or a declaration
    max_trials: int | None = None   # a cap besides the budget (tests, quick looks)

    def under_test(self) -> System:
        """The system the hunt's cluster runs (its spec was checked by the command line)."""
        return systems.resolve(self.system)


@dataclass
class TrialRecord:
    name: str                   # t01, t02, …: the order they ran in
    role: str                   # explore | shrink | confirm
    trial: Trial
    classification: Classification
    seconds: float
    parent: str | None = None   # shrink: the trial whose gap it shrinks; confirm: the minimised trial it re-runs


@dataclass
class Gap:
    found_by: TrialRecord
    minimal_by: TrialRecord     # the smallest trial still a gap (found_by if nothing smaller was)
    complete: bool              # False: the budget stopped shrinking before a fixed point
    same_as: str | None = None  # the gap (its found_by name) this one repeats: not shrunk again
    scenario: Path | None = None
    scenario_error: str | None = None   # the emitted scenario did not validate (a harness defect)
    confirmation: Confirmation = field(default_factory=lambda: not_rerun("no confirm trial"))
    confirmed_by: TrialRecord | None = None   # the confirm trial, if one ran

    @property
    def confirmed(self) -> bool:
        """Reported as a gap: its impact happened again in the confirm trial (docs/hunt.md)."""
        return self.confirmation.status == CONFIRMED


@dataclass
class HuntResult:
    config: HuntConfig
    trials: list[TrialRecord] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    planned: list[Trial] = field(default_factory=list)
    cluster_up_s: float = 0.0
    recreated: int = 0
    projects: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    stopped: str = ""           # why the hunt ended
    error: str | None = None


def evidenced(result: HuntResult) -> bool:
    """Whether some trial reached a class: "no gap found" means nothing when every trial had no evidence
    (or none ran)."""
    return any(r.classification.cls != NO_EVIDENCE for r in result.trials)


def signature(trial: Trial) -> frozenset[tuple[str, str]]:
    """What makes two gaps the same: their fault kinds and targets."""
    return frozenset((c.kind, c.target) for c in trial.faults)


async def hunt(config: HuntConfig, log: Callable[[str], None]) -> HuntResult:
    """Run a whole hunt; harness failures end up in `error` (the cluster is always removed)."""
    started = time.monotonic()
    t = config.thresholds
    system = config.under_test()
    result = HuntResult(config, planned=plan(config.seed, config.nodes, config.budget_s, upstream=system.upstream))
    queue = list(result.planned)
    bench = Bench(config.nodes, config.rules, config.rules_file, t, log, config.system, system)
    measured: float | None = None   # the largest overhead a trial has shown so far

    def left() -> float:
        return config.budget_s - (time.monotonic() - started)

    def fits(trial: Trial, then: Sequence[Trial] = ()) -> bool:
        """Whether the trial, and after it every trial of `then` (confirm trials still owed), fit."""
        if config.max_trials is not None and len(result.trials) + 1 + len(then) > config.max_trials:
            return False
        overhead = FIRST_OVERHEAD_S if measured is None else measured
        return left() >= sum(planned_s(x, t) + overhead for x in [trial, *then]) + TEARDOWN_S

    def owed() -> list[Trial]:
        """The confirm trials the gaps waiting to be shrunk will need (at most their found trial's length)."""
        return [r.trial for r in pending]

    def capped() -> bool:
        return config.max_trials is not None and len(result.trials) >= config.max_trials

    async def run(trial: Trial, role: str, parent: str | None = None) -> TrialRecord:
        nonlocal measured
        name = f"t{len(result.trials) + 1:02d}"
        ran = await bench.run(trial, name, config.out / "trials" / name)
        c = classify(ran.events, t)
        # What trials have shown replaces the first guess (once a floor under it, which kept gaps unshrunk).
        measured = max(measured or 0.0, ran.seconds - planned_s(trial, t))
        record = TrialRecord(name, role, trial, c, ran.seconds, parent)
        result.trials.append(record)
        after = f" (after {c.detected_after_s:.1f} s)" if c.detected_after_s is not None else ""
        log(f"{name} {role:<7} {trial.describe()} → {c.cls}{after}: {c.reason}"
            + (" · health green throughout" if c.lying_health else ""))
        if _interrupted(ran.events):
            raise KeyboardInterrupt
        if await bench.ensure_steady(force=not c.steady):
            log(f"cluster replaced: now {bench.cluster.project if bench.cluster else '-'}")
        return record

    async def minimise(found: TrialRecord) -> None:
        """Shrink a gap (leaving room to confirm it and the gaps after it), then confirm it."""
        if _repeated(found, result.gaps):
            return
        records: dict[Trial, TrialRecord] = {}

        async def still_gap(candidate: Trial) -> bool | None:
            record = await run(candidate, "shrink", found.name)
            records[candidate] = record
            return None if record.classification.cls == NO_EVIDENCE else record.classification.cls == GAP

        shrunk = await shrink(found.trial, still_gap, lambda: fits(found.trial, owed()))
        gap = Gap(found, records.get(shrunk.minimal, found), shrunk.complete)
        await confirm(gap)
        result.gaps.append(gap)
        if gap.confirmed:
            _write_scenario(gap, config, sum(g.confirmed for g in result.gaps))

    async def confirm(gap: Gap) -> None:
        """Run the minimised trial once more on the (steady) cluster; the gap counts only if it reproduces."""
        minimal = gap.minimal_by
        if not fits(minimal.trial):
            gap.confirmation = not_rerun(f"{'the trial cap is reached' if capped() else 'the budget is spent'} "
                                         "before it could be confirmed")
            return
        gap.confirmed_by = await run(minimal.trial, "confirm", minimal.name)
        gap.confirmation = confirmation(minimal.classification, gap.confirmed_by.classification)
        c = gap.confirmation
        log(f"{gap.confirmed_by.name} " + (c.reason if c.reason.startswith(c.status) else f"{c.status}: {c.reason}"))

    async def explore() -> None:
        record = await run(queue.pop(0), "explore")
        if record.classification.cls == GAP:
            pending.append(record)

    pending: list[TrialRecord] = []
    try:
        log(f"hunt: seed {config.seed}, system {system.name}, rules {config.rules}, {config.nodes} nodes, "
            f"budget {config.budget_s:g} s; starting the cluster …")
        up = time.monotonic()
        await bench.up()
        result.cluster_up_s = round(time.monotonic() - up, 1)
        log(f"cluster {bench.cluster.project if bench.cluster else '-'} ready in {result.cluster_up_s:.1f} s")
        while queue and time.monotonic() < started + EXPLORE_SHARE * config.budget_s and fits(queue[0], owed()):
            await explore()
        while True:                    # shrink what was found; then explore on, shrinking each new gap at once
            pending.sort(key=severity)  # customers hurt most first: the budget may not reach them all
            while pending:             # left in `pending` until done: an interruption reports it as not re-run
                await minimise(pending[0])
                pending.pop(0)
            if not (queue and fits(queue[0], owed())):
                break
            await explore()
        result.stopped = ("the plan is exhausted" if not queue else
                          "the trial cap is reached" if capped() else "the budget is spent")
    except (KeyboardInterrupt, asyncio.CancelledError):
        result.stopped = "interrupted"
    except Exception as exc:  # a cluster that never starts, Docker gone: the hunt's own failure
        result.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        result.stopped = "harness error"
    finally:
        result.recreated, result.projects = bench.recreated, bench.projects
        await bench.down()
        result.wall_s = round(time.monotonic() - started, 1)
    for record in pending:          # gaps never confirmed (interrupted, a harness error): unconfirmed
        if not _repeated(record, result.gaps):
            result.gaps.append(Gap(record, record, False, confirmation=not_rerun(result.stopped)))
    return result


def _repeated(found: TrialRecord, gaps: list[Gap]) -> bool:
    """If an earlier gap had the same faults (found or minimised), list this one as the same, confirmed
    or not as that gap was; True then."""
    twin = next((g for g in gaps if signature(found.trial) in
                 (signature(g.found_by.trial), signature(g.minimal_by.trial))), None)
    if twin is not None:
        gaps.append(Gap(found, found, True, same_as=twin.found_by.name, confirmation=twin.confirmation))
    return twin is not None


def severity(record: TrialRecord) -> tuple[float, float]:
    """Sort key, worst first: the fault phase's publish success, then its delivery ratio (None as 1)."""
    m = record.classification.metrics.get("fault", {})
    value = lambda key: 1.0 if m.get(key) is None else float(m[key])
    return value("publish.success_rate"), value("delivery.ratio")


def _interrupted(events: list[dict]) -> bool:
    return any(e["kind"] == "run_end" and e.get("error") == "interrupted" for e in events)


def found_scenario(gap: Gap, config: HuntConfig, number: int) -> tuple[str, str]:
    """(name, YAML) of the regression scenario of a gap: its minimal trial, expected to hurt customers
    as it did (an impact its confirm trial saw too, when one ran) and to be caught by some alert within
    the deadline."""
    minimal = gap.minimal_by
    t = config.thresholds
    first = minimal.trial.faults[0]
    name = f"found-{number}-{first.kind}"[:64]
    impact = [mine for mine, _ in gap.confirmation.shared] or minimal.classification.impact
    expect = [impact[0].expectation()] if impact else []
    expect.append(f"alert * fires within {t.deadline_s:g}s after fault f1")
    description = (
        f"Found by `harness hunt --seed {config.seed} --rules {config.rules}{_system_flag(config.system)}` "
        f"(trial {gap.found_by.name}: {gap.found_by.trial.describe()}), minimised by trial {minimal.name} to {minimal.trial.describe()}"
        f"{'' if gap.complete else ' (shrinking stopped by the budget)'}"
        f"{f', confirmed by trial {gap.confirmed_by.name}' if gap.confirmed_by else ''}.\n"
        f"Customers were hurt ({'; '.join(map(str, impact))}) and no alert fired within {t.deadline_s:g} s.\n"
        f"This scenario fails (exit 1) until the rule set has an alert that fires within {t.deadline_s:g} s of the "
        f"fault; then name that alert instead of * (docs/hunt.md).\n")
    return name, scenario_text(minimal.trial, name, config.rules, config.nodes, t, description, expect, config.system)


def _system_flag(spec: Any) -> str:
    """The hunt's --system as its command line gave it (a declaration: the file it came from, unknown here)."""
    if spec == systems.DEFAULT:
        return ""
    return f" --system {spec}" if isinstance(spec, str) else " --system FILE.yaml (the declaration below)"


def _write_scenario(gap: Gap, config: HuntConfig, number: int) -> None:
    name, text = found_scenario(gap, config, number)
    path = config.out / "found" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    gap.scenario = path
    try:
        load(path)
    except ScenarioError as exc:
        gap.scenario_error = str(exc)
