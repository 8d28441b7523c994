"""Alert expectations → verdicts, and the alerts section of the summary (gaps, noise).

An alert expectation is one line:

    alert RedisCacheErrors fires within 30s after phase misconf       (turns pending/firing after it)
    alert RedisCacheErrors fires within 30s after fault misconf-1     (from the fault's confirmation)
    alert RedisCacheErrors notified within 40s after fault misconf-1  (the sink received it)
    alert RedisCacheErrors firing at phase fixed                      (already firing at that moment, watched)
    alert RedisDown silent during misconf                            (a phase, a named window, or run)
    alert RedisCacheErrors resolves within 60s after revert of misconf-1  (firing at the revert, resolved by then)
    alert * silent during steady                                     (no alert at all)
    alert * fires within 20s after fault misconf-1                   (any alert: a hunt's found gap)

`fires` and `notified` need a transition after the anchor: an alert already pending or firing before it
does not count (write `firing at` for that meaning). Time is measured from the anchor (a phase's
measured start, a fault's confirmation), and the transition may come from the moment the anchor
began to act (the phase's start, the fault's injection): a fault acts before it is confirmed. `silent` needs evidence that the watcher was
polling the whole window (no gap between successful polls longer than 3 scrape intervals).

A gap is a `fires`/`notified` expectation that did not hold while the watcher polled from its anchor to its
deadline (one that failed without that evidence is listed under `no_evidence`, not as a gap). Noise is an alert firing that no
expectation anticipated (same alert, firing after its anchor and before the anchor's faults were
reverted and the cluster recovered) while no fault was active or settling (SETTLE_S after its
revert); unanticipated alerts during faults are listed apart. docs/monitoring.md.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

from harness.alerts import ANY, AlertHistory, timings
from harness.duration import EXAMPLES, parse_duration

SETTLE_S = 30.0    # after a fault's revert, alerts it caused may still fire (windows, for-durations)
_FIRES = re.compile(r"^\s*alert\s+(?P<alert>[A-Za-z_][A-Za-z0-9_]*|\*)\s+(?P<kind>fires|notified)\s+within\s+"
                    r"(?P<within>\S+)\s+after\s+(?P<anchor_kind>phase|fault)\s+(?P<anchor>[A-Za-z][\w-]*)\s*$")
_FIRING_AT = re.compile(r"^\s*alert\s+(?P<alert>[A-Za-z_][A-Za-z0-9_]*)\s+firing\s+at\s+"
                        r"(?P<anchor_kind>phase|fault)\s+(?P<anchor>[A-Za-z][\w-]*)\s*$")
_RESOLVES = re.compile(r"^\s*alert\s+(?P<alert>[A-Za-z_][A-Za-z0-9_]*)\s+resolves\s+within\s+(?P<within>\S+)\s+"
                       r"after\s+revert\s+of\s+(?P<anchor>[A-Za-z][\w.-]*)\s*$")
_SILENT = re.compile(r"^\s*alert\s+(?P<alert>[A-Za-z_][A-Za-z0-9_]*|\*)\s+silent\s+during\s+(?P<window>[A-Za-z][\w-]*)\s*$")
GRAMMAR = ("'alert <Name|*> fires|notified within <duration> after phase|fault <name>', "
           "'alert <Name> firing at phase|fault <name>', 'alert <Name> resolves within <duration> after revert of "
           "<fault>' or 'alert <Name|*> silent during <window>'")
WATCH_GAP_SCRAPES = 3   # a gap between successful polls longer than this many scrape intervals is no evidence


@dataclass(frozen=True)
class AlertExpectation:
    """`fires`/`notified` (within `within_s` after an anchor), `firing_at` (an anchor) or `silent`."""

    text: str
    alert: str
    kind: str                         # "fires" | "notified" | "firing_at" | "resolves" | "silent"
    anchor_kind: str = ""             # "phase" | "fault" (not for silent)
    anchor: str = ""                  # the phase or fault; silent: the window
    within_s: float = 0.0


def parse(text: str, windows: set[str], phases: set[str], faults: set[str]) -> AlertExpectation:
    """Parse one alert expectation line; ValueError says what is wrong and what is allowed."""
    if m := _FIRES.match(text) or _FIRING_AT.match(text):
        names = phases if m["anchor_kind"] == "phase" else faults
        if m["anchor"] not in names:
            raise ValueError(f"unknown {m['anchor_kind']} {m['anchor']!r}; allowed: {', '.join(sorted(names)) or 'none'}")
        if "within" not in m.groupdict():
            return AlertExpectation(text, m["alert"], "firing_at", m["anchor_kind"], m["anchor"])
        within = parse_duration(m["within"])
        if within is None or within <= 0:
            raise ValueError(f"cannot read the duration {m['within']!r}; write e.g. {EXAMPLES}")
        return AlertExpectation(text, m["alert"], m["kind"], m["anchor_kind"], m["anchor"], within)
    if m := _RESOLVES.match(text):
        if m["anchor"] not in faults:
            raise ValueError(f"unknown fault {m['anchor']!r}; allowed: {', '.join(sorted(faults)) or 'none'}")
        within = parse_duration(m["within"])
        if within is None or within <= 0:
            raise ValueError(f"cannot read the duration {m['within']!r}; write e.g. {EXAMPLES}")
        return AlertExpectation(text, m["alert"], "resolves", "fault", m["anchor"], within)
    if m := _SILENT.match(text):
        if m["window"] not in windows:
            raise ValueError(f"unknown window {m['window']!r}; allowed: {', '.join(sorted(windows))}")
        return AlertExpectation(text, m["alert"], "silent", anchor=m["window"])
    raise ValueError(f"cannot read {text!r}; write {GRAMMAR}")


def judge(e: AlertExpectation, history: AlertHistory, windows: dict[str, tuple[float, float]],
          faults: dict[str, float | None], max_gap: float = 3.0,
          origins: dict[str, float] | None = None,
          reverts: dict[str, float | None] | None = None) -> tuple[bool, float | None, str]:
    """(passed, observed seconds or None, evidence) of one alert expectation.

    `max_gap`: the longest gap between the watcher's successful polls that still counts as covered.
    `origins` ("phase P" / "fault F" → time): when each anchor began to act (phase start, injection);
    a transition counts from there. Default: the anchor itself.
    """
    if e.kind == "silent":
        return _silent(e, history, windows, max_gap)
    if e.kind == "resolves":
        return _resolves(e, history, (reverts or {}).get(e.anchor), max_gap)
    anchor = _anchor(e, windows, faults)
    if anchor is None:
        return False, None, f"{e.anchor_kind} {e.anchor} never {'started' if e.anchor_kind == 'phase' else 'confirmed'}"
    if e.kind == "firing_at":
        firing = [ep for ep in history.episodes if ep.alert == e.alert and ep.firing_during(anchor, anchor + 1e-6)]
        if firing and (blind := _blind(history, anchor, anchor, max_gap)):
            # Seen firing before, but nobody was looking at that moment: it may have resolved since.
            return False, None, f"{e.alert} last seen firing before {e.anchor_kind} {e.anchor}{blind}"
        if firing:
            return True, 0.0, f"{e.alert} firing at {e.anchor_kind} {e.anchor} (since {anchor - firing[0].firing_t:.1f} s before)"
        return False, None, f"{e.alert} not firing at {e.anchor_kind} {e.anchor}{_blind(history, anchor, anchor, max_gap)}"
    attr = "firing_after_s" if e.kind == "fires" else "notified_after_s"
    verb = "fired" if e.kind == "fires" else "was notified"
    since = min(anchor, (origins or {}).get(f"{e.anchor_kind} {e.anchor}", anchor))
    t = timings(history, e.alert, anchor, anchor + e.within_s, since=since)
    late = timings(history, e.alert, anchor, since=since)
    if t[attr] is not None:
        return True, t[attr], (f"{e.alert} pending after {_fmt(t['pending_after_s'])}, firing after "
                               f"{_fmt(t['firing_after_s'])}, notified after {_fmt(late['notified_after_s'])} "
                               f"(limit {e.within_s:g} s)")
    if late[attr] is not None:
        return False, late[attr], f"{e.alert} {verb} only after {late[attr]:.1f} s (limit {e.within_s:g} s)"
    pending = f"; it was pending after {t['pending_after_s']:.1f} s" if t["pending_after_s"] is not None else ""
    before = timings(history, e.alert, since)[attr] == 0.0
    already = f"; it was already {'firing' if e.kind == 'fires' else 'notified'} before (write 'firing at')" if before else ""
    return False, None, (f"{e.alert} never {verb} after {e.anchor_kind} {e.anchor}{pending}{already} (gap)"
                         f"{_blind(history, anchor, anchor + e.within_s, max_gap)}")


def _resolves(e: AlertExpectation, history: AlertHistory, reverted: float | None,
              max_gap: float) -> tuple[bool, float | None, str]:
    """Firing when the fault was reverted, and no longer listed within `within_s` of the revert."""
    if reverted is None:
        return False, None, f"fault {e.anchor} was never reverted"
    firing = [ep for ep in history.episodes if ep.alert == e.alert and ep.firing_during(reverted, reverted + 1e-6)]
    if not firing:
        return False, None, (f"{e.alert} was not firing when {e.anchor} was reverted: nothing to resolve"
                             f"{_blind(history, reverted, reverted, max_gap)}")
    if any(ep.resolved_t is None for ep in firing):
        return False, None, (f"{e.alert} never resolved after the revert of {e.anchor}"
                             f"{_blind(history, reverted, reverted + e.within_s, max_gap)}")
    after = round(max(ep.resolved_t for ep in firing) - reverted, 3)   # type: ignore[type-var]
    return after <= e.within_s, after, (f"{e.alert} resolved {after:.1f} s after the revert of {e.anchor} "
                                        f"(limit {e.within_s:g} s)")


def _silent(e: AlertExpectation, history: AlertHistory, windows: dict[str, tuple[float, float]],
            max_gap: float) -> tuple[bool, float | None, str]:
    start, end = windows.get(e.anchor, (math.nan, math.nan))
    if math.isnan(start):
        return False, None, f"window {e.anchor} never happened"
    fired = [ep for ep in history.episodes if e.alert in (ANY, ep.alert) and ep.firing_during(start, end)]
    if fired:
        first = min(fired, key=lambda ep: ep.firing_t or 0.0)
        names = ", ".join(sorted({ep.alert for ep in fired}))
        return False, round(max(0.0, (first.firing_t or 0.0) - start), 3), \
            f"{names} firing during {e.anchor} (first {(first.firing_t or 0.0) - start:.1f} s into it)"
    uncovered = history.uncovered_seconds(start, end, max_gap)
    if uncovered > 0 or end <= start:
        dead = f"; the watcher stopped: {history.dead}" if history.dead else ""
        return False, None, f"no monitoring evidence for {uncovered:.1f} s of {e.anchor}{dead}"
    return True, None, f"no {'alert' if e.alert == ANY else e.alert} firing during {e.anchor} (watched throughout)"


def _blind(history: AlertHistory, start: float, end: float, max_gap: float) -> str:
    """A note when the watcher was not polling over [start, end] (or at the moment start == end): the
    failure may be the watcher's."""
    if end <= start:
        return "" if history.watched_at(start, max_gap) else "; no monitoring evidence at that moment"
    uncovered = history.uncovered_seconds(start, end, max_gap)
    return f"; no monitoring evidence for {uncovered:.1f} s of it" if uncovered > 0 else ""


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _anchor(e: AlertExpectation, windows: dict[str, tuple[float, float]], faults: dict[str, float | None]) -> float | None:
    if e.anchor_kind == "phase":
        return windows[e.anchor][0] if e.anchor in windows else None
    return faults.get(e.anchor)


