"""Recovery: when is the cluster healthy again after a fault is reverted (a step of the analysis, pure).

`recovery.seconds`: from a fault's revert to the first timeline bucket from which the thresholds hold for
`sustain_s`. docs/metrics.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from harness.windows import Window


@dataclass(frozen=True)
class Recovery:
    """When is the cluster recovered after a fault is reverted: thresholds held for `sustain_s`."""

    success_rate: float = 0.99
    delivery_ratio: float = 0.99
    sustain_s: float = 5.0


def healthy(bucket: dict[str, Any], r: Recovery) -> bool:
    """One timeline bucket against the thresholds. A bucket with no publishes or no expected delivery
    proves nothing, so it is not healthy: recovery needs evidence in every bucket it spans."""
    if not bucket["publish.attempts"] or not bucket["delivery.expected"]:
        return False
    return bucket["publish.success_rate"] >= r.success_rate and bucket["delivery.ratio"] >= r.delivery_ratio


def fault_recoveries(faults: list[dict[str, Any]], timeline: list[dict[str, Any]], bucket_s: float,
                     r: Recovery) -> None:
    """Set `recovery_s` on each fault: revert → first bucket of a sustained healthy run; None if never."""
    need = max(1, math.ceil(r.sustain_s / bucket_s))
    for f in faults:
        f["recovery_s"] = None
        if f["reverted_s"] is None or not timeline:
            continue
        origin = timeline[0]["t"]
        first = max(0, int((f["reverted_s"] - origin) // bucket_s))
        for b in range(first, len(timeline) - need + 1):
            if all(healthy(timeline[i], r) for i in range(b, b + need)):
                f["recovery_s"] = round(max(0.0, timeline[b]["t"] - f["reverted_s"]), 3)
                break


def window_recoveries(faults: list[dict[str, Any]], phases: list[Window], others: list[Window],
                      metrics: dict[str, dict[str, Any]]) -> None:
    """`recovery.seconds` on the phase that follows each revert, and on named windows and the run holding
    it (the longest there); None when the run ended before a sustained recovery."""
    for w in phases + others:
        values = []
        for f in faults:
            if f["reverted_s"] is None:
                continue
            if w in phases:
                # A phase's faults are reverted as it ends: recovery belongs to the phase that follows.
                if _following(f, phases) == w.name:
                    values.append(f["recovery_s"])
            elif w.holds(f["reverted_s"]):
                values.append(f["recovery_s"])
        if values:
            metrics[w.name]["recovery.seconds"] = None if None in values else max(values)


def _following(fault: dict[str, Any], phases: list[Window]) -> str | None:
    """The phase after the one the fault was injected in (else the first starting after its revert)."""
    names = [p.name for p in phases]
    if fault.get("phase") in names:
        i = names.index(fault["phase"]) + 1
        return names[i] if i < len(names) else None
    return next((p.name for p in phases if p.start >= fault["reverted_s"] - 1e-6), None)
