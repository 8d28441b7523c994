"""The seeded explorer: the trials of a hunt, a pure function of seed, fault catalogue, nodes and budget.

The catalogue (harness/faults/catalog.py) says which kinds exist, their targets and parameters; this
module adds what the catalogue cannot know: for each kind the ladder of magnitudes worth trying, mildest
first. Kinds whose parameters the hunt cannot invent (an arbitrary environment, a Redis config
parameter) have no ladder and are reported as not explorable.

Order: first one single-fault trial per family (so a short hunt still covers the catalogue broadly), then
single faults of kinds not tried yet alternating with pairs (one link or upstream fault plus one fault of
another family). Each fault starts strong (one of the two most severe magnitudes, the longest duration);
the shrinker makes gaps milder afterwards. The budget only decides how long the list is: a longer budget
replays the same trials first.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any, Mapping

from harness.faults.catalog import FAULT_KINDS, FaultKind, FaultSpec, targets_for, validate_fault

# Seconds a fault is held, shortest first; exploration uses the longest, shrinking steps down.
DURATIONS_S = (5.0, 10.0, 15.0)
STEADY_S = 5.0
MIN_TRIAL_S = 30.0           # no trial is shorter (steady + fault + watching for the deadline): bounds the list

# Magnitudes per kind, mildest first: each level is the fault's fields besides kind and target.
LADDERS: dict[str, tuple[dict[str, Any], ...]] = {
    "latency": ({"latency": 100}, {"latency": 300}, {"latency": 1000}, {"latency": 3000}),
    "bandwidth": ({"rate": 100}, {"rate": 10}, {"rate": 1}),
    "timeout": ({"timeout": 0, "toxicity": 0.25}, {"timeout": 0, "toxicity": 0.5}, {"timeout": 0}),
    "reset_peer": ({"timeout": 0, "toxicity": 0.25}, {"timeout": 0, "toxicity": 0.5}, {"timeout": 0}),
    "slow_close": ({"delay": 100}, {"delay": 1000}, {"delay": 5000}),
    "slicer": ({"average_size": 64, "delay": 100}, {"average_size": 16, "delay": 1000},
               {"average_size": 4, "delay": 10000}),
    "limit_data": ({"bytes": 100000}, {"bytes": 10000}, {"bytes": 1000}),
    "down": ({},),
    "stop": ({},), "kill": ({},), "pause": ({},), "restart": ({},),
    "partition": ({},),
    "redis-client-pause": ({"duration": 500}, {"duration": 2000}, {"duration": 8000}),
    "redis-debug-sleep": ({"seconds": 1}, {"seconds": 3}, {"seconds": 8}),
    "redis-wrong-password": ({},), "redis-maxmemory-exhausted": ({},), "redis-misconf-unwritable-dir": ({},),
    "redis-bad-port": ({},), "redis-exits-at-start": ({},),
    "upstream-5xx": ({},),
    "upstream-slow": ({"ms": 300}, {"ms": 1000}, {"ms": 5000}),
}
# Families a pair takes its first fault from (they act on links, composable with anything).
LINK_FAMILIES = ("toxic", "proxy", "upstream")


@dataclass(frozen=True)
class Choice:
    """One fault of a trial: a kind, one target, a rung of its ladder."""

    kind: str
    target: str
    level: int

    def spec(self, name: str, nodes: int) -> FaultSpec:
        """The validated fault (the catalogue's own validation: a ladder that drifts from it fails loudly)."""
        return validate_fault({"kind": self.kind, "target": self.target, "name": name, **LADDERS[self.kind][self.level]},
                              nodes, name)

    def describe(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in LADDERS[self.kind][self.level].items())
        return f"{self.kind} on {self.target}" + (f" ({fields})" if fields else "")


@dataclass(frozen=True)
class Trial:
    """What one trial injects: one or two faults held together for `fault_s` seconds."""

    faults: tuple[Choice, ...]
    fault_s: float = DURATIONS_S[-1]

    def describe(self) -> str:
        return " + ".join(c.describe() for c in self.faults) + f", {self.fault_s:g} s"

    def specs(self, nodes: int) -> tuple[FaultSpec, ...]:
        return tuple(c.spec(f"f{i + 1}", nodes) for i, c in enumerate(self.faults))


def targets(kind: FaultKind, nodes: int, upstream: bool = True) -> list[str]:
    """The kind's targets that exist for the system: without an upstream (Centrifugo), none on the
    upstream or its links — a fault there could only be tolerated, and would teach nothing."""
    return [t for t in targets_for(kind, nodes) if upstream or t.split(".")[-1] != "upstream"]


def explorable(catalogue: Mapping[str, FaultKind] = FAULT_KINDS, upstream: bool = True) -> list[str]:
    """Kinds the hunt can try on the system: those with a ladder and a target it has."""
    return [name for name in catalogue if name in LADDERS and targets(catalogue[name], 1, upstream)]


def families(catalogue: Mapping[str, FaultKind] = FAULT_KINDS, upstream: bool = True) -> dict[str, list[str]]:
    """Explorable kinds by family, in catalogue order."""
    out: dict[str, list[str]] = {}
    for name in explorable(catalogue, upstream):
        out.setdefault(catalogue[name].family, []).append(name)
    return out


def _choice(rng: random.Random, kind: FaultKind, nodes: int, upstream: bool) -> Choice:
    ladder = LADDERS[kind.name]
    strongest = list(range(len(ladder)))[-2:]          # one of the two most severe rungs
    return Choice(kind.name, rng.choice(targets(kind, nodes, upstream)), rng.choice(strongest))


def plan(seed: int, nodes: int, budget_s: float, catalogue: Mapping[str, FaultKind] = FAULT_KINDS,
         upstream: bool = True) -> list[Trial]:
    """The hunt's exploration trials in order; as many as the budget could ever hold. `upstream`: whether
    the system under test uses the harness's upstream (System.upstream)."""
    rng = random.Random(seed)
    count = max(1, int(budget_s // MIN_TRIAL_S))
    by_family = families(catalogue, upstream)
    order = sorted(by_family)
    rng.shuffle(order)
    untried = {f: rng.sample(kinds, len(kinds)) for f, kinds in by_family.items()}
    trials: list[Trial] = []

    def next_kind(family: str) -> FaultKind:
        if not untried[family]:
            untried[family] = rng.sample(by_family[family], len(by_family[family]))
        return catalogue[untried[family].pop()]

    for family in order:                               # round one: every family once
        trials.append(Trial((_choice(rng, next_kind(family), nodes, upstream),)))
    links = [f for f in order if f in LINK_FAMILIES]
    others = [f for f in order if f not in LINK_FAMILIES]
    while len(trials) < count:
        if len(trials) % 2 and links and others:       # a pair: a link fault with another family's
            first = _choice(rng, next_kind(rng.choice(links)), nodes, upstream)
            second = _choice(rng, next_kind(rng.choice(others)), nodes, upstream)
            trials.append(Trial((first, second)))
        else:                                          # the family with most kinds still untried
            family = max(order, key=lambda f: (len(untried[f]), -order.index(f)))
            trials.append(Trial((_choice(rng, next_kind(family), nodes, upstream),)))
    return trials[:count]


def shorter(trial: Trial) -> Trial | None:
    """The same trial one duration step shorter, or None at the shortest."""
    steps = [d for d in DURATIONS_S if d < trial.fault_s]
    return replace(trial, fault_s=steps[-1]) if steps else None
