"""What the analysis counts per window and per timeline bucket, and the metric names it yields.

The names are the vocabulary of docs/metrics.md (harness/vocabulary.py checks expectations against it).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import InitVar, dataclass, field, fields
from typing import Any

from harness.percentile import UNKEPT, Latencies, summarise
from harness.vocabulary import ERROR_CLASSES
from harness.windows import Window

# A loop-lag sample above this is a second in which the harness could not keep its own schedule.
SATURATED_LAG_MS = 500.0


# Latencies kept exactly per window (their percentiles exact); beyond, a histogram (harness/percentile.py).
# A timeline bucket keeps fewer: it reports only p50 and p99, and a long run has thousands of buckets.
WINDOW_EXACT = 1 << 16
BUCKET_EXACT = 1 << 9


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


@dataclass
class Counters:
    exact: InitVar[int] = WINDOW_EXACT      # latencies kept exactly (see Latencies)
    bucket: InitVar[bool] = False           # a timeline bucket's
    attempts: int = 0
    skipped: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recovered: int = 0
    of_failed: int = 0
    missed_disconnected: int = 0
    publish_latency: Latencies = field(init=False)
    error_latency: Latencies = field(init=False)    # send → the failing answer (or give-up)
    expected: int = 0
    received: int = 0
    duplicated: int = 0
    unexpected: int = 0
    reordered: int = 0
    late: int = 0
    after_horizon: int = 0
    delivery_latency: Latencies = field(init=False)
    connects: int = 0
    disconnects: int = 0
    reconnects: int = 0
    server_closes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    loop_lag: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    confirm_s: list[float] = field(default_factory=list)
    canary_sent: int = 0
    canary_received: int = 0
    canary_latency: Latencies = field(init=False)

    def __post_init__(self, exact: int, bucket: bool) -> None:
        self.delivery_latency = Latencies(exact)
        # A timeline bucket reports no other latency: not kept (a third of the analysis's latency work).
        self.publish_latency, self.error_latency, self.canary_latency = (
            (UNKEPT,) * 3 if bucket else (Latencies(exact), Latencies(exact), Latencies(exact)))

    def merge(self, other: Counters) -> None:
        """Add another's counts (and latencies, lists, counts by class) to these."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, Latencies):
                mine.merge(theirs)
            elif isinstance(mine, dict):
                for key, n in theirs.items():
                    mine[key] += n
            elif isinstance(mine, list):
                mine.extend(theirs)
            else:
                setattr(self, f.name, mine + theirs)

    @property
    def scheduled(self) -> int:
        """Publishes due in the window: sent, or skipped because too many were in flight."""
        return self.attempts + self.skipped

    def metrics(self, w: Window, disconnected_s: float, subscribers: int) -> dict[str, Any]:
        """Every metric of one window; every count exists (0 when nothing happened)."""
        m: dict[str, Any] = {"window.start_s": round(w.start, 3), "window.end_s": round(w.end, 3)}
        m["publish.scheduled"] = self.scheduled
        m["publish.attempts"] = self.attempts
        m["publish.skipped"] = self.skipped
        m["publish.ok"] = self.ok
        m["publish.errors"] = sum(self.errors.values())
        for cls in sorted(set(ERROR_CLASSES) | set(self.errors)):
            m[f"publish.errors.{cls}"] = self.errors.get(cls, 0)
        m["publish.success_rate"] = ratio(self.ok, self.scheduled)
        summarise("publish.latency_ms", self.publish_latency, m)
        summarise("publish.error_latency_ms", self.error_latency, m)
        m["delivery.expected"] = self.expected
        m["delivery.received"] = self.received
        m["delivery.lost"] = self.expected - self.received
        m["delivery.duplicated"] = self.duplicated
        m["delivery.unexpected"] = self.unexpected
        m["delivery.reordered"] = self.reordered
        m["delivery.late"] = self.late
        m["delivery.after_horizon"] = self.after_horizon
        m["delivery.recovered"] = self.recovered
        m["delivery.of_failed"] = self.of_failed
        m["delivery.missed_disconnected"] = self.missed_disconnected
        m["delivery.ratio"] = ratio(self.received, self.expected)
        summarise("delivery.latency_ms", self.delivery_latency, m)
        m["canary.sent"] = self.canary_sent
        m["canary.received"] = self.canary_received
        m["canary.success_rate"] = ratio(self.canary_received, self.canary_sent)
        summarise("canary.latency_ms", self.canary_latency, m, ("p50", "p99"))
        m["ws.subscribers"] = subscribers
        m["ws.connects"] = self.connects
        m["ws.disconnects"] = self.disconnects
        m["ws.reconnects"] = self.reconnects
        m["ws.disconnected_seconds"] = disconnected_s
        m["ws.server_closes"] = sum(self.server_closes.values())
        for code, n in sorted(self.server_closes.items()):
            m[f"ws.server_closes.{code}"] = n
        m["fault.confirm_seconds"] = round(max(self.confirm_s), 3) if self.confirm_s else None
        m["harness.loop_lag.samples"] = len(self.loop_lag)
        summarise("harness.loop_lag_ms", self.loop_lag, m)
        # A sample late by L ms closes a stall of L ms: a 20 s freeze is 20 s, not one sample in many.
        m["harness.saturated_seconds"] = round(sum(lag for lag in self.loop_lag if lag > SATURATED_LAG_MS) / 1000, 3)
        m["harness.cpu_seconds"] = round(self.cpu_s, 3)
        return m

    def bucket_metrics(self, t: float) -> dict[str, Any]:
        """The few metrics of one timeline bucket starting at `t`."""
        m: dict[str, Any] = {"t": t, "publish.attempts": self.attempts, "publish.skipped": self.skipped,
                             "publish.ok": self.ok, "publish.errors": sum(self.errors.values()),
                             "publish.success_rate": ratio(self.ok, self.scheduled),
                             "delivery.expected": self.expected, "delivery.received": self.received,
                             "delivery.ratio": ratio(self.received, self.expected),
                             "canary.sent": self.canary_sent, "canary.received": self.canary_received}
        summarise("delivery.latency_ms", self.delivery_latency, m, ("p50", "p99"))
        return m
