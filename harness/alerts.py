"""Alerts in the journal → episodes and per-window alert metrics (pure history, no verdicts).

The alert watcher (harness/observe/watcher.py) journals what Prometheus and the alert sink showed:
`alert_pending`, `alert_firing`, `alert_resolved` (with Prometheus's `active_t`, the evaluation that
turned the alert pending) and `alert_notified` (with `arrived_t`, when the sink received the webhook).
Every time here is in run seconds. Each successful Prometheus poll is journaled as `alert_watch_ok`:
the watcher's coverage, without which "no alert fired" is no evidence of anything. Verdicts on this
history: harness/alert_expect.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

ANY = "*"          # in an expectation: any alert of the rule set


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
    polls: list[float] = field(default_factory=list)  # successful Prometheus polls (alert_watch_ok)
    dead: str | None = None                           # the watcher stopped polling (alert_watch_dead)

    def names(self) -> list[str]:
        return sorted({e.alert for e in self.episodes})

    def uncovered_seconds(self, start: float, end: float, max_gap: float) -> float:
        """Seconds of [start, end) not covered by the watcher: inside a gap between successful polls
        longer than `max_gap` (before the first poll and after the last, the gap is open-ended)."""
        if end <= start:
            return 0.0
        points = [-math.inf, *sorted(self.polls), math.inf]
        total = 0.0
        for a, b in zip(points, points[1:]):
            if b - a > max_gap:
                total += max(0.0, min(b, end) - max(a, start))
        return round(total, 3)


    def watched_at(self, t: float, max_gap: float) -> bool:
        """Whether the moment `t` lies between two successful polls at most `max_gap` apart."""
        before = max((p for p in self.polls if p <= t), default=-math.inf)
        after = min((p for p in self.polls if p >= t), default=math.inf)
        return after - before <= max_gap


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
        elif kind == "alert_watch_ok" and e.get("source", "prometheus") == "prometheus":
            out.polls.append(float(e["t"]))
        elif kind == "alert_watch_dead":
            out.dead = str(e.get("error"))
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


def _first_after(episodes: list[Episode], attr: str, start: float, end: float,
                 since: float | None = None) -> float | None:
    """Seconds from `start` to the first `attr` time in [start, end); 0 if an episode was already there.
    With `since`, only episodes that turned pending at or after `since` count (a transition)."""
    best: float | None = None
    for e in episodes:
        t = getattr(e, attr)
        if t is None or (since is not None and e.pending_t < since):
            continue
        if t < start:
            if e.resolved_t is None or e.resolved_t > start:
                return 0.0
            continue
        if t < end and (best is None or t - start < best):
            best = t - start
    return None if best is None else round(best, 3)


def timings(history: AlertHistory, alert: str, start: float, end: float = math.inf,
            since: float | None = None) -> dict[str, Any]:
    """Time to pending, firing and notification of one alert, measured from `start`, looking until `end`
    (with `since`, only episodes that began at or after `since`)."""
    episodes = [e for e in history.episodes if alert in (ANY, e.alert)]
    return {
        "pending_after_s": _first_after(episodes, "pending_t", start, end, since),
        "firing_after_s": _first_after(episodes, "firing_t", start, end, since),
        "notified_after_s": _first_after(episodes, "notified_t", start, end, since),
        "fired": any(e.firing_during(start, end) for e in episodes),
    }


def window_metrics(history: AlertHistory, start: float, end: float, alerts: Iterable[str] = (),
                   max_gap: float = 3.0) -> dict[str, Any]:
    """`alert.<Name>.pending_after_s|firing_after_s|notified_after_s|fired` for every alert of the rule
    set (`alerts`) and every alert seen, and the watcher's coverage `monitoring.polls|uncovered_s`."""
    out: dict[str, Any] = {"monitoring.polls": sum(start <= t < end for t in history.polls),
                           "monitoring.uncovered_s": history.uncovered_seconds(start, end, max_gap)}
    for name in sorted(set(alerts) | set(history.names())):
        for key, value in timings(history, name, start, end).items():
            out[f"alert.{name}.{key}"] = value
    return out
