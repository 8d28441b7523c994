"""Shrinking a gap (as Jepsen and hypothesis shrink a failing case): fewer faults, milder magnitudes,
shorter durations, while it stays a gap — the simplest fault that hurts customers unseen.

Greedy and deterministic: the candidates of a trial come in a fixed order (drop a fault, then each
fault one rung milder, then one duration step shorter); the first candidate that is still a gap becomes
the current trial and its candidates are tried next. It stops when no candidate stays a gap or the
caller's step limit (the budget) is reached; the last gap is the minimised one.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable

from harness.hunt.plan import Trial, shorter


def candidates(trial: Trial) -> list[Trial]:
    """Every one-step smaller trial, the biggest simplification first."""
    out: list[Trial] = []
    if len(trial.faults) > 1:
        out.extend(replace(trial, faults=(c,)) for c in trial.faults)
    for i, c in enumerate(trial.faults):
        if c.level > 0:
            faults = list(trial.faults)
            faults[i] = replace(c, level=c.level - 1)
            out.append(replace(trial, faults=tuple(faults)))
    if (short := shorter(trial)) is not None:
        out.append(short)
    return out


@dataclass
class Shrunk:
    original: Trial
    minimal: Trial
    steps: list[tuple[Trial, bool]] = field(default_factory=list)   # each candidate tried, still a gap?
    complete: bool = True                    # False: the step limit stopped it before a fixed point


async def shrink(trial: Trial, still_gap: Callable[[Trial], Awaitable[bool | None]],
                 may_try: Callable[[], bool] = lambda: True) -> Shrunk:
    """Minimise a gap; `still_gap` runs a candidate (True gap, False not, None no evidence: not kept),
    `may_try` says whether the budget allows one more."""
    result = Shrunk(trial, trial)
    tried: set[Trial] = set()
    while True:
        for candidate in candidates(result.minimal):
            if candidate in tried:
                continue
            if not may_try():
                result.complete = False
                return result
            tried.add(candidate)
            gap = await still_gap(candidate)
            result.steps.append((candidate, bool(gap)))
            if gap:
                result.minimal = candidate
                break
        else:
            return result
