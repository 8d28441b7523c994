"""Journal → metrics per window (pure: no Docker, no network, no clock).

Windows are the phases, plus `run` for the whole run. Publishes belong to the window their send time
falls in; deliveries are judged against the publish they carry. The honest-expectation rule
(DESIGN.md): a subscriber is expected to receive a message only if its subscription to the channel was
confirmed before the publish was sent and it stayed connected until the publish's acknowledgement
plus the grace period. Everything else is not expected and never counted as lost.
Metric names: docs/metrics.md.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from harness.expect import WHOLE_RUN

INF = math.inf
# Disconnect reasons that are the harness ending its own load, not the cluster dropping a socket.
HARNESS_CLOSES = ("stopped", "deadline")


@dataclass(frozen=True)
class Window:
    name: str
    start: float
    end: float

    def holds(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass
class Publish:
    pub: str
    seq: int
    channel: str
    sent: float
    ack: float
    ok: bool
    error: str | None


@dataclass
class Analysis:
    run: dict[str, Any]
    windows: list[Window]
    metrics: dict[str, dict[str, Any]]                  # window name → dotted metric → value
    faults: list[dict[str, Any]] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of unsorted values (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _latency(prefix: str, values: list[float], out: dict[str, Any]) -> None:
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
        value = percentile(values, q)
        out[f"{prefix}.{name}"] = None if value is None else round(value, 3)


def _windows(events: list[dict[str, Any]]) -> list[Window]:
    starts: dict[str, float] = {}
    windows: list[Window] = []
    last_t = events[-1]["t"] if events else 0.0
    for e in events:
        if e["kind"] == "phase_start":
            starts[e["phase"]] = e["t"]
        elif e["kind"] == "phase_end" and e["phase"] in starts:
            windows.append(Window(e["phase"], starts.pop(e["phase"]), e["t"]))
    # A phase that never ended (killed run) lasts until the last event.
    windows.extend(Window(name, t, last_t + 1e-9) for name, t in starts.items())
    windows.sort(key=lambda w: w.start)
    return windows


def analyse(events: Iterable[dict[str, Any]]) -> Analysis:
    """Compute every metric of docs/metrics.md for each phase and for the whole run."""
    events = list(events)
    run = next((e for e in events if e["kind"] == "run_start"), {})
    grace = float(run.get("grace_s", 2.0))
    run_id = run.get("run_id")
    phases = _windows(events)
    end_t = events[-1]["t"] if events else 0.0
    whole = Window(WHOLE_RUN, phases[0].start if phases else 0.0, max([end_t] + [w.end for w in phases]) + 1e-9)

    publishes: dict[tuple[str, int], Publish] = {}
    intervals: dict[str, list[tuple[str, float, float]]] = defaultdict(list)   # channel → (sub, from, until)
    open_subs: dict[str, dict[str, float]] = defaultdict(dict)                   # sub → channel → confirmed
    receipts: dict[tuple[str, str, int], list[float]] = defaultdict(list)        # (sub, pub, seq) → times
    receipt_order: list[dict[str, Any]] = []
    connects: list[tuple[str, float]] = []
    disconnects: list[tuple[str, float]] = []
    faults: dict[str, dict[str, Any]] = {}

    def close_session(sub: str, t: float) -> None:
        for channel, since in open_subs.pop(sub, {}).items():
            intervals[channel].append((sub, since, t))

    for e in events:
        kind = e["kind"]
        if kind == "publish":
            publishes[(e["pub"], int(e["seq"]))] = Publish(e["pub"], int(e["seq"]), e["channel"], float(e["sent"]),
                                                          float(e["t"]), bool(e["ok"]), e.get("error"))
        elif kind == "ws_connect":
            close_session(e["sub"], e["t"])
            connects.append((e["sub"], e["t"]))
        elif kind == "ws_subscribed":
            open_subs[e["sub"]][e["channel"]] = e["t"]
        elif kind == "ws_unsubscribed":
            since = open_subs[e["sub"]].pop(e["channel"], None)
            if since is not None:
                intervals[e["channel"]].append((e["sub"], since, e["t"]))
        elif kind == "ws_disconnect":
            close_session(e["sub"], e["t"])
            if e.get("reason") not in HARNESS_CLOSES:
                disconnects.append((e["sub"], e["t"]))
        elif kind == "ws_receive":
            receipts[(e["sub"], str(e.get("pub")), int(e.get("seq", -1)))].append(e["t"])
            receipt_order.append(e)
        elif kind.startswith("fault_"):
            f = faults.setdefault(e["fault"], {"name": e["fault"], "kind": e.get("fault_kind"), "target": e.get("target"),
                                               "injected_s": None, "confirmed_s": None, "reverted_s": None})
            stage = kind.removeprefix("fault_")
            if stage in ("injected", "confirmed", "reverted") and f[f"{stage}_s"] is None:
                f[f"{stage}_s"] = e["t"]
    for sub in list(open_subs):
        close_session(sub, INF)

    # Which (sub, publish) pairs were expected, and what became of them.
    by_window: dict[str, dict[str, Any]] = {}
    all_windows = phases + [whole]
    stats = {w.name: _Stats() for w in all_windows}

    def windows_of(t: float) -> list[_Stats]:
        return [stats[w.name] for w in all_windows if w.holds(t)]

    received_by_any: set[tuple[str, int]] = {(p, s) for (_sub, p, s) in receipts}
    for key, p in publishes.items():
        for s in windows_of(p.sent):
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
        for sub, since, until in intervals.get(p.channel, ()):
            if not (since < p.sent and until >= p.ack + grace):
                continue
            times = receipts.get((sub, p.pub, p.seq))
            for s in windows_of(p.sent):
                s.expected += 1
                if times:
                    s.received += 1
                    s.duplicated += len(times) - 1
                    s.delivery_latency.append((times[0] - p.sent) * 1000)
                    if times[0] > p.ack + grace:
                        s.late += 1

    # Unexpected (not published, other run, wrong channel) and reordered receipts, by receive time.
    highest: dict[tuple[str, str, str], int] = {}
    seen_first: set[tuple[str, str, int]] = set()
    for e in receipt_order:
        key = (str(e.get("pub")), int(e.get("seq", -1)))
        p = publishes.get(key)
        if p is None or e.get("run") not in (None, run_id) or p.channel != e["channel"]:
            for s in windows_of(e["t"]):
                s.unexpected += 1
            continue
        first = (e["sub"], key[0], key[1])
        if first in seen_first:
            continue
        seen_first.add(first)
        stream = (e["sub"], key[0], p.channel)
        if key[1] < highest.get(stream, -1):
            for s in windows_of(p.sent):
                s.reordered += 1
        highest[stream] = max(highest.get(stream, -1), key[1])

    seen_subs: set[str] = set()
    for sub, t in connects:
        for s in windows_of(t):
            s.connects += 1
            if sub in seen_subs:
                s.reconnects += 1
        seen_subs.add(sub)
    for sub, t in disconnects:
        for s in windows_of(t):
            s.disconnects += 1

    for w in all_windows:
        by_window[w.name] = stats[w.name].metrics(w, _disconnected_seconds(w, connects, disconnects, end_t))
    fault_list = sorted(faults.values(), key=lambda f: f["injected_s"] if f["injected_s"] is not None else INF)
    return Analysis(run, phases, by_window, fault_list)


def _disconnected_seconds(w: Window, connects: list[tuple[str, float]], disconnects: list[tuple[str, float]],
                          end_t: float) -> float:
    """Seconds subscribers spent between a disconnect and their next connect, clipped to the window."""
    total = 0.0
    next_connect: dict[str, list[float]] = defaultdict(list)
    for sub, t in connects:
        next_connect[sub].append(t)
    for sub, t in disconnects:
        later = [c for c in next_connect[sub] if c >= t]
        back = min(later) if later else end_t
        total += max(0.0, min(back, w.end, end_t) - max(t, w.start))
    return round(total, 3)


@dataclass
class _Stats:
    attempts: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recovered: int = 0
    publish_latency: list[float] = field(default_factory=list)
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

    def metrics(self, w: Window, disconnected_s: float) -> dict[str, Any]:
        m: dict[str, Any] = {"window.start_s": round(w.start, 3), "window.end_s": round(min(w.end, 1e12), 3)}
        errors = sum(self.errors.values())
        m["publish.attempts"] = self.attempts
        m["publish.ok"] = self.ok
        m["publish.errors"] = errors
        for cls, n in sorted(self.errors.items()):
            m[f"publish.errors.{cls}"] = n
        m["publish.success_rate"] = round(self.ok / self.attempts, 6) if self.attempts else None
        _latency("publish.latency_ms", self.publish_latency, m)
        m["delivery.expected"] = self.expected
        m["delivery.received"] = self.received
        m["delivery.lost"] = self.expected - self.received
        m["delivery.duplicated"] = self.duplicated
        m["delivery.unexpected"] = self.unexpected
        m["delivery.reordered"] = self.reordered
        m["delivery.late"] = self.late
        m["delivery.recovered"] = self.recovered
        m["delivery.ratio"] = round(self.received / self.expected, 6) if self.expected else None
        _latency("delivery.latency_ms", self.delivery_latency, m)
        m["ws.connects"] = self.connects
        m["ws.disconnects"] = self.disconnects
        m["ws.reconnects"] = self.reconnects
        m["ws.disconnected_seconds"] = disconnected_s
        return m
