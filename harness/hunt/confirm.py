"""Whether a gap reproduces (pure): the minimised gap trial run once more (a confirm trial) must again be
a gap, hurting customers in the same way — the same metric over its threshold in the same phase.

One trial's impact can be the host's, not the fault's: a loaded machine pushes delivery p99 over the SLO
at moments with no fault at all. A gap is reported, and written as a regression scenario, only when its
impact happened twice; otherwise it is `unconfirmed`, with the reason (docs/hunt.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.hunt.classify import GAP, NO_EVIDENCE, Classification, Impact

CONFIRMED = "confirmed"            # the confirm trial was a gap with an impact the gap had
NOT_REPRODUCED = "not reproduced"  # the confirm trial reached a class, and it was not that
NOT_RERUN = "not re-run"           # no confirm trial with evidence: the budget, the cap, an interruption, no evidence


@dataclass
class Confirmation:
    status: str                                   # CONFIRMED | NOT_REPRODUCED | NOT_RERUN
    reason: str                                   # one line: why
    shared: list[tuple[Impact, Impact]] = field(default_factory=list)   # (gap's, confirm trial's) per impact seen twice


def not_rerun(why: str) -> Confirmation:
    """A gap the hunt could not run again."""
    return Confirmation(NOT_RERUN, f"not re-run: {why}")


def confirmation(gap: Classification, again: Classification) -> Confirmation:
    """Whether `again` (the confirm trial's class) reproduces `gap` (the minimised trial's)."""
    if again.cls == NO_EVIDENCE:
        return Confirmation(NOT_RERUN, f"the confirm trial had no evidence: {again.reason}")
    if again.cls != GAP:
        return Confirmation(NOT_REPRODUCED, f"not reproduced: the confirm trial was {again.cls} ({again.reason})")
    seen = {(i.phase, i.metric): i for i in gap.impact}
    shared = [(seen[(i.phase, i.metric)], i) for i in again.impact if (i.phase, i.metric) in seen]
    if not shared:
        return Confirmation(NOT_REPRODUCED, "not reproduced: the confirm trial hurt customers otherwise ("
                            + "; ".join(map(str, again.impact)) + ") than the gap (" + "; ".join(map(str, gap.impact)) + ")")
    return Confirmation(CONFIRMED, "reproduced: " + "; ".join(twice(pair) for pair in shared), shared)


def twice(pair: tuple[Impact, Impact]) -> str:
    """One impact seen in both trials, as `phase: metric = first, then second (op limit)`."""
    first, second = pair
    return f"{first.phase}: {first.metric} = {first.value:.4g}, then {second.value:.4g} ({first.op} {first.limit:g})"
