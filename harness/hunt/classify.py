"""One trial's journal → its class (pure: no Docker, no network, no clock).

A trial has the phases `steady`, `fault` (its faults injected at the start, reverted at the end) and
`recover`. Classes (docs/hunt.md):

- detected     customer impact, and an alert firing within the deadline after the fault's confirmation
- gap          customer impact, and no alert firing within the deadline
- noise        an alert firing, and no customer impact
- tolerated    neither impact nor alert: the cluster rode the fault out unseen, rightly
- no-evidence  nothing may be concluded: the trial did not complete, the cluster was not steady before
               the fault, a fault never confirmed, too little traffic in the fault window (measured from
               the fault's confirmation), no delivery expected in it without other impact, the
               harness itself saturated, or the alert watcher not polling throughout the detection window

Impact: in the fault or the recover phase, publish success below a threshold, delivery ratio below a
threshold, or delivery p99 latency above an SLO. Only alerts that went pending after the first fault
was injected count: one still firing from an earlier trial detects nothing here.

Lying health (a flag beside the class): impact while every health/readiness `probe` event of the
impact window was ok; None when the journal holds no probe in that window (no evidence either way).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from harness.alert_expect import WATCH_GAP_SCRAPES
from harness.analysis import analyse
from harness.judge import saturation
from harness.windows import WHOLE_RUN

DETECTED, GAP, NOISE, TOLERATED, NO_EVIDENCE = "detected", "gap", "noise", "tolerated", "no-evidence"
CLASSES = (DETECTED, GAP, NOISE, TOLERATED, NO_EVIDENCE)
STEADY, FAULT, RECOVER = "steady", "fault", "recover"


@dataclass(frozen=True)
class Thresholds:
    """What counts as customer impact, and how soon an alert must fire to count as detection."""

    success_rate: float = 0.99       # publish.success_rate below this: impact
    delivery_ratio: float = 0.99     # delivery.ratio below this: impact
    latency_ms: float = 1000.0       # delivery.latency_ms.p99 above this: impact
    deadline_s: float = 20.0         # an alert must fire within this after the fault's confirmation
    min_publishes: int = 20          # fewer publish attempts in a window: no evidence in it
    scrape_interval_s: float = 1.0   # the watcher's polls may be this many scrapes apart and still cover

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Classification:
    cls: str
    reason: str                                     # one line: why this class
    impact: list[Impact] = field(default_factory=list)  # each threshold crossed, with the value seen
    alerts: list[dict[str, Any]] = field(default_factory=list)   # alerts of this trial, times from confirmation
    detected_after_s: float | None = None
    lying_health: bool | None = None
    steady: bool = True                             # False: the cluster was not steady before the fault
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)   # key metrics per phase
    probes: dict[str, dict[str, int]] = field(default_factory=dict)    # per probe: answers, ok in fault + recover

    def to_json(self) -> dict[str, Any]:
        return {"class": self.cls, "reason": self.reason, "impact": [str(i) for i in self.impact], "alerts": self.alerts,
                "detected_after_s": self.detected_after_s, "lying_health": self.lying_health, "probes": self.probes,
                "steady": self.steady, "metrics": self.metrics}


KEY_METRICS = ("publish.attempts", "publish.success_rate", "delivery.expected", "delivery.ratio",
               "delivery.latency_ms.p99", "canary.success_rate")


@dataclass(frozen=True)
class Impact:
    """One threshold a phase crossed: `phase: metric op limit` held, with the value seen."""

    phase: str
    metric: str
    op: str                          # "<" or ">": the direction that hurts
    limit: float
    value: float

    def expectation(self) -> str:
        """The scenario expectation line that this impact satisfies."""
        return f"{self.phase}: {self.metric} {self.op} {self.limit:g}"

    def __str__(self) -> str:
        return f"{self.phase}: {self.metric} = {self.value:.4g} ({self.op} {self.limit:g})"


def impact_of(m: dict[str, Any], phase: str, t: Thresholds) -> list[Impact]:
    """The thresholds a phase's metrics cross."""
    out = []
    for metric, op, limit in (("publish.success_rate", "<", t.success_rate), ("delivery.ratio", "<", t.delivery_ratio),
                              ("delivery.latency_ms.p99", ">", t.latency_ms)):
        value = m.get(metric)
        if value is not None and (value < limit if op == "<" else value > limit):
            out.append(Impact(phase, metric, op, limit, value))
    return out


