"""Probe answers in the journal → per-window metrics `probe.<name>.…` (pure: an analysis step).

The prober (harness/systems/probes.py) journals one `probe` event per probe and node every second;
this is the judge's side of them, apart from the poller so that judging imports no HTTP client.
docs/metrics.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from harness.percentile import percentile


@dataclass(frozen=True)
class Answered:
    """One journaled probe answer, as the analysis keeps it."""

    t: float
    name: str
    ok: bool
    latency_ms: float


def window_metrics(answers: Iterable[Answered], start: float, end: float) -> dict[str, Any]:
    """`probe.<name>.ok_ratio`, `.answers`, `.failed` and `.latency_ms.p99` of the answers in [start, end)
    (pure). A probe with no answer in the window has no metrics: no evidence."""
    by_name: dict[str, list[tuple[bool, float]]] = {}
    for a in answers:
        if start <= a.t < end:
            by_name.setdefault(a.name, []).append((a.ok, a.latency_ms))
    out: dict[str, Any] = {}
    for name, rows in sorted(by_name.items()):
        ok = sum(1 for passed, _ in rows if passed)
        out[f"probe.{name}.answers"] = len(rows)
        out[f"probe.{name}.failed"] = len(rows) - ok
        out[f"probe.{name}.ok_ratio"] = ok / len(rows)
        out[f"probe.{name}.latency_ms.p99"] = percentile([latency for _, latency in rows], 0.99)
    return out
