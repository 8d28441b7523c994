"""Journal → metrics per window and per time bucket (pure: no Docker, no network, no clock).

Windows are the phases, the scenario's named windows, and `run` (the whole run); the timeline cuts the
run into buckets (default 1 s). A publish belongs to the windows its send time falls in, and its
deliveries are judged with it. The honest-expectation rule (DESIGN.md): a subscriber is expected to
receive a message only if its subscription to the channel was confirmed before the publish was sent and
it stayed connected until the publish's acknowledgement plus the grace period. Everything else is not
expected and never counted as lost. The canary (publisher and subscriber named `canary`) is accounted
apart from the load. Metric names: docs/metrics.md.

One pass over the events, keeping compact records only, so a journal of millions of events fits.
"""
from __future__ import annotations

import math
from sys import intern
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from harness import alerts as alerting, presence
from harness.expect import WHOLE_RUN

INF = math.inf
CANARY = "canary"
# Disconnect reasons that are the harness ending its own load, not the cluster dropping a socket.
HARNESS_CLOSES = ("stopped", "deadline", "churn")


@dataclass(frozen=True)
class Window:
    name: str
    start: float
    end: float

    def holds(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class NamedWindow:
    """A window the scenario names: offsets in seconds from its phase's start (end None: the phase's end)."""

    name: str
    phase: str
    start_s: float = 0.0
    end_s: float | None = None


@dataclass(frozen=True)
class Recovery:
    """When is the cluster recovered after a fault is reverted: thresholds held for `sustain_s`."""

    success_rate: float = 0.99
    delivery_ratio: float = 0.99
    sustain_s: float = 5.0


@dataclass(slots=True)
class Publish:
    pub: str
    seq: int
    channel: str
    sent: float
    ack: float
    ok: bool
    error: str | None
    origin: str | None = None     # a client event's sending subscriber: never expected to receive it


@dataclass
class Analysis:
    run: dict[str, Any]
    windows: list[Window]                               # phases, in order
    metrics: dict[str, dict[str, Any]]                  # window name → dotted metric → value
    faults: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    named: list[Window] = field(default_factory=list)
    alerts: alerting.AlertHistory = field(default_factory=alerting.AlertHistory)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of unsorted values (q in 0..1); None for no values."""
    return _rank(sorted(values), q) if values else None


def _rank(ordered: list[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _latency(prefix: str, values: list[float], out: dict[str, Any], quantiles=("p50", "p90", "p99", "max")) -> None:
    ordered = sorted(values)
    for name in quantiles:
        q = 1.0 if name == "max" else int(name[1:]) / 100
        out[f"{prefix}.{name}"] = round(_rank(ordered, q), 3) if ordered else None


@dataclass
class _Stats:
    attempts: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recovered: int = 0
    publish_latency: list[float] = field(default_factory=list)
    error_latency: list[float] = field(default_factory=list)    # send → the failing answer (or give-up)
    expected: int = 0
    received: int = 0
    duplicated: int = 0
    unexpected: int = 0
    reordered: int = 0
    late: int = 0
    delivery_latency: list[float] = field(default_factory=list)
    connects: int = 0
    disconnects: int = 0
    reconnects: int = 0
    canary_sent: int = 0
    canary_received: int = 0
    canary_latency: list[float] = field(default_factory=list)

    def metrics(self, w: Window, disconnected_s: float) -> dict[str, Any]:
        m: dict[str, Any] = {"window.start_s": round(w.start, 3), "window.end_s": round(w.end, 3)}
        m["publish.attempts"] = self.attempts
        m["publish.ok"] = self.ok
        m["publish.errors"] = sum(self.errors.values())
        for cls, n in sorted(self.errors.items()):
            m[f"publish.errors.{cls}"] = n
        m["publish.success_rate"] = _ratio(self.ok, self.attempts)
        _latency("publish.latency_ms", self.publish_latency, m)
        _latency("publish.error_latency_ms", self.error_latency, m, ("p50", "p99", "max"))
        m["delivery.expected"] = self.expected
        m["delivery.received"] = self.received
        m["delivery.lost"] = self.expected - self.received
        m["delivery.duplicated"] = self.duplicated
        m["delivery.unexpected"] = self.unexpected
        m["delivery.reordered"] = self.reordered
        m["delivery.late"] = self.late
        m["delivery.recovered"] = self.recovered
        m["delivery.ratio"] = _ratio(self.received, self.expected)
        _latency("delivery.latency_ms", self.delivery_latency, m)
        m["canary.sent"] = self.canary_sent
        m["canary.received"] = self.canary_received
        m["canary.success_rate"] = _ratio(self.canary_received, self.canary_sent)
        _latency("canary.latency_ms", self.canary_latency, m, ("p50", "p99"))
        m["ws.connects"] = self.connects
        m["ws.disconnects"] = self.disconnects
        m["ws.reconnects"] = self.reconnects
        m["ws.disconnected_seconds"] = disconnected_s
        return m


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def analyse(events: Iterable[dict[str, Any]], named: Iterable[NamedWindow] = (), bucket_s: float = 1.0,
            recovery: Recovery = Recovery()) -> Analysis:
    """Every metric of docs/metrics.md for each phase, named window and the run, plus a timeline."""
    run: dict[str, Any] = {}
    phase_starts: dict[str, float] = {}
    phases: list[Window] = []
    publishes: dict[tuple[str, int], Publish] = {}
    intervals: dict[str, list[tuple[str, float, float]]] = defaultdict(list)   # channel → (sub, from, until)
    open_subs: dict[str, dict[str, float]] = defaultdict(dict)                   # sub → channel → confirmed
    receipts: dict[tuple[str, str, int], list[float]] = defaultdict(list)        # (sub, pub, seq) → times
    order: list[tuple[float, str, str, Any, str, int]] = []                      # (t, sub, channel, run, pub, seq)
    connects: list[tuple[str, float]] = []
    disconnects: list[tuple[str, float]] = []
    faults: dict[str, dict[str, Any]] = {}
    first_t = last_t = None

    def close_session(sub: str, t: float) -> None:
        for channel, since in open_subs.pop(sub, {}).items():
            intervals[channel].append((sub, since, t))

    alert_events: list[dict[str, Any]] = []
    presence_events: list[dict[str, Any]] = []
    for e in events:
        kind, t = e["kind"], e["t"]
        first_t = t if first_t is None else first_t
        last_t = t
        if kind.startswith("alert_"):
            alert_events.append(e)
        if kind in presence.KINDS:
            presence_events.append(e)
        if kind == "ws_receive":
            # Interned names: a million receipts share a handful of sub, pub, channel and run strings.
            sub, pub, seq = intern(e["sub"]), intern(str(e.get("pub"))), int(e.get("seq", -1))
            receipts[(sub, pub, seq)].append(t)
            order.append((t, sub, intern(str(e.get("channel"))), e.get("run") and intern(e["run"]), pub, seq))
        elif kind == "publish":
            pub, seq = intern(e["pub"]), int(e["seq"])
            publishes[(pub, seq)] = Publish(pub, seq, intern(e["channel"]), float(e["sent"]), float(t), bool(e["ok"]),
                                            e.get("error"), e.get("origin"))
        elif kind == "ws_subscribed":
            open_subs[e["sub"]][e["channel"]] = t
        elif kind == "ws_unsubscribed":
            since = open_subs[e["sub"]].pop(e["channel"], None)
            if since is not None:
                intervals[e["channel"]].append((e["sub"], since, t))
        elif kind == "ws_connect":
            close_session(e["sub"], t)
            connects.append((e["sub"], t))
        elif kind == "ws_disconnect":
            close_session(e["sub"], t)
            if e.get("reason") not in HARNESS_CLOSES:
                disconnects.append((e["sub"], t))
        elif kind == "phase_start":
            phase_starts[e["phase"]] = t
        elif kind == "phase_end" and e["phase"] in phase_starts:
            phases.append(Window(e["phase"], phase_starts.pop(e["phase"]), t))
        elif kind.startswith("fault_"):
            f = faults.setdefault(e["fault"], {"name": e["fault"], "kind": e.get("fault_kind"), "target": e.get("target"),
                                               "injected_s": None, "confirmed_s": None, "reverted_s": None})
            stage = kind.removeprefix("fault_")
            if stage in ("injected", "confirmed", "reverted") and f[f"{stage}_s"] is None:
                f[f"{stage}_s"] = t
        elif kind == "run_start":
            run = {k: v for k, v in e.items() if k != "source"}
    first_t, last_t = first_t or 0.0, last_t or 0.0
    # Sessions still open end with the journal: a killed run's last publishes are then not expected
    # (their ack + grace lies past what was written), instead of counted as lost.
    for sub in list(open_subs):
        close_session(sub, last_t)
    # A phase that never ended (killed run) lasts until the last event.
    phases.extend(Window(name, t, last_t + 1e-9) for name, t in phase_starts.items())
    phases.sort(key=lambda w: w.start)

    grace = float(run.get("grace_s", 2.0))
    run_id = run.get("run_id")
    whole = Window(WHOLE_RUN, phases[0].start if phases else first_t, max([last_t] + [w.end for w in phases]) + 1e-9)
    named_windows = _resolve(named, phases)
    all_windows = phases + named_windows + [whole]
    stats = {w.name: _Stats() for w in all_windows}
    origin = whole.start
    n_buckets = max(1, math.ceil(round((whole.end - origin) / bucket_s, 6)))
    buckets = [_Stats() for _ in range(n_buckets)]

    def at(t: float) -> list[_Stats]:
        out = [stats[w.name] for w in all_windows if w.holds(t)]
        index = int((t - origin) // bucket_s)
        if 0 <= index < n_buckets:
            out.append(buckets[index])
        return out

    received_by_any = {(p, s) for (_sub, p, s) in receipts}
    for key, p in publishes.items():
        where = at(p.sent)
        if p.pub == CANARY:
            times = receipts.get((CANARY, p.pub, p.seq))
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
                s.error_latency.append((p.ack - p.sent) * 1000)
                if key in received_by_any:
                    s.recovered += 1
        if not p.ok:
            continue
        for sub, since, until in intervals.get(p.channel, ()):
            if not (since < p.sent and until >= p.ack + grace) or sub == p.origin:
                continue
            times = receipts.get((sub, p.pub, p.seq))
            for s in where:
                s.expected += 1
                if times:
                    s.received += 1
                    s.duplicated += len(times) - 1
                    s.delivery_latency.append((times[0] - p.sent) * 1000)
                    if times[0] > p.ack + grace:
                        s.late += 1

    # Unexpected and reordered receipts.
    highest: dict[tuple[str, str, str], int] = {}
    seen: set[tuple[str, str, int]] = set()
    for t, sub, channel, receipt_run, pub, seq in order:
        p = publishes.get((pub, seq))
        # Unexpected: never published, another run's, another channel's, or a client event echoed to its sender.
        if p is None or receipt_run not in (None, run_id) or p.channel != channel or p.origin == sub:
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

    seen_subs: set[str] = set()
    for sub, t in connects:
        for s in at(t):
            s.connects += 1
            if sub in seen_subs:
                s.reconnects += 1
        seen_subs.add(sub)
    for sub, t in disconnects:
        for s in at(t):
            s.disconnects += 1

    metrics = {w.name: stats[w.name].metrics(w, _disconnected_seconds(w, connects, disconnects, last_t))
               for w in all_windows}
    timeline = [_bucket_metrics(i, origin, bucket_s, b) for i, b in enumerate(buckets)]
    fault_list = sorted(faults.values(), key=lambda f: f["injected_s"] if f["injected_s"] is not None else INF)
    _recovery(fault_list, timeline, bucket_s, recovery, all_windows, {w.name for w in phases}, metrics)
    alert_history = alerting.history(alert_events)
    presence_metrics = presence.window_metrics(presence_events, all_windows)
    for w in all_windows:
        metrics[w.name].update(alerting.window_metrics(alert_history, w.start, w.end))
        metrics[w.name].update(presence_metrics.get(w.name, {}))
    return Analysis(run, phases, metrics, fault_list, timeline, named_windows, alert_history)


def _resolve(named: Iterable[NamedWindow], phases: list[Window]) -> list[Window]:
    by_name = {w.name: w for w in phases}
    out = []
    for n in named:
        phase = by_name.get(n.phase)
        if phase is None:
            continue  # the phase never started (a killed run): the window has no data
        end = phase.end if n.end_s is None else min(phase.start + n.end_s, phase.end)
        out.append(Window(n.name, phase.start + n.start_s, max(end, phase.start + n.start_s)))
    return out


def _bucket_metrics(i: int, origin: float, bucket_s: float, b: _Stats) -> dict[str, Any]:
    m: dict[str, Any] = {"t": round(origin + i * bucket_s, 3), "publish.attempts": b.attempts, "publish.ok": b.ok,
                         "publish.errors": sum(b.errors.values()), "publish.success_rate": _ratio(b.ok, b.attempts),
                         "delivery.expected": b.expected, "delivery.received": b.received,
                         "delivery.ratio": _ratio(b.received, b.expected),
                         "canary.sent": b.canary_sent, "canary.received": b.canary_received}
    _latency("delivery.latency_ms", b.delivery_latency, m, ("p50", "p99"))
    return m


def _recovery(faults: list[dict[str, Any]], timeline: list[dict[str, Any]], bucket_s: float, r: Recovery,
              windows: list[Window], phase_names: set[str], metrics: dict[str, dict[str, Any]]) -> None:
    """recovery.seconds: reverted → first bucket from which the thresholds hold for `sustain_s`.

    Set on each fault (`recovery_s`); on the phase that follows the revert, and on named windows and the
    run holding it (`recovery.seconds`, the longest there); None when the run ended before a sustained
    recovery.
    """
    need = max(1, math.ceil(r.sustain_s / bucket_s))

    def healthy(m: dict[str, Any]) -> bool | None:
        if not m["publish.attempts"]:
            return None  # no data: neither proves nor disproves recovery
        ratio = m["delivery.ratio"]
        return m["publish.success_rate"] >= r.success_rate and (ratio is None or ratio >= r.delivery_ratio)

    for f in faults:
        f["recovery_s"] = None
        if f["reverted_s"] is None or not timeline:
            continue
        origin = timeline[0]["t"]
        first = max(0, int((f["reverted_s"] - origin) // bucket_s))
        for b in range(first, len(timeline) - need + 1):
            verdicts = [healthy(timeline[i]) for i in range(b, b + need)]
            if all(v is not False for v in verdicts) and any(verdicts):
                f["recovery_s"] = round(max(0.0, timeline[b]["t"] - f["reverted_s"]), 3)
                break
    phases = [w for w in windows if w.name in phase_names]
    for w in windows:
        values = []
        for f in faults:
            if f["reverted_s"] is None:
                continue
            if w.name in phase_names:
                # A phase's faults are reverted as it ends: recovery belongs to the phase that follows.
                following = next((p for p in phases if p.start >= f["reverted_s"] - 1e-6), None)
                if following is not None and following.name == w.name:
                    values.append(f["recovery_s"])
            elif w.holds(f["reverted_s"]):
                values.append(f["recovery_s"])
        if values:
            metrics[w.name]["recovery.seconds"] = None if None in values else max(values)


def _disconnected_seconds(w: Window, connects: list[tuple[str, float]], disconnects: list[tuple[str, float]],
                          end_t: float) -> float:
    """Seconds subscribers spent between a disconnect and their next connect, clipped to the window."""
    total = 0.0
    connect_times: dict[str, list[float]] = defaultdict(list)
    for sub, t in connects:
        connect_times[sub].append(t)
    for sub, t in disconnects:
        later = [c for c in connect_times[sub] if c >= t]
        back = min(later) if later else end_t
        total += max(0.0, min(back, w.end, end_t) - max(t, w.start))
    return round(total, 3)
