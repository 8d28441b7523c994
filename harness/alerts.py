"""Alerts in the journal → episodes, per-window alert metrics, alert expectations → verdicts (pure).

The alert watcher (harness/observe/watcher.py) journals what Prometheus and the alert sink showed:
`alert_pending`, `alert_firing`, `alert_resolved` (with Prometheus's `active_t`, the evaluation that
turned the alert pending) and `alert_notified` (with `arrived_t`, when the sink received the webhook).
Every time here is in run seconds. An alert expectation is one line:

    alert RedisCacheErrors fires within 30s after phase misconf
    alert RedisCacheErrors fires within 30s after fault misconf-1     (from the fault's confirmation)
    alert RedisDown silent during misconf                            (a phase, a named window, or run)
    alert * silent during steady                                     (no alert at all)
    alert * fires within 20s after fault misconf-1                   (any alert: a hunt's found gap)

A gap is a `fires` expectation that did not hold. Noise is an alert firing that no `fires` expectation
anticipated (same alert, anchored at or before it fired) while no fault was active or settling
(SETTLE_S after its revert); unanticipated alerts during faults are listed apart. docs/monitoring.md.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

ANY = "*"
SETTLE_S = 30.0    # after a fault's revert, alerts it caused may still fire (windows, for-durations)
_FIRES = re.compile(r"^\s*alert\s+(?P<alert>[A-Za-z_][A-Za-z0-9_]*|\*)\s+fires\s+within\s+(?P<within>\S+)\s+after\s+"
                    r"(?P<anchor_kind>phase|fault)\s+(?P<anchor>[A-Za-z][\w-]*)\s*$")
_SILENT = re.compile(r"^\s*alert\s+(?P<alert>[A-Za-z_][A-Za-z0-9_]*|\*)\s+silent\s+during\s+(?P<window>[A-Za-z][\w-]*)\s*$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}
GRAMMAR = ("'alert <Name|*> fires within <duration> after phase|fault <name>' or "
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


@dataclass
class Episode:
    """One alert instance (name + labels) from pending (or firing) to resolved."""

    alert: str
    labels: dict[str, str]
    pending_t: float                  # Prometheus activeAt, in run seconds
    firing_t: float | None = None     # Alertmanager's startsAt if notified, else the first poll seeing it firing
    resolved_t: float | None = None   # first poll that no longer listed it
    notified_t: float | None = None   # first firing notification to arrive at the sink

    def firing_during(self, start: float, end: float) -> bool:
        if self.firing_t is None:
            return False
        until = math.inf if self.resolved_t is None else self.resolved_t
        return self.firing_t < end and until > start


@dataclass
class AlertHistory:
    episodes: list[Episode] = field(default_factory=list)
    rule_set: dict[str, Any] | None = None            # the alert_rules_loaded event, if any
    rule_errors: list[dict[str, Any]] = field(default_factory=list)

    def names(self) -> list[str]:
        return sorted({e.alert for e in self.episodes})


def parse(text: str, windows: set[str], phases: set[str], faults: set[str]) -> AlertExpectation:
    """Parse one alert expectation line; ValueError says what is wrong and what is allowed."""
    if m := _FIRES.match(text):
        within = _seconds(m["within"])
        if within is None or within <= 0:
            raise ValueError(f"cannot read the duration {m['within']!r}; write e.g. 30s, 500ms, 2m")
        names = phases if m["anchor_kind"] == "phase" else faults
        if m["anchor"] not in names:
            raise ValueError(f"unknown {m['anchor_kind']} {m['anchor']!r}; allowed: {', '.join(sorted(names)) or 'none'}")
        return AlertExpectation(text, m["alert"], "fires", m["anchor_kind"], m["anchor"], within)
    if m := _SILENT.match(text):
        if m["window"] not in windows:
            raise ValueError(f"unknown window {m['window']!r}; allowed: {', '.join(sorted(windows))}")
        return AlertExpectation(text, m["alert"], "silent", anchor=m["window"])
    raise ValueError(f"cannot read {text!r}; write {GRAMMAR}")


def _seconds(text: str) -> float | None:
    m = _DURATION.match(text)
    return float(m[1]) * _UNIT[m[2]] if m else None


def history(events: Iterable[dict[str, Any]]) -> AlertHistory:
    """The alert episodes of a journal, with notification arrival times matched to them."""
    out = AlertHistory()
    open_: dict[tuple[str, tuple], Episode] = {}
    notifications: list[dict[str, Any]] = []
    for e in events:
        kind = e["kind"]
        if kind in ("alert_pending", "alert_firing"):
            key = (e["alert"], tuple(sorted(e.get("labels", {}).items())))
            episode = open_.get(key)
            if episode is None:
                episode = Episode(e["alert"], dict(e.get("labels", {})), float(e.get("active_t", e["t"])))
                open_[key] = episode
                out.episodes.append(episode)
            if kind == "alert_firing" and episode.firing_t is None:
                episode.firing_t = float(e["t"])
        elif kind == "alert_resolved":
            key = (e["alert"], tuple(sorted(e.get("labels", {}).items())))
            if (episode := open_.pop(key, None)) is not None:
                episode.resolved_t = float(e["t"])
        elif kind == "alert_notified" and e.get("status") == "firing":
            notifications.append(e)
        elif kind == "alert_rules_loaded":
            out.rule_set = e
        elif kind == "alert_rule_error":
            out.rule_errors.append(e)
    for n in notifications:
        labels = n.get("labels", {})
        for episode in out.episodes:
            # Alertmanager labels are the alert's labels plus alertname: match on the episode's.
            if (episode.alert == n["alert"] and all(labels.get(k) == v for k, v in episode.labels.items())
                    and episode.notified_t is None and float(n["arrived_t"]) >= episode.pending_t):
                episode.notified_t = float(n["arrived_t"])
                # startsAt is Prometheus's own firing time: exact, where the poll is up to 1 s late.
                starts = n.get("starts_t")
                if starts is not None and episode.firing_t is not None and episode.pending_t - 0.01 <= starts < episode.firing_t:
                    # Not before activeAt: the two clocks' conversions differ by rounding only.
                    episode.firing_t = max(float(starts), episode.pending_t)
                break
    return out


def _first_after(episodes: list[Episode], attr: str, start: float, end: float) -> float | None:
    """Seconds from `start` to the first `attr` time in [start, end); 0 if an episode was already there."""
    best: float | None = None
    for e in episodes:
        t = getattr(e, attr)
        if t is None:
            continue
        if t < start:
            if e.resolved_t is None or e.resolved_t > start:
                return 0.0
            continue
        if t < end and (best is None or t - start < best):
            best = t - start
    return None if best is None else round(best, 3)


def timings(history: AlertHistory, alert: str, start: float, end: float = math.inf) -> dict[str, Any]:
    """Time to pending, firing and notification of one alert, measured from `start`, looking until `end`."""
    episodes = [e for e in history.episodes if alert in (ANY, e.alert)]
    return {
        "pending_after_s": _first_after(episodes, "pending_t", start, end),
        "firing_after_s": _first_after(episodes, "firing_t", start, end),
        "notified_after_s": _first_after(episodes, "notified_t", start, end),
        "fired": any(e.firing_during(start, end) for e in episodes),
    }


def window_metrics(history: AlertHistory, start: float, end: float) -> dict[str, Any]:
    """`alert.<Name>.pending_after_s|firing_after_s|notified_after_s|fired` for every alert seen."""
    out: dict[str, Any] = {}
    for name in history.names():
        for key, value in timings(history, name, start, end).items():
            out[f"alert.{name}.{key}"] = value
    return out


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
        if ep.firing_t is None or any(a <= ep.firing_t for a in anchors.get(ep.alert, []) + anchors.get(ANY, [])):
            continue
        row = {"alert": ep.alert, "labels": ep.labels, "firing_s": round(ep.firing_t, 3)}
        (during_faults if any(a <= ep.firing_t < b for a, b in fault_spans) else noise).append(row)
    return {"expected": expected, "gaps": sorted(set(gaps)), "noise": noise, "other_during_faults": during_faults,
            "rules": (history.rule_set or {}).get("rules"), "rule_set": (history.rule_set or {}).get("rule_set")}