def classify(events: Iterable[dict[str, Any]], t: Thresholds = Thresholds()) -> Classification:
    """The class of one trial from its journal events."""
    events = list(events)
    a = analyse(events)
    metrics = {name: {k: a.metrics[name].get(k) for k in KEY_METRICS} for name in (STEADY, FAULT, RECOVER)
               if name in a.metrics}

    def none(reason: str, steady: bool = True) -> Classification:
        return Classification(NO_EVIDENCE, reason, steady=steady, metrics=metrics)

    end = next((e for e in reversed(events) if e["kind"] == "run_end"), None)
    if end is None:
        return none("the trial's journal has no run_end (killed)")
    if end.get("error"):
        return none(f"the trial failed: {end['error']}")
    missing = [p for p in (STEADY, FAULT, RECOVER) if p not in a.metrics]
    if missing:
        return none(f"phases missing from the journal: {', '.join(missing)}")
    steady = a.metrics[STEADY]
    if steady["publish.attempts"] < t.min_publishes:
        return none(f"steady: {steady['publish.attempts']} publish attempts (< {t.min_publishes})", steady=False)
    if impact_of(steady, STEADY, t):
        return none(f"not steady before the fault: {'; '.join(map(str, impact_of(steady, STEADY, t)))}", steady=False)
    if not a.faults or any(f["confirmed_s"] is None for f in a.faults):
        return none("a fault was never confirmed")
    if a.metrics[FAULT]["publish.attempts"] < t.min_publishes:
        return none(f"fault: {a.metrics[FAULT]['publish.attempts']} publish attempts (< {t.min_publishes}): "
                    "no traffic, no verdict")
    if a.metrics[RECOVER]["publish.attempts"] < t.min_publishes:
        return none(f"recover: {a.metrics[RECOVER]['publish.attempts']} publish attempts (< {t.min_publishes}): "
                    "no evidence customers were served after the revert")
    if saturated := saturation(a.metrics.get(WHOLE_RUN, {})):
        return none(saturated)
    injected = min(f["injected_s"] for f in a.faults)
    confirmed = min(f["confirmed_s"] for f in a.faults)
    if a.alerts.rule_set is None:
        return none("the alert watcher never saw the rule set loaded")
    deadline = confirmed + t.deadline_s
    uncovered = a.alerts.uncovered_seconds(confirmed, deadline, WATCH_GAP_SCRAPES * t.scrape_interval_s)
    if uncovered > 0:
        return none(f"no monitoring evidence for {uncovered:.1f} s of the {t.deadline_s:g} s after the fault's "
                    "confirmation (the alert watcher was not polling)")

    impact = impact_of(a.metrics[FAULT], FAULT, t) + impact_of(a.metrics[RECOVER], RECOVER, t)
    if not impact and not a.metrics[FAULT]["delivery.expected"]:
        # Subscribers all dropped (missed, not lost) leave no delivery ratio: no evidence they were served.
        return none("fault: 0 deliveries expected (no subscriber stayed connected): no evidence customers were "
                    "served")
    fault_start = next(w.start for w in a.windows if w.name == FAULT)
    trial_end = next(w.end for w in a.windows if w.name == RECOVER)
    alerts, firsts = [], []
    for ep in a.alerts.episodes:
        if ep.pending_t < injected:
            continue   # already pending or firing before this trial's fault: it cannot detect it
        rel = lambda x: None if x is None else round(x - confirmed, 3)
        alerts.append({"alert": ep.alert, "labels": ep.labels, "pending_after_s": rel(ep.pending_t),
                       "firing_after_s": rel(ep.firing_t), "notified_after_s": rel(ep.notified_t)})
        if ep.firing_t is not None:
            firsts.append(ep.firing_t)
    in_time = [f for f in firsts if f <= deadline]
    detected_after = round(max(0.0, min(in_time) - confirmed), 3) if in_time else None
    probes = probe_answers(events, fault_start, trial_end)
    # Lying health needs impact and evidence: at least one answer, every one ok.
    lying = all(p["ok"] == p["answers"] for p in probes.values()) if impact and probes else None
    c = Classification("", "", impact, alerts, detected_after, lying, True, metrics, probes)
    if impact and in_time:
        names = sorted({x["alert"] for x in alerts if x["firing_after_s"] is not None and x["firing_after_s"] <= t.deadline_s})
        c.cls, c.reason = DETECTED, f"{', '.join(names)} firing {detected_after:.1f} s after the fault's confirmation"
    elif impact:
        late = f"; first alert only after {min(firsts) - confirmed:.1f} s" if firsts else ""
        c.cls, c.reason = GAP, f"customers hurt, no alert firing within {t.deadline_s:g} s{late}"
    elif firsts:
        names = sorted({x["alert"] for x in alerts if x["firing_after_s"] is not None})
        c.cls, c.reason = NOISE, f"{', '.join(names)} fired; no customer impact"
    else:
        c.cls, c.reason = TOLERATED, "no customer impact, no alert"
    return c


def probe_answers(events: list[dict[str, Any]], start: float, end: float) -> dict[str, dict[str, int]]:
    """Per probe name, how many answers were journaled between start and end, and how many were ok."""
    out: dict[str, dict[str, int]] = {}
    for e in events:
        if e["kind"] == "probe" and start <= e["t"] <= end:
            counts = out.setdefault(e["name"], {"answers": 0, "ok": 0})
            counts["answers"] += 1
            counts["ok"] += bool(e.get("ok"))
    return out
