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
from array import array
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from sys import intern
from typing import Any, Callable, Iterable

from harness import alerts as alerting, presence
from harness import probe_metrics as probes
from harness.counters import Counters
from harness.journal import CANARY
from harness.recovery import Recovery, fault_recoveries, window_recoveries
from harness.windows import WHOLE_RUN, NamedWindow, Window

INF = math.inf
# Disconnect reasons that are the harness ending its own load, not the cluster dropping a socket.
HARNESS_CLOSES = ("stopped", "deadline", "churn")


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
    elsewhere: bool = False       # seen from another node (expect_forms.node_events): no publish.* here


class Receipts:
    """Every `ws_receive`, compact: names (sub, pub, channel, run) become small ints and each receipt is
    a few machine words in arrays, not a tuple, a list and a dict entry (a tenth of the memory: a
    journal of a million events is judged in a few hundred MB).

    A publish is one int, `pub_seq` (its publisher's id and its seq); a receipt's key adds the subscriber.
    """

    SEQ_BITS = 34                # seq from -2**33 to 2**33
    PUB_SEQ_BITS = 64

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.names: list[Any] = []
        self.first: dict[int, float] = {}        # receipt key → first receipt time
        self.extra: dict[int, int] = {}          # receipt key → receipts after the first
        # In journal order, one entry per receipt (duplicates too):
        self.t, self.pub_seq = array("d"), array("q")
        self.sub, self.channel, self.run = array("l"), array("l"), array("l")

    def id(self, name: Any) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.names)
            self.names.append(name)
        return found

    def publish(self, pub: str, seq: int) -> int:
        """The int naming one publish (pub, seq)."""
        return (self.id(pub) << self.SEQ_BITS) | (seq + (1 << (self.SEQ_BITS - 1)))

    def key(self, sub_id: int, pub_seq: int) -> int:
        return (sub_id << self.PUB_SEQ_BITS) | pub_seq

    def add(self, t: float, sub: str, pub: str, seq: int, channel: Any, run: Any) -> None:
        ids, id_ = self.ids, self.id
        sub_id = ids.get(sub)
        if sub_id is None:
            sub_id = id_(sub)
        pub_id = ids.get(pub)
        if pub_id is None:
            pub_id = id_(pub)
        pub_seq = (pub_id << self.SEQ_BITS) | (seq + (1 << (self.SEQ_BITS - 1)))
        key = (sub_id << self.PUB_SEQ_BITS) | pub_seq
        first = self.first
        if key in first:
            self.extra[key] = self.extra.get(key, 0) + 1
        else:
            first[key] = t
        self.t.append(t)
        self.pub_seq.append(pub_seq)
        self.sub.append(sub_id)
        channel_id = ids.get(channel)
        self.channel.append(id_(channel) if channel_id is None else channel_id)
        run_id = ids.get(run)
        self.run.append(id_(run) if run_id is None else run_id)

    def of(self, sub: str, pub_seq: int) -> tuple[float, int] | None:
        """(first receipt time, how many) of one publish by one subscriber; None if never received."""
        sub_id = self.ids.get(sub)
        if sub_id is None:
            return None
        key = self.key(sub_id, pub_seq)
        first = self.first.get(key)
        return None if first is None else (first, 1 + self.extra.get(key, 0))

    def receivers(self) -> dict[int, int]:
        """pub_seq → how many subscribers received it."""
        out: dict[int, int] = defaultdict(int)
        mask = (1 << self.PUB_SEQ_BITS) - 1
        for key in self.first:
            out[key & mask] += 1
        return out