def summary(expectations: Iterable[AlertExpectation], history: AlertHistory,
            windows: dict[str, tuple[float, float]], faults: list[dict[str, Any]],
            max_gap: float = 3.0, origins: dict[str, float] | None = None) -> dict[str, Any]:
    """Per expected alert its times from its anchor; gaps (expected, never fired in time); noise (fired
    while no fault was active nor settling, and not anticipated); other alerts that fired during faults."""
    fires = [e for e in expectations if e.kind in ("fires", "notified")]
    confirmed = {f["name"]: f["confirmed_s"] for f in faults}
    expected: list[dict[str, Any]] = []
    gaps: list[str] = []
    unseen: list[str] = []   # failed without evidence: the anchor never came, or the watcher was not polling
    anticipated: dict[str, list[tuple[float, float]]] = {}
    for e in fires:
        anchor = _anchor(e, windows, confirmed)
        row: dict[str, Any] = {"alert": e.alert, "after": f"{e.anchor_kind} {e.anchor}", "within_s": e.within_s}
        if anchor is not None:
            since = min(anchor, (origins or {}).get(f"{e.anchor_kind} {e.anchor}", anchor))
            row.update(timings(history, e.alert, anchor, since=since))
            anticipated.setdefault(e.alert, []).append((since, _settled(e, windows, faults)))
        if not judge(e, history, windows, confirmed, max_gap, origins)[0]:
            blind = anchor is None or history.uncovered_seconds(anchor, anchor + e.within_s, max_gap) > 0
            (unseen if blind else gaps).append(e.alert)
        if row not in expected:  # `fires` and `notified` on the same anchor share one row
            expected.append(row)
    fault_spans = [(f["injected_s"], math.inf if f["reverted_s"] is None else f["reverted_s"] + SETTLE_S)
                   for f in faults if f["injected_s"] is not None]
    noise, during_faults = [], []
    for ep in history.episodes:
        if ep.firing_t is None or any(a <= ep.firing_t < b for a, b in anticipated.get(ep.alert, []) + anticipated.get(ANY, [])):
            continue
        row = {"alert": ep.alert, "labels": ep.labels, "firing_s": round(ep.firing_t, 3)}
        (during_faults if any(a <= ep.firing_t < b for a, b in fault_spans) else noise).append(row)
    return {"expected": expected, "gaps": sorted(set(gaps)), "no_evidence": sorted(set(unseen) - set(gaps)),
            "noise": noise, "other_during_faults": during_faults,
            "rules": (history.rule_set or {}).get("rules"), "rule_set": (history.rule_set or {}).get("rule_set")}


def _settled(e: AlertExpectation, windows: dict[str, tuple[float, float]], faults: list[dict[str, Any]]) -> float:
    """Until when an alert firing is anticipated by `e`: its anchor's faults reverted and the cluster
    recovered (never, while one is not); for a phase without faults, the phase's end."""
    mine = [f for f in faults if (f["name"] == e.anchor if e.anchor_kind == "fault" else f.get("phase") == e.anchor)]
    if not mine:
        return windows.get(e.anchor, (0.0, math.inf))[1]
    ends = [math.inf if f["reverted_s"] is None or f.get("recovery_s") is None else f["reverted_s"] + f["recovery_s"]
            for f in mine]
    return max(ends)
