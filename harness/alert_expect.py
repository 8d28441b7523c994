"""Alert expectations → verdicts, and the alerts section of the summary (gaps, noise).

An alert expectation is one line:

    alert RedisCacheErrors fires within 30s after phase misconf
    alert RedisCacheErrors fires within 30s after fault misconf-1     (from the fault's confirmation)
    alert RedisDown silent during misconf                            (a phase, a named window, or run)
    alert * silent during steady                                     (no alert at all)

A gap is a `fires` expectation that did not hold. Noise is an alert firing that no `fires` expectation
anticipated (same alert, anchored at or before it fired) while no fault was active or settling
(SETTLE_S after its revert); unanticipated alerts during faults are listed apart. docs/monitoring.md.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

from harness.alerts import AlertHistory, timings
from harness.duration import EXAMPLES, parse_duration

ANY = "*"
SETTLE_S = 30.0    # after a fault's revert, alerts it caused may still fire (windows, for-durations)
_FIRES = re.compile(r"^\s*alert\s+(?P<alert>[A-Za-z_][A-Za-z0-9_]*)\s+fires\s+within\s+(?P<within>\S+)\s+after\s+"
                    r"(?P<anchor_kind>phase|fault)\s+(?P<anchor>[A-Za-z][\w-]*)\s*$")
_SILENT = re.compile(r"^\s*alert\s+(?P<alert>[A-Za-z_][A-Za-z0-9_]*|\*)\s+silent\s+during\s+(?P<window>[A-Za-z][\w-]*)\s*$")
GRAMMAR = ("'alert <Name> fires within <duration> after phase|fault <name>' or "
           "'alert <Name|*> silent during <window>'")


@dataclass(frozen=True)
class AlertExpectation:
    """`fires` (within `within_s` after an anchor) or `silent` (during a window)."""

    text: str
    alert: str
    kind: str                         # "fires" | "silent"
    anchor_kind: str = ""             # fires: "phase" | "fault"
    anchor: str = ""                  # fires: the phase or fault; silent: the window
    within_s: float = 0.0


def parse(text: str, windows: set[str], phases: set[str], faults: set[str]) -> AlertExpectation:
    """Parse one alert expectation line; ValueError says what is wrong and what is allowed."""
    if m := _FIRES.match(text):
        within = parse_duration(m["within"])
        if within is None or within <= 0:
            raise ValueError(f"cannot read the duration {m['within']!r}; write e.g. {EXAMPLES}")
        names = phases if m["anchor_kind"] == "phase" else faults
        if m["anchor"] not in names:
            raise ValueError(f"unknown {m['anchor_kind']} {m['anchor']!r}; allowed: {', '.join(sorted(names)) or 'none'}")
        return AlertExpectation(text, m["alert"], "fires", m["anchor_kind"], m["anchor"], within)
    if m := _SILENT.match(text):
        if m["window"] not in windows:
            raise ValueError(f"unknown window {m['window']!r}; allowed: {', '.join(sorted(windows))}")
        return AlertExpectation(text, m["alert"], "silent", anchor=m["window"])
    raise ValueError(f"cannot read {text!r}; write {GRAMMAR}")


def judge(e: AlertExpectation, history: AlertHistory, windows: dict[str, tuple[float, float]],
          faults: dict[str, float | None]) -> tuple[bool, float | None, str]:
    """(passed, observed seconds or None, evidence) of one alert expectation."""
    if e.kind == "silent":
        start, end = windows.get(e.anchor, (math.nan, math.nan))
        if math.isnan(start):
            return False, None, f"window {e.anchor} never happened"
        fired = [ep for ep in history.episodes if e.alert in (ANY, ep.alert) and ep.firing_during(start, end)]
        if not fired:
            return True, None, f"no {'alert' if e.alert == ANY else e.alert} firing during {e.anchor}"
        first = min(fired, key=lambda ep: ep.firing_t or 0.0)
        names = ", ".join(sorted({ep.alert for ep in fired}))
        return False, round(max(0.0, (first.firing_t or 0.0) - start), 3), \
            f"{names} firing during {e.anchor} (first {(first.firing_t or 0.0) - start:.1f} s into it)"
    anchor = _anchor(e, windows, faults)
    if anchor is None:
        return False, None, f"{e.anchor_kind} {e.anchor} never {'started' if e.anchor_kind == 'phase' else 'confirmed'}"
    t = timings(history, e.alert, anchor, anchor + e.within_s)
    late = timings(history, e.alert, anchor)
    if t["firing_after_s"] is not None:
        return True, t["firing_after_s"], (f"{e.alert} pending after {_fmt(t['pending_after_s'])}, firing after "
                                           f"{t['firing_after_s']:.1f} s, notified after {_fmt(late['notified_after_s'])} "
                                           f"(limit {e.within_s:g} s)")
    if late["firing_after_s"] is not None:
        return False, late["firing_after_s"], f"{e.alert} fired only after {late['firing_after_s']:.1f} s (limit {e.within_s:g} s)"
    pending = f"; it was pending after {t['pending_after_s']:.1f} s" if t["pending_after_s"] is not None else ""
    return False, None, f"{e.alert} never fired after {e.anchor_kind} {e.anchor}{pending} (gap)"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _anchor(e: AlertExpectation, windows: dict[str, tuple[float, float]], faults: dict[str, float | None]) -> float | None:
    if e.anchor_kind == "phase":
        return windows[e.anchor][0] if e.anchor in windows else None
    return faults.get(e.anchor)


def summary(expectations: Iterable[AlertExpectation], history: AlertHistory,
            windows: dict[str, tuple[float, float]], faults: list[dict[str, Any]]) -> dict[str, Any]:
    """Per expected alert its times from its anchor; gaps (expected, never fired in time); noise (fired
    while no fault was active nor settling, and not anticipated); other alerts that fired during faults."""
    fires = [e for e in expectations if e.kind == "fires"]
    confirmed = {f["name"]: f["confirmed_s"] for f in faults}
    expected: list[dict[str, Any]] = []
    gaps: list[str] = []
    anchors: dict[str, list[float]] = {}
    for e in fires:
        anchor = _anchor(e, windows, confirmed)
        row: dict[str, Any] = {"alert": e.alert, "after": f"{e.anchor_kind} {e.anchor}", "within_s": e.within_s}
        if anchor is not None:
            row.update(timings(history, e.alert, anchor))
            anchors.setdefault(e.alert, []).append(anchor)
        if not judge(e, history, windows, confirmed)[0]:
            gaps.append(e.alert)
        expected.append(row)
    fault_spans = [(f["injected_s"], math.inf if f["reverted_s"] is None else f["reverted_s"] + SETTLE_S)
                   for f in faults if f["injected_s"] is not None]
    noise, during_faults = [], []
    for ep in history.episodes:
        if ep.firing_t is None or any(a <= ep.firing_t for a in anchors.get(ep.alert, [])):
            continue
        row = {"alert": ep.alert, "labels": ep.labels, "firing_s": round(ep.firing_t, 3)}
        (during_faults if any(a <= ep.firing_t < b for a, b in fault_spans) else noise).append(row)
    return {"expected": expected, "gaps": sorted(set(gaps)), "noise": noise, "other_during_faults": during_faults,
            "rules": (history.rule_set or {}).get("rules"), "rule_set": (history.rule_set or {}).get("rule_set")}