@dataclass
class Facts:
    """What the journal says, compacted: the output of `read`, the input of every other step."""

    run: dict[str, Any] = field(default_factory=dict)
    phases: list[Window] = field(default_factory=list)
    publishes: dict[int, Publish] = field(default_factory=dict)                      # by Receipts.publish()
    skipped: list[float] = field(default_factory=list)                                 # times of publish_skipped
    # channel → sub → its confirmed subscriptions in order: (since, until, dropped by the cluster?)
    intervals: dict[str, dict[str, list[tuple[float, float, bool]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    receipts: Receipts = field(default_factory=Receipts)
    connects: list[tuple[str, float]] = field(default_factory=list)
    disconnects: list[tuple[str, float, str | None]] = field(default_factory=list)     # (sub, t, close code)
    sessions: list[tuple[str, float, float]] = field(default_factory=list)             # (sub, connected, until)
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    alert_events: list[dict[str, Any]] = field(default_factory=list)
    presence_events: list[dict[str, Any]] = field(default_factory=list)
    probe_answers: list[probes.Answered] = field(default_factory=list)
    loop_lag: list[tuple[float, float, float]] = field(default_factory=list)           # (t, lag ms, cpu s)
    first_t: float = 0.0
    last_t: float = 0.0
    complete: bool = False                                                             # run_end reached
    phase_starts: dict[str, float] = field(default_factory=dict)                       # as journaled


@dataclass
class Analysis:
    run: dict[str, Any]
    windows: list[Window]                               # phases, in order
    metrics: dict[str, dict[str, Any]]                  # window name → dotted metric → value
    faults: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    named: list[Window] = field(default_factory=list)
    alerts: alerting.AlertHistory = field(default_factory=alerting.AlertHistory)
    complete: bool = True                               # the journal reached run_end
    origins: dict[str, float] = field(default_factory=dict)  # "phase P" / "fault F" → when it began to act


def analyse(events: Iterable[dict[str, Any]], named: Iterable[NamedWindow] = (), bucket_s: float = 1.0,
            recovery: Recovery = Recovery(), watch_gap_s: float = 3.0) -> Analysis:
    """Every metric of docs/metrics.md for each phase, named window and the run, plus a timeline.

    `watch_gap_s`: the longest gap between the alert watcher's polls that still counts as covered.
    """
    facts = read(events)
    phases, named_windows, whole = resolve_windows(facts, named)
    windows = phases + named_windows + [whole]
    counters = Attribution(windows, whole.start, whole.end, bucket_s)
    grace = float(facts.run.get("grace_s", 2.0))
    count_publishes(facts, counters.at, grace)
    count_receipts(facts, counters.at)
    count_sockets(facts, counters.at)
    count_harness(facts, counters.at)
    metrics = {w.name: counters.by_window[w.name].metrics(w, disconnected_seconds(w, facts), subscribers(w, facts))
               for w in windows}
    timeline = [b.bucket_metrics(round(whole.start + i * bucket_s, 3)) for i, b in enumerate(counters.buckets)]
    faults = sorted(facts.faults.values(), key=lambda f: f["injected_s"] if f["injected_s"] is not None else INF)
    fault_recoveries(faults, timeline, bucket_s, recovery)
    window_recoveries(faults, phases, named_windows + [whole], metrics)
    history = alerting.history(facts.alert_events)
    rule_alerts = (facts.run.get("monitoring") or {}).get("alerts") or ()
    watched_until = phases[-1].end if phases else whole.end   # the watcher stops with the drain
    presence_metrics = presence.window_metrics(facts.presence_events, windows)
    for w in windows:
        metrics[w.name].update(alerting.window_metrics(history, w.start, min(w.end, watched_until), rule_alerts,
                                                       watch_gap_s))
        metrics[w.name].update(probes.window_metrics(facts.probe_answers, w.start, w.end))
        metrics[w.name].update(presence_metrics.get(w.name, {}))
    origins = {**{f"phase {name}": t for name, t in facts.phase_starts.items()},
               **{f"fault {f['name']}": f["injected_s"] for f in faults if f["injected_s"] is not None}}
    return Analysis(facts.run, phases, metrics, faults, timeline, named_windows, history, facts.complete, origins)


def read(events: Iterable[dict[str, Any]]) -> Facts:
    """Step 1: one pass over the journal, keeping compact records only."""
    f = Facts()
    phase_starts: dict[str, float] = {}
    open_subs: dict[str, dict[str, float]] = defaultdict(dict)                   # sub → channel → confirmed
    connected: dict[str, float] = {}                                              # sub → connected at
    first_t = last_t = None

    def close_session(sub: str, t: float, dropped: bool) -> None:
        for channel, since in open_subs.pop(sub, {}).items():
            f.intervals[channel][sub].append((since, t, dropped))
        if sub in connected:
            f.sessions.append((sub, connected.pop(sub), t))

    for e in events:
        kind, t = e["kind"], e["t"]
        first_t = t if first_t is None else first_t
        last_t = t
        if kind.startswith("alert_"):
            f.alert_events.append(e)
        elif kind == "probe":
            f.probe_answers.append(probes.Answered(t, e["name"], bool(e["ok"]), float(e["latency_ms"])))
        if kind in presence.KINDS:
            f.presence_events.append(e)
        if kind == "ws_receive":
            f.receipts.add(t, e["sub"], str(e.get("pub")), int(e.get("seq", -1)), str(e.get("channel")),
                           e.get("run") and e["run"])
        elif kind == "publish":
            # Interned names: many publishes share a handful of pub and channel strings.
            pub, seq = intern(e["pub"]), int(e["seq"])
            f.publishes[f.receipts.publish(pub, seq)] = Publish(pub, seq, intern(e["channel"]), float(e["sent"]),
                                                                float(t), bool(e["ok"]), e.get("error"), e.get("origin"),
                                                                bool(e.get("elsewhere")))
        elif kind == "publish_skipped":
            f.skipped.append(t)
        elif kind == "ws_subscribed":
            open_subs[e["sub"]][e["channel"]] = t
        elif kind == "ws_unsubscribed":
            since = open_subs[e["sub"]].pop(e["channel"], None)
            if since is not None:
                f.intervals[e["channel"]][e["sub"]].append((since, t, False))
        elif kind == "ws_connect":
            close_session(e["sub"], t, True)  # a new connection without a disconnect: the old one was lost
            connected[e["sub"]] = t
            f.connects.append((e["sub"], t))
        elif kind == "ws_disconnect":
            reason = str(e.get("reason"))
            by_cluster = reason not in HARNESS_CLOSES
            close_session(e["sub"], t, by_cluster)
            if by_cluster:
                f.disconnects.append((e["sub"], t, _close_code(reason)))
        elif kind == "phase_start":
            phase_starts[e["phase"]] = t
            f.phase_starts[e["phase"]] = t
        elif kind == "phase_end" and e["phase"] in phase_starts:
            f.phases.append(Window(e["phase"], phase_starts.pop(e["phase"]), t))
        elif kind.startswith("fault_"):
            fault = f.faults.setdefault(e["fault"], {
                "name": e["fault"], "kind": e.get("fault_kind"), "target": e.get("target"),
                # The phase it was injected in: the one open now (journals before `phase` was recorded);
                # `phase: null` for a fault by hand (game day), which does not reshape its phase.
                "phase": e["phase"] if "phase" in e else next(reversed(phase_starts), None),
                "injected_s": None, "confirmed_s": None, "reverted_s": None, "planned_s": e.get("planned_s")})
            stage = kind.removeprefix("fault_")
            if stage in ("injected", "confirmed", "reverted") and fault[f"{stage}_s"] is None:
                fault[f"{stage}_s"] = t
        elif kind == "loop_lag":
            f.loop_lag.append((t, float(e["lag_ms"]), float(e.get("cpu_s") or 0.0)))
        elif kind == "run_start":
            f.run = {k: v for k, v in e.items() if k != "source"}
        elif kind == "run_end":
            f.complete = True
    f.first_t, f.last_t = first_t or 0.0, last_t or 0.0
    # Sessions still open end with the journal: a killed run's last publishes are then not expected
    # (their ack + grace lies past what was written), instead of counted as lost.
    for sub in set(open_subs) | set(connected):
        close_session(sub, f.last_t, False)
    # A phase that never ended (killed run) lasts until the last event.
    f.phases.extend(Window(name, t, f.last_t + 1e-9) for name, t in phase_starts.items())
    f.phases = [_from_confirmation(w, f.faults.values()) for w in sorted(f.phases, key=lambda w: w.start)]
    return f


def _close_code(reason: str) -> str | None:
    """The WebSocket close code of a disconnect reason `closed <code> …`; None for a reset link."""
    parts = reason.split()
    return parts[1] if len(parts) > 1 and parts[0] == "closed" and parts[1].isdigit() else None


def _from_confirmation(phase: Window, faults: Iterable[dict[str, Any]]) -> Window:
    """A phase with faults is measured from their confirmation: before it, the fault may not act yet.
    A fault never confirmed leaves the phase empty (no evidence of the faulted state)."""
    # Faults a schedule injects later in the phase (`at`, flaps, chaos) do not move its start.
    mine = [f for f in faults if f["phase"] == phase.name and f["injected_s"] is not None and not f.get("planned_s")]
    if not mine:
        return phase
    if any(f["confirmed_s"] is None for f in mine):
        return Window(phase.name, phase.end, phase.end)
    return Window(phase.name, min(phase.end, max(f["confirmed_s"] for f in mine)), phase.end)


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
    """Step 3: attempts, skips, outcomes and the deliveries of each publish, by send time.

    Per subscriber, a delivery is expected when its latest confirmed subscription before the send
    lasted until ack + grace; when that subscription was dropped by the cluster instead, an undelivered
    message is `missed_disconnected` (what the subscriber lost by being disconnected), never `lost`.
    """
    for t in facts.skipped:
        for s in at(t):
            s.skipped += 1
    receipts = facts.receipts
    receivers = receipts.receivers()
    # channel → (the subscriber's receipt-key part, or None if it received nothing; its subscriptions)
    listeners = {channel: [(sub, None if receipts.ids.get(sub) is None else receipts.key(receipts.ids[sub], 0), spans)
                           for sub, spans in subs.items()]
                 for channel, subs in facts.intervals.items()}
    for key, p in facts.publishes.items():
        where = at(p.sent)
        if p.pub == CANARY:
            got = receipts.of(CANARY, key)
            for s in where:
                s.canary_sent += 1
                if p.ok and got:
                    s.canary_received += 1
                    s.canary_latency.append((got[0] - p.sent) * 1000)
            continue
        for s in ([] if p.elsewhere else where):
            s.attempts += 1
            if p.ok:
                s.ok += 1
                s.publish_latency.append((p.ack - p.sent) * 1000)
            else:
                s.errors[p.error or "other"] += 1
                s.error_latency.append((p.ack - p.sent) * 1000)
                s.of_failed += receivers.get(key, 0)
                if key in receivers:
                    s.recovered += 1
        if not p.ok:
            continue
        # Counted once for the publish, then added to each window and bucket it falls in.
        expected = received = duplicated = late = missed = 0
        latencies = []
        deadline = p.ack + grace
        for sub, sub_key, spans in listeners.get(p.channel, ()):
            latest = _latest_before(spans, p.sent)
            if latest is None or sub == p.origin:
                continue
            first = receipts.first.get(sub_key | key) if sub_key is not None else None
            if latest[1] < deadline:
                if latest[2] and first is None:
                    missed += 1
                continue
            expected += 1
            if first is not None:
                received += 1
                duplicated += receipts.extra.get(sub_key | key, 0)
                latencies.append((first - p.sent) * 1000)
                if first > deadline:
                    late += 1
        for s in where:
            s.missed_disconnected += missed
            s.expected += expected
            s.received += received
            s.duplicated += duplicated
            s.late += late
            s.delivery_latency.extend(latencies)


def _latest_before(spans: list[tuple[float, float, bool]], t: float) -> tuple[float, float, bool] | None:
    """The last subscription confirmed strictly before `t` (spans are in order of confirmation)."""
    i = bisect_left(spans, (t,)) - 1
    return spans[i] if i >= 0 else None


def count_receipts(facts: Facts, at: At) -> None:
    """Step 4: unexpected receipts (not published, other run, wrong channel) and reordered ones.

    Order is promised only between one publisher's sequential requests to one channel: a message
    received after one that was sent only once it had been acknowledged is reordered. Concurrent
    requests (open loop) may legally arrive in any order.
    """
    r = facts.receipts
    run_ok = {r.id(None), r.id(facts.run.get("run_id"))}
    canary = r.ids.get(CANARY)
    latest_sent: dict[tuple[int, int, int], float] = {}
    seen: set[int] = set()
    for t, sub, channel, receipt_run, pub_seq in zip(r.t, r.sub, r.channel, r.run, r.pub_seq):
        p = facts.publishes.get(pub_seq)
        # Unexpected: never published, another run's, another channel's, or a client event echoed to its sender.
        if p is None or receipt_run not in run_ok or p.channel != r.names[channel] or p.origin == r.names[sub]:
            for s in at(t):
                s.unexpected += 1
            continue
        key = r.key(sub, pub_seq)
        pub = pub_seq >> Receipts.SEQ_BITS
        if pub == canary:
            continue
        if key in r.extra:  # received more than once: only the first counts (few keys, so a small set)
            if key in seen:
                continue
            seen.add(key)
        stream = (sub, pub, channel)
        if p.ack <= latest_sent.get(stream, -INF):
            for s in at(p.sent):
                s.reordered += 1
        latest_sent[stream] = max(latest_sent.get(stream, -INF), p.sent)


def count_sockets(facts: Facts, at: At) -> None:
    """Step 5: connects, reconnects, disconnects and server closes (by code) by the time they happened."""
    seen_subs: set[str] = set()
    for sub, t in facts.connects:
        for s in at(t):
            s.connects += 1
            if sub in seen_subs:
                s.reconnects += 1
        seen_subs.add(sub)
    for sub, t, code in facts.disconnects:
        for s in at(t):
            s.disconnects += 1
            if code is not None:
                s.server_closes[code] += 1


def count_harness(facts: Facts, at: At) -> None:
    """Step 6: the harness's own health (event-loop lag, CPU) and fault confirmation times."""
    for t, lag_ms, cpu_s in facts.loop_lag:
        for s in at(t):
            s.loop_lag.append(lag_ms)
            s.cpu_s += cpu_s
    for f in facts.faults.values():
        if f["injected_s"] is not None and f["confirmed_s"] is not None:
            f["confirm_s"] = round(f["confirmed_s"] - f["injected_s"], 3)
            for s in at(f["confirmed_s"]):   # the phase is measured from the confirmation
                s.confirm_s.append(f["confirm_s"])


def subscribers(w: Window, facts: Facts) -> int:
    """Subscribers connected at some time inside the window: the evidence for `ws.*`."""
    return len({sub for sub, start, until in facts.sessions if start < w.end and until > w.start})


def disconnected_seconds(w: Window, facts: Facts) -> float:
    """Seconds subscribers spent between a disconnect and their next connect, clipped to the window."""
    total = 0.0
    connect_times: dict[str, list[float]] = defaultdict(list)
    for sub, t in facts.connects:
        connect_times[sub].append(t)
    for sub, t, _code in facts.disconnects:
        later = [c for c in connect_times[sub] if c >= t]
        back = min(later) if later else facts.last_t
        total += max(0.0, min(back, w.end, facts.last_t) - max(t, w.start))
    return round(total, 3)
