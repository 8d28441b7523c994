"""Journal → metrics per window and per time bucket (pure: no Docker, no network, no clock).

Windows are the phases, the scenario's named windows, and `run` (the whole run); the timeline cuts the
run into buckets (default 1 s). A publish belongs to the windows its send time falls in, and its
deliveries are judged with it. The honest-expectation rule (docs/architecture.md): a subscriber is
expected to receive a message only if its subscription to the channel was confirmed before the publish
was sent and it stayed connected until the publish's acknowledgement plus the grace period. The canary
(publisher and subscriber named `canary`) is accounted apart from the load. Metric names: docs/metrics.md.

`analyse` runs named steps, each a small function over compact records: `read` (the journal → Facts),
`resolve_windows`, `count_publishes`, `count_receipts`, `count_sockets`, the timeline, recovery and
the alert metrics. One pass over the events, so a journal of millions of events fits.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from sys import intern
from typing import Any, Callable, Iterable

from harness import alerts as alerting
from harness.counters import Counters
from harness.journal import CANARY
from harness.recovery import Recovery, fault_recoveries, window_recoveries
from harness.windows import WHOLE_RUN, NamedWindow, Window

INF = math.inf
# Disconnect reasons that are the harness ending its own load, not the cluster dropping a socket.
HARNESS_CLOSES = ("stopped", "deadline")


@dataclass(slots=True)
class Publish:
    pub: str
    seq: int
    channel: str
    sent: float
    ack: float
    ok: bool
    error: str | None


@dataclass
class Facts:
    """What the journal says, compacted: the output of `read`, the input of every other step."""

    run: dict[str, Any] = field(default_factory=dict)
    phases: list[Window] = field(default_factory=list)
    publishes: dict[tuple[str, int], Publish] = field(default_factory=dict)
    intervals: dict[str, list[tuple[str, float, float]]] = field(default_factory=lambda: defaultdict(list))
    receipts: dict[tuple[str, str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    order: list[tuple[float, str, str, Any, str, int]] = field(default_factory=list)   # (t, sub, channel, run, pub, seq)
    connects: list[tuple[str, float]] = field(default_factory=list)
    disconnects: list[tuple[str, float]] = field(default_factory=list)
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    alert_events: list[dict[str, Any]] = field(default_factory=list)
    first_t: float = 0.0
    last_t: float = 0.0


@dataclass
class Analysis:
    run: dict[str, Any]
    windows: list[Window]                               # phases, in order
    metrics: dict[str, dict[str, Any]]                  # window name → dotted metric → value
    faults: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    named: list[Window] = field(default_factory=list)
    alerts: alerting.AlertHistory = field(default_factory=alerting.AlertHistory)


def analyse(events: Iterable[dict[str, Any]], named: Iterable[NamedWindow] = (), bucket_s: float = 1.0,
            recovery: Recovery = Recovery()) -> Analysis:
    """Every metric of docs/metrics.md for each phase, named window and the run, plus a timeline."""
    facts = read(events)
    phases, named_windows, whole = resolve_windows(facts, named)
    windows = phases + named_windows + [whole]
    counters = Attribution(windows, whole.start, whole.end, bucket_s)
    grace = float(facts.run.get("grace_s", 2.0))
    count_publishes(facts, counters.at, grace)
    count_receipts(facts, counters.at)
    count_sockets(facts, counters.at)
    metrics = {w.name: counters.by_window[w.name].metrics(w, disconnected_seconds(w, facts)) for w in windows}
    timeline = [b.bucket_metrics(round(whole.start + i * bucket_s, 3)) for i, b in enumerate(counters.buckets)]
    faults = sorted(facts.faults.values(), key=lambda f: f["injected_s"] if f["injected_s"] is not None else INF)
    fault_recoveries(faults, timeline, bucket_s, recovery)
    window_recoveries(faults, phases, named_windows + [whole], metrics)
    history = alerting.history(facts.alert_events)
    for w in windows:
        metrics[w.name].update(alerting.window_metrics(history, w.start, w.end))
    return Analysis(facts.run, phases, metrics, faults, timeline, named_windows, history)


def read(events: Iterable[dict[str, Any]]) -> Facts:
    """Step 1: one pass over the journal, keeping compact records only."""
    f = Facts()
    phase_starts: dict[str, float] = {}
    open_subs: dict[str, dict[str, float]] = defaultdict(dict)                   # sub → channel → confirmed
    first_t = last_t = None

    def close_session(sub: str, t: float) -> None:
        for channel, since in open_subs.pop(sub, {}).items():
            f.intervals[channel].append((sub, since, t))

    for e in events:
        kind, t = e["kind"], e["t"]
        first_t = t if first_t is None else first_t
        last_t = t
        if kind.startswith("alert_"):
            f.alert_events.append(e)
        if kind == "ws_receive":
            # Interned names: a million receipts share a handful of sub, pub, channel and run strings.
            sub, pub, seq = intern(e["sub"]), intern(str(e.get("pub"))), int(e.get("seq", -1))
            f.receipts[(sub, pub, seq)].append(t)
            f.order.append((t, sub, intern(str(e.get("channel"))), e.get("run") and intern(e["run"]), pub, seq))
        elif kind == "publish":
            pub, seq = intern(e["pub"]), int(e["seq"])
            f.publishes[(pub, seq)] = Publish(pub, seq, intern(e["channel"]), float(e["sent"]), float(t),
                                              bool(e["ok"]), e.get("error"))
        elif kind == "ws_subscribed":
            open_subs[e["sub"]][e["channel"]] = t
        elif kind == "ws_unsubscribed":
            since = open_subs[e["sub"]].pop(e["channel"], None)
            if since is not None:
                f.intervals[e["channel"]].append((e["sub"], since, t))
        elif kind == "ws_connect":
            close_session(e["sub"], t)
            f.connects.append((e["sub"], t))
        elif kind == "ws_disconnect":
            close_session(e["sub"], t)
            if e.get("reason") not in HARNESS_CLOSES:
                f.disconnects.append((e["sub"], t))
        elif kind == "phase_start":
            phase_starts[e["phase"]] = t
        elif kind == "phase_end" and e["phase"] in phase_starts:
            f.phases.append(Window(e["phase"], phase_starts.pop(e["phase"]), t))
        elif kind.startswith("fault_"):
            fault = f.faults.setdefault(e["fault"], {"name": e["fault"], "kind": e.get("fault_kind"),
                                                     "target": e.get("target"), "injected_s": None,
                                                     "confirmed_s": None, "reverted_s": None})
            stage = kind.removeprefix("fault_")
            if stage in ("injected", "confirmed", "reverted") and fault[f"{stage}_s"] is None:
                fault[f"{stage}_s"] = t
        elif kind == "run_start":
            f.run = {k: v for k, v in e.items() if k != "source"}
    f.first_t, f.last_t = first_t or 0.0, last_t or 0.0
    # Sessions still open end with the journal: a killed run's last publishes are then not expected
    # (their ack + grace lies past what was written), instead of counted as lost.
    for sub in list(open_subs):
        close_session(sub, f.last_t)
    # A phase that never ended (killed run) lasts until the last event.
    f.phases.extend(Window(name, t, f.last_t + 1e-9) for name, t in phase_starts.items())
    f.phases.sort(key=lambda w: w.start)
    return f


def resolve_windows(facts: Facts, named: Iterable[NamedWindow]) -> tuple[list[Window], list[Window], Window]:
    """Step 2: the phases, the named windows placed in their phase, and the whole run."""
    phases = facts.phases
    whole = Window(WHOLE_RUN, phases[0].start if phases else facts.first_t,
                   max([facts.last_t] + [w.end for w in phases]) + 1e-9)
    by_name = {w.name: w for w in phases}
    out = []
    for n in named:
        phase = by_name.get(n.phase)
        if phase is None:
            continue  # the phase never started (a killed run): the window has no data
        end = phase.end if n.end_s is None else min(phase.start + n.end_s, phase.end)
        out.append(Window(n.name, phase.start + n.start_s, max(end, phase.start + n.start_s)))
    return phases, out, whole


class Attribution:
    """The counters of every window and timeline bucket; `at(t)` is those a time falls in."""

    def __init__(self, windows: list[Window], origin: float, end: float, bucket_s: float) -> None:
        self.windows = windows
        self.origin = origin
        self.bucket_s = bucket_s
        self.by_window = {w.name: Counters() for w in windows}
        self.buckets = [Counters() for _ in range(max(1, math.ceil(round((end - origin) / bucket_s, 6))))]

    def at(self, t: float) -> list[Counters]:
        out = [self.by_window[w.name] for w in self.windows if w.holds(t)]
        index = int((t - self.origin) // self.bucket_s)
        if 0 <= index < len(self.buckets):
            out.append(self.buckets[index])
        return out


At = Callable[[float], list[Counters]]


def count_publishes(facts: Facts, at: At, grace: float) -> None:
    """Step 3: attempts, outcomes and the expected deliveries of each publish, by send time."""
    received_by_any = {(p, s) for (_sub, p, s) in facts.receipts}
    for key, p in facts.publishes.items():
        where = at(p.sent)
        if p.pub == CANARY:
            times = facts.receipts.get((CANARY, p.pub, p.seq))
            for s in where:
                s.canary_sent += 1
                if p.ok and times:
                    s.canary_received += 1
                    s.canary_latency.append((times[0] - p.sent) * 1000)
            continue
        for s in where:
            s.attempts += 1
            if p.ok:
                s.ok += 1
                s.publish_latency.append((p.ack - p.sent) * 1000)
            else:
                s.errors[p.error or "other"] += 1
                if key in received_by_any:
                    s.recovered += 1
        if not p.ok:
            continue
        for sub, since, until in facts.intervals.get(p.channel, ()):
            if not (since < p.sent and until >= p.ack + grace):
                continue
            times = facts.receipts.get((sub, p.pub, p.seq))
            for s in where:
                s.expected += 1
                if times:
                    s.received += 1
                    s.duplicated += len(times) - 1
                    s.delivery_latency.append((times[0] - p.sent) * 1000)
                    if times[0] > p.ack + grace:
                        s.late += 1


def count_receipts(facts: Facts, at: At) -> None:
    """Step 4: unexpected receipts (not published, other run, wrong channel) and reordered ones."""
    run_id = facts.run.get("run_id")
    highest: dict[tuple[str, str, str], int] = {}
    seen: set[tuple[str, str, int]] = set()
    for t, sub, channel, receipt_run, pub, seq in facts.order:
        p = facts.publishes.get((pub, seq))
        if p is None or receipt_run not in (None, run_id) or p.channel != channel:
            for s in at(t):
                s.unexpected += 1
            continue
        if (sub, pub, seq) in seen or pub == CANARY:
            continue
        seen.add((sub, pub, seq))
        stream = (sub, pub, channel)
        if seq < highest.get(stream, -1):
            for s in at(p.sent):
                s.reordered += 1
        highest[stream] = max(highest.get(stream, -1), seq)


def count_sockets(facts: Facts, at: At) -> None:
    """Step 5: connects, reconnects and disconnects by the time they happened."""
    seen_subs: set[str] = set()
    for sub, t in facts.connects:
        for s in at(t):
            s.connects += 1
            if sub in seen_subs:
                s.reconnects += 1
        seen_subs.add(sub)
    for sub, t in facts.disconnects:
        for s in at(t):
            s.disconnects += 1


def disconnected_seconds(w: Window, facts: Facts) -> float:
    """Seconds subscribers spent between a disconnect and their next connect, clipped to the window."""
    total = 0.0
    connect_times: dict[str, list[float]] = defaultdict(list)
    for sub, t in facts.connects:
        connect_times[sub].append(t)
    for sub, t in facts.disconnects:
        later = [c for c in connect_times[sub] if c >= t]
        back = min(later) if later else facts.last_t
        total += max(0.0, min(back, w.end, facts.last_t) - max(t, w.start))
    return round(total, 3)
