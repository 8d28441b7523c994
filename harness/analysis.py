"""Journal → metrics per window and per time bucket (pure: no Docker, no network, no clock).

Windows are the phases, the scenario's named windows, and `run` (the whole run); the timeline cuts the
run into buckets (default 1 s). A publish belongs to the windows its send time falls in, and its
deliveries are judged with it. The honest-expectation rule (docs/architecture.md): a subscriber is
expected to receive a message only if its subscription to the channel was confirmed before the publish
was sent and it stayed connected until the publish's acknowledgement plus the grace period. The canary
(publisher and subscriber named `canary`) is accounted apart from the load. Metric names: docs/metrics.md.

The analysis streams (docs/performance.md): one pass over the journal, in time order (the reader merges
shards in time order), keeping what a verdict needs and no more. A publish and its receipts are held
until the horizon (`horizon_s` after its acknowledgement + grace); then its deliveries are counted into
every window and bucket it falls in, and it is forgotten. A receipt arriving later counts as
`delivery.after_horizon` (the publish was judged without it). Counts wait, likewise, until the windows of
their time are settled (a faulted phase starts at its faults' confirmation). Latencies are kept in
bounded memory (harness/percentile.py: exact up to a limit, then within 0.5 %). Memory so grows with the
run's duration (buckets, sockets, probes) and its rate × the horizon, not with the journal's length.
"""
from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import defaultdict, deque
from dataclasses import dataclass, field
from sys import intern
from typing import Any, Callable, Iterable

from harness import alerts as alerting, presence
from harness import probe_metrics as probes
from harness.counters import BUCKET_EXACT, Counters
from harness.journal import CANARY
from harness.journal_schema import SEQ_LIMIT
from harness.recovery import Recovery, fault_recoveries, window_recoveries
from harness.windows import WHOLE_RUN, NamedWindow, Window

INF = math.inf
# Disconnect reasons that are the harness ending its own load, not the cluster dropping a socket.
HARNESS_CLOSES = ("stopped", "deadline", "churn")
# Journal seconds a publish waits after its acknowledgement + grace for its receipts before it is judged
# and forgotten; counts wait as long for their windows to settle. Memory is about rate × HORIZON_S.
HORIZON_S = 30.0
# How often (journal seconds) due publishes are judged and settled counts added.
TICK_S = 0.5
# How long a client event (no acknowledgement) may still be on its way to its node: sent less than this
# before a fault's injection, nobody's delivery of it is expected.
CLIENT_EVENT_IN_FLIGHT_S = 0.5


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


@dataclass(slots=True)
class Pending:
    """A publish awaiting judgement: its line (None until read: receipts come before the acknowledgement)
    and its receipts so far, by subscriber id: the first one's time, and how many came after it."""

    publish: Publish | None
    due: float                                   # when it is judged (receipts only: forgotten)
    first: dict[int, float] = field(default_factory=dict)
    extra: dict[int, int] | None = None          # made when a receipt repeats (rare)
    queued: int = 0                              # its receipts waiting in a stream (judged before it)


class Names:
    """Names (sub, pub, channel, run) as small ints; a publish (pub, seq) is one int, its `key`."""

    SEQ_BITS = SEQ_LIMIT.bit_length()   # 34: seq from -2**33 to 2**33 - 1, the range the schema lets through

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.names: list[Any] = []

    def id(self, name: Any) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.names)
            self.names.append(name)
        return found

    def key(self, pub: str, seq: int) -> int:
        """The int naming one publish (pub, seq)."""
        return (self.id(pub) << self.SEQ_BITS) | (seq + (1 << (self.SEQ_BITS - 1)))


@dataclass
class Facts:
    """What the journal says besides publishes and receipts (those are counted as they settle): the
    output of `read`, with the counters."""

    run: dict[str, Any] = field(default_factory=dict)
    phases: list[Window] = field(default_factory=list)
    connects: list[tuple[str, float]] = field(default_factory=list)
    disconnects: list[tuple[str, float, str | None]] = field(default_factory=list)     # (sub, t, close code)
    sessions: list[tuple[str, float, float]] = field(default_factory=list)             # (sub, connected, until)
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    injections: list[float] = field(default_factory=list)                              # faults' injections, sorted
    alert_events: list[dict[str, Any]] = field(default_factory=list)
    presence_events: list[dict[str, Any]] = field(default_factory=list)
    probe_answers: list[probes.Answered] = field(default_factory=list)
    loop_lag: list[tuple[float, float, float]] = field(default_factory=list)           # (t, lag ms, cpu s)
    first_t: float = 0.0
    last_t: float = 0.0
    complete: bool = False                                                             # run_end reached
    phase_starts: dict[str, float] = field(default_factory=dict)                       # as journaled
    counters: Attribution | None = None


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
            recovery: Recovery = Recovery(), watch_gap_s: float = 3.0, horizon_s: float = HORIZON_S) -> Analysis:
    """Every metric of docs/metrics.md for each phase, named window and the run, plus a timeline.

    `watch_gap_s`: the longest gap between the alert watcher's polls that still counts as covered;
    `horizon_s`: how long after its acknowledgement + grace a publish's receipts are awaited.
    """
    named = tuple(named)
    facts = read(events, named, bucket_s, horizon_s)
    phases, named_windows, whole = resolve_windows(facts, named)
    windows = phases + named_windows + [whole]
    counters = facts.counters
    counters.finish(windows, whole)
    count_sockets(facts, counters.at)
    count_harness(facts, counters.at)
    metrics = {w.name: counters.window(w.name).metrics(w, disconnected_seconds(w, facts), subscribers(w, facts))
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


def read(events: Iterable[dict[str, Any]], named: tuple[NamedWindow, ...] = (), bucket_s: float = 1.0,
         horizon_s: float = HORIZON_S) -> Facts:
    """One pass over the journal: publishes and receipts counted as they settle (Deliveries), the rest
    kept as compact records."""
    f = Facts()
    f.counters = Attribution(bucket_s)
    deliveries = Deliveries(f.counters, horizon_s, f.injections)
    phases = Phases(f, named, horizon_s)
    open_subs = deliveries.open_subs                                              # sub → channel → confirmed
    connected: dict[str, float] = {}                                              # sub → connected at
    first_t = last_t = None
    next_tick = -INF

    def close_session(sub: str, t: float, dropped: bool) -> None:
        for channel, since in open_subs.pop(sub, {}).items():
            deliveries.subscriptions[channel][sub].append((since, t, dropped))
        if sub in connected:
            f.sessions.append((sub, connected.pop(sub), t))

    receive, publish = deliveries.receive, deliveries.publish
    for e in events:
        kind, t = e["kind"], e["t"]
        if first_t is None:
            first_t = t
        last_t = t
        if t >= next_tick:   # the journal is in time order: `t` is now
            next_tick = t + TICK_S
            phases.settle(t)
            deliveries.tick(t)
        if kind == "ws_receive":
            receive(t, e["sub"], str(e.get("pub")), int(e.get("seq", -1)), str(e.get("channel")), e.get("run") and e["run"])
            continue
        if kind == "publish":
            # Interned names: many publishes share a handful of pub and channel strings.
            publish(Publish(intern(e["pub"]), int(e["seq"]), intern(e["channel"]), float(e["sent"]), float(t),
                            bool(e["ok"]), e.get("error"), e.get("origin"), bool(e.get("elsewhere"))))
            continue
        if kind.startswith("alert_"):
            f.alert_events.append(e)
        elif kind == "probe":
            f.probe_answers.append(probes.Answered(t, e["name"], bool(e["ok"]), float(e["latency_ms"])))
        if kind in presence.KINDS:
            f.presence_events.append(e)
        if kind == "publish_skipped":
            f.counters.add(t, _count_skipped)
        elif kind == "ws_subscribed":
            open_subs[e["sub"]][e["channel"]] = t
            deliveries.subscriptions[e["channel"]][e["sub"]]   # a listener of the channel from now on
        elif kind == "ws_unsubscribed":
            since = open_subs[e["sub"]].pop(e["channel"], None)
            if since is not None:
                deliveries.subscriptions[e["channel"]][e["sub"]].append((since, t, False))
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
            phases.start(e["phase"], t)
        elif kind == "phase_end":
            phases.end(e["phase"], t)
        elif kind.startswith("fault_"):
            phases.fault(kind, e, t)
        elif kind == "loop_lag":
            f.loop_lag.append((t, float(e["lag_ms"]), float(e.get("cpu_s") or 0.0)))
        elif kind == "run_start":
            f.run = {k: v for k, v in e.items() if k != "source"}
            deliveries.started(f.run)
        elif kind == "run_end":
            f.complete = True
    f.first_t, f.last_t = first_t or 0.0, last_t or 0.0
    # Sessions still open end with the journal: a killed run's last publishes are then not expected
    # (their ack + grace lies past what was written), instead of counted as lost.
    for sub in set(open_subs) | set(connected):
        close_session(sub, f.last_t, False)
    deliveries.tick(INF)
    f.phases = phases.windows(f.last_t)
    return f


def _close_code(reason: str) -> str | None:
    """The WebSocket close code of a disconnect reason `closed <code> …`; None for a reset link."""
    parts = reason.split()
    return parts[1] if len(parts) > 1 and parts[0] == "closed" and parts[1].isdigit() else None


class Phases:
    """The phases and faults as read so far, and when the windows of a time are settled: a phase's
    start is its faults' confirmation, known once they are confirmed and the horizon has passed.

    Assumed, as the runner does: the faults that move a phase's start are injected first, within the
    horizon of its start (one injected later would have counts already given to the phase). Until the
    first phase starts nothing is settled (a journal without phases is held whole)."""

    def __init__(self, facts: Facts, named: tuple[NamedWindow, ...], horizon_s: float) -> None:
        self.facts = facts
        self.named = named
        self.horizon_s = horizon_s
        self.open: dict[str, float] = {}                 # phase → start, in order of start
        self.ended: list[Window] = []                    # as journaled

    def start(self, name: str, t: float) -> None:
        self.open[name] = t
        self.facts.phase_starts[name] = t

    def end(self, name: str, t: float) -> None:
        if name in self.open:
            self.ended.append(Window(name, self.open.pop(name), t))

    def fault(self, kind: str, e: dict[str, Any], t: float) -> None:
        fault = self.facts.faults.setdefault(e["fault"], {
            "name": e["fault"], "kind": e.get("fault_kind"), "target": e.get("target"),
            # The phase it was injected in: the one open now (journals before `phase` was recorded);
            # `phase: null` for a fault by hand (game day), which does not reshape its phase.
            "phase": e["phase"] if "phase" in e else next(reversed(self.open), None),
            "injected_s": None, "confirmed_s": None, "reverted_s": None, "planned_s": e.get("planned_s")})
        stage = kind.removeprefix("fault_")
        if stage in ("injected", "confirmed", "reverted") and fault[f"{stage}_s"] is None:
            fault[f"{stage}_s"] = t
            if stage == "injected":
                insort(self.facts.injections, t)

    def windows(self, last_t: float) -> list[Window]:
        """Every phase as measured (a phase that never ended lasts until the last event), in order."""
        phases = self.ended + [Window(name, t, last_t + 1e-9) for name, t in self.open.items()]
        return [_from_confirmation(w, self.facts.faults.values()) for w in sorted(phases, key=lambda w: w.start)]

    def settle(self, now: float) -> None:
        """Give the counters the windows of every time before `now - horizon` whose phases are settled."""
        until = now - self.horizon_s
        phases = sorted(self.ended + [Window(name, t, INF) for name, t in self.open.items()], key=lambda w: w.start)
        settled = []
        for w in phases:
            if w.start >= until:
                break
            mine = _moving(w, self.facts.faults.values())
            if w.end == INF and mine and (any(f["confirmed_s"] is None for f in mine)
                                          or max(f["confirmed_s"] for f in mine) >= until):
                until = w.start   # its start is not known yet
                break
            settled.append(_from_confirmation(w, self.facts.faults.values()))
        if not phases:
            return   # before the first phase, or a journal without phases: the whole run's start is unknown
        whole = Window(WHOLE_RUN, settled[0].start if settled else INF, INF)
        self.facts.counters.settle(until, settled + named_windows(settled, self.named) + [whole], whole)


def _moving(phase: Window, faults: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The faults that move a phase's start: injected with it, not by a schedule later in the phase."""
    return [f for f in faults if f["phase"] == phase.name and f["injected_s"] is not None and not f.get("planned_s")]


def _from_confirmation(phase: Window, faults: Iterable[dict[str, Any]]) -> Window:
    """A phase with faults is measured from their confirmation: before it, the fault may not act yet.
    A fault never confirmed leaves the phase empty (no evidence of the faulted state)."""
    mine = _moving(phase, faults)
    if not mine:
        return phase
    if any(f["confirmed_s"] is None for f in mine):
        return Window(phase.name, phase.end, phase.end)
    return Window(phase.name, min(phase.end, max(f["confirmed_s"] for f in mine)), phase.end)


def resolve_windows(facts: Facts, named: Iterable[NamedWindow]) -> tuple[list[Window], list[Window], Window]:
    """The phases, the named windows placed in their phase, and the whole run."""
    phases = facts.phases
    whole = Window(WHOLE_RUN, phases[0].start if phases else facts.first_t,
                   max([facts.last_t] + [w.end for w in phases]) + 1e-9)
    return phases, named_windows(phases, named), whole


def named_windows(phases: list[Window], named: Iterable[NamedWindow]) -> list[Window]:
    """The scenario's named windows placed in their phase (one whose phase never started has no data)."""
    by_name = {w.name: w for w in phases}
    out = []
    for n in named:
        phase = by_name.get(n.phase)
        if phase is None:
            continue
        end = phase.end if n.end_s is None else min(phase.start + n.end_s, phase.end)
        out.append(Window(n.name, phase.start + n.start_s, max(end, phase.start + n.start_s)))
    return out


Count = Callable[..., None]
At = Callable[[float], list[Counters]]


class Attribution:
    """The counters of every window and timeline bucket. `add(t, count, *args)` runs `count(counters,
    *args)` on the counters time `t` falls in: at once when the windows around `t` are settled, else
    once they are (at the latest when the journal ends).

    Counts at once go to one Counters standing for those of a span of time that falls in the same
    windows and bucket, merged into them when a count outside the span comes: a publish is counted
    once, not once per window."""

    def __init__(self, bucket_s: float) -> None:
        self.bucket_s = bucket_s
        self.by_window: dict[str, Counters] = {}
        self.buckets: list[Counters] = []
        self.windows: list[Window] = []
        self.origin = INF                 # the first bucket's start
        self.settled = -INF               # times before this have their windows
        self.final = False
        self.held: deque[tuple[float, Count, tuple[Any, ...]]] = deque()
        self.span = (INF, -INF, -1)       # (from, to, bucket) of the times `sum` stands for
        self.sum: list[Counters] = []
        self.targets: list[Counters] = []

    def window(self, name: str) -> Counters:
        found = self.by_window.get(name)
        if found is None:
            found = self.by_window[name] = Counters()
        return found

    def _index(self, t: float) -> int:
        return int((t - self.origin) // self.bucket_s) if t >= self.origin else -1

    def at(self, t: float) -> list[Counters]:
        """The counters of the windows and the bucket `t` falls in."""
        out = [self.window(w.name) for w in self.windows if w.holds(t)]
        index = self._index(t)
        if index >= len(self.buckets) and not self.final and t < self.settled:
            self.buckets.extend(Counters(BUCKET_EXACT, bucket=True) for _ in range(index + 1 - len(self.buckets)))
        if 0 <= index < len(self.buckets):
            out.append(self.buckets[index])
        return out

    def add(self, t: float, count: Count, *args: Any) -> None:
        if t < self.settled:
            count(self._summing(t), *args)
        else:
            self.held.append((t, count, args))

    def _summing(self, t: float) -> list[Counters]:
        start, end, index = self.span
        if start <= t < end and self._index(t) == index:
            return self.sum
        self._flush()
        self.targets = self.at(t)
        start, end = -INF, INF
        for w in self.windows:   # the span around t in which no window starts or ends
            if w.start <= t < w.end:
                start, end = max(start, w.start), min(end, w.end)
            elif w.start > t:
                end = min(end, w.start)
            else:
                start = max(start, w.end)
        self.span = (start, end, self._index(t))
        self.sum = [Counters()]
        return self.sum

    def _flush(self) -> None:
        if self.sum:
            for target in self.targets:
                target.merge(self.sum[0])
        self.sum, self.targets, self.span = [], [], (INF, -INF, -1)

    def settle(self, until: float, windows: list[Window], whole: Window) -> None:
        """Times before `until` fall in `windows` (open ones end at INF) and the buckets from `whole`'s start."""
        self._flush()
        self.windows, self.origin, self.settled = windows, whole.start, max(self.settled, until)
        self._release()

    def finish(self, windows: list[Window], whole: Window) -> None:
        """The run's windows as read to its end; what was held is counted."""
        self._flush()
        self.windows, self.origin, self.settled = windows, whole.start, INF
        n = max(1, math.ceil(round((whole.end - whole.start) / self.bucket_s, 6)))
        del self.buckets[n:]
        self.buckets.extend(Counters(BUCKET_EXACT, bucket=True) for _ in range(n - len(self.buckets)))
        self.final = True
        self._release()
        self._flush()

    def _release(self) -> None:
        held = self.held
        while held and held[0][0] < self.settled:
            t, count, args = held.popleft()
            count(self._summing(t), *args)


def _count_skipped(counters: list[Counters]) -> None:
    for s in counters:
        s.skipped += 1


class Deliveries:
    """Publishes and their receipts, each publish held until its horizon, then judged (its deliveries
    counted, by its send time) and forgotten; receipts judged in journal order per stream.

    Per subscriber, a delivery is expected when its latest confirmed subscription before the send
    lasted until ack + grace; when that subscription was dropped by the cluster instead, an undelivered
    message is `missed_disconnected` (what the subscriber lost by being disconnected), never `lost`.
    Order is promised only between one publisher's sequential requests to one channel: a message
    received after one that was sent only once it had been acknowledged is reordered. Concurrent
    requests (open loop) may legally arrive in any order.
    """

    def __init__(self, counters: Attribution, horizon_s: float, injections: list[float] | None = None) -> None:
        self.counters = counters
        self.horizon_s = horizon_s
        self.injections = [] if injections is None else injections   # as read so far (Facts.injections), sorted
        self.grace = 2.0
        self.names = Names()
        self.run_ok = {self.names.id(None)}
        self.canary = self.names.id(CANARY)
        self.pending: dict[int, Pending] = {}
        self.due: deque[tuple[float, int]] = deque()           # (when, publish key), about in time order
        self.judged: dict[str, int] = {}                        # pub → highest seq judged and forgotten
        # channel → sub → its ended subscriptions in order: (since, until, dropped by the cluster?)
        self.subscriptions: dict[str, dict[str, list[tuple[float, float, bool]]]] = defaultdict(lambda: defaultdict(list))
        self.open_subs: dict[str, dict[str, float]] = defaultdict(dict)   # sub → channel → confirmed
        # Receipts judged in journal order per stream (sub, pub, channel); one waits while its publish is unread.
        self.waiting: dict[tuple[int, int, int], deque[tuple[float, int, int, int, int, bool]]] = {}
        self.blocked: dict[int, set[tuple[int, int, int]]] = defaultdict(set)   # publish key → streams waiting on it
        self.latest_sent: dict[tuple[int, int, int], float] = {}
        # (sub, channel, run, pub) of a receipt → their ids and its stream (sub, pub, channel)
        self.streams: dict[tuple[Any, ...], tuple[int, int, int, int, tuple[int, int, int]]] = {}

    def started(self, run: dict[str, Any]) -> None:
        self.grace = float(run.get("grace_s", 2.0))
        self.run_ok.add(self.names.id(run.get("run_id")))

    def publish(self, p: Publish) -> None:
        pub_id = self.names.ids.get(p.pub)
        key = ((self.names.id(p.pub) if pub_id is None else pub_id) << Names.SEQ_BITS) | (p.seq + (1 << (Names.SEQ_BITS - 1)))
        due = p.ack + self.grace + self.horizon_s
        entry = self.pending.get(key)
        if entry is None:
            self.pending[key] = Pending(p, due)
        else:
            entry.publish, entry.due = p, due
        self.due.append((due, key))
        for stream in self.blocked.pop(key, ()):
            self._drain(stream, -INF)

    def receive(self, t: float, sub: str, pub: str, seq: int, channel: str, run: Any) -> None:
        # One look-up for the four names (a receipt is the analysis's hottest path; few combinations).
        found = self.streams.get((sub, channel, run, pub))
        if found is None:
            names = self.names
            ids = (names.id(sub), names.id(channel), names.id(run), names.id(pub))
            found = self.streams[(sub, channel, run, pub)] = (*ids, (ids[0], ids[3], ids[1]))
        sub_id, channel_id, run_id, pub_id, stream = found
        key = (pub_id << Names.SEQ_BITS) | (seq + (1 << (Names.SEQ_BITS - 1)))
        entry = self.pending.get(key)
        if entry is None:
            entry = self.pending[key] = Pending(None, t + self.horizon_s)
            self.due.append((entry.due, key))
        first = sub_id not in entry.first
        if first:
            entry.first[sub_id] = t
        elif entry.extra is None:
            entry.extra = {sub_id: 1}
        else:
            entry.extra[sub_id] = entry.extra.get(sub_id, 0) + 1
        queue = self.waiting.get(stream)
        if queue is None and entry.publish is not None:
            self._judge_receipt(t, sub_id, channel_id, run_id, key, first, entry.publish, stream)
            return
        if queue is None:
            queue = self.waiting[stream] = deque()
        queue.append((t, sub_id, channel_id, run_id, key, first))
        entry.queued += 1
        if entry.publish is None:
            self.blocked[key].add(stream)

    def _drain(self, stream: tuple[int, int, int], expired: float) -> None:
        """Judge the stream's waiting receipts in order, up to one whose publish is unread and that
        arrived at or after `expired` (before it: never published, or published after the horizon)."""
        queue = self.waiting.get(stream)
        if queue is None:
            return   # judged already (its head expired)
        while queue:
            receipt = queue[0]
            entry = self.pending.get(receipt[4])
            p = entry.publish if entry is not None else None
            if p is None and receipt[0] >= expired:
                self.blocked[receipt[4]].add(stream)
                return
            queue.popleft()
            if entry is not None:
                entry.queued -= 1
            self._judge_receipt(*receipt, p, stream)
        del self.waiting[stream]

    def _judge_receipt(self, t: float, sub: int, channel: int, run: int, key: int, first: bool, p: Publish | None,
                       stream: tuple[int, int, int]) -> None:
        """Unexpected (not published, another run's, another channel's, or a client event echoed to its
        sender), reordered, or fine."""
        names = self.names.names
        if p is None and run in self.run_ok:
            pub, seq = names[key >> Names.SEQ_BITS], (key & ((1 << Names.SEQ_BITS) - 1)) - (1 << (Names.SEQ_BITS - 1))
            if seq <= self.judged.get(pub, -INF):   # its publish was judged, and forgotten, before it came
                self.counters.add(t, _count_after_horizon)
                return
        if p is None or run not in self.run_ok or p.channel != names[channel] or p.origin == names[sub]:
            self.counters.add(t, _count_unexpected)
            return
        if not first or key >> Names.SEQ_BITS == self.canary:
            return   # only a message's first receipt is in order or not; the canary's order is not judged
        latest = self.latest_sent.get(stream, -INF)
        if p.ack <= latest:
            self.counters.add(p.sent, _count_reordered)
        if p.sent > latest:
            self.latest_sent[stream] = p.sent

    def tick(self, now: float) -> None:
        """Judge what is due at journal time `now` (INF: the journal ended)."""
        expired = now - self.horizon_s
        for stream in [s for s, q in self.waiting.items() if q[0][0] < expired]:
            self._drain(stream, expired)
        due, pending = self.due, self.pending
        while due and due[0][0] < now:
            when, key = due.popleft()
            entry = pending.get(key)
            if entry is None or entry.due != when:
                continue   # judged already, or due later (its line came after its receipts)
            if entry.queued and now < INF:   # a receipt of it waits behind one whose publish is unread: until that expires
                entry.due = when + TICK_S
                due.append((entry.due, key))
                continue
            del pending[key]
            if entry.publish is None:
                self.blocked.pop(key, None)   # receipts of a publish never read: judged unexpected already
            else:
                self._judge(entry)

    def _judge(self, entry: Pending) -> None:
        """Count one publish and its deliveries, by its send time (or the fault it met in flight)."""
        p = entry.publish
        if p.seq > self.judged.get(p.pub, -INF):
            self.judged[p.pub] = p.seq
        at = self._counted_at(p)
        if p.pub == CANARY:
            got = entry.first.get(self.canary)
            self.counters.add(at, _count_canary, p.ok, None if got is None else (got - p.sent) * 1000)
            return
        if not p.ok:
            self.counters.add(at, _count_failed, p, len(entry.first))
            return
        if p.origin is not None and self._first_injection(p.sent, p.sent + CLIENT_EVENT_IN_FLIGHT_S) is not None:
            # A client event has no acknowledgement: one sent just before a fault may have reached its node
            # only after it, so nobody's delivery of it is expected (the publish still counts).
            self.counters.add(at, _count_delivered, p, 0, 0, 0, 0, 0, [])
            return
        # Counted once for the publish, then added to each window and bucket it falls in.
        expected = received = duplicated = late = missed = 0
        latencies = []
        sent, channel, origin, deadline = p.sent, p.channel, p.origin, p.ack + self.grace
        ids, open_subs, first_of = self.names.ids, self.open_subs, entry.first
        for sub, spans in self.subscriptions.get(channel, {}).items():
            opened = open_subs.get(sub)
            since = opened.get(channel) if opened else None
            if since is not None and since < sent:
                until, dropped = INF, False   # still subscribed: past any deadline due now
            else:
                latest = _latest_before(spans, sent)
                if latest is None:
                    continue
                _, until, dropped = latest
            if sub == origin:
                continue
            first = first_of.get(ids.get(sub))
            if until < deadline:
                if dropped and first is None:
                    missed += 1
                continue
            expected += 1
            if first is not None:
                received += 1
                if entry.extra:
                    duplicated += entry.extra.get(ids[sub], 0)
                latencies.append((first - sent) * 1000)
                if first > deadline:
                    late += 1
        self.counters.add(at, _count_delivered, p, expected, received, duplicated, late, missed, latencies)

    def _counted_at(self, p: Publish) -> float:
        """When a publish counts: its send time, unless a fault was injected while it was in flight (sent
        before, answered after): then the fault had its outcome, and it counts at that injection — with
        the fault (in `run`, and in no window that ended before the fault began), never as evidence
        about the time before it."""
        hit = self._first_injection(p.sent, p.ack)
        return p.sent if hit is None else hit

    def _first_injection(self, start: float, end: float) -> float | None:
        """The first fault injection from `start` to `end` (read by now: judging waits longer), or None."""
        i = bisect_left(self.injections, start)
        return self.injections[i] if i < len(self.injections) and self.injections[i] <= end else None


def _latest_before(spans: list[tuple[float, float, bool]], t: float) -> tuple[float, float, bool] | None:
    """The last subscription confirmed strictly before `t` (spans are in order of confirmation)."""
    i = bisect_left(spans, (t,)) - 1
    return spans[i] if i >= 0 else None


def _count_canary(counters: list[Counters], ok: bool, latency: float | None) -> None:
    for s in counters:
        s.canary_sent += 1
        if ok and latency is not None:
            s.canary_received += 1
            s.canary_latency.append(latency)


def _count_failed(counters: list[Counters], p: Publish, receivers: int) -> None:
    if p.elsewhere:
        return
    for s in counters:
        s.attempts += 1
        s.errors[p.error or "other"] += 1
        s.error_latency.append((p.ack - p.sent) * 1000)
        s.of_failed += receivers
        if receivers:
            s.recovered += 1


def _count_delivered(counters: list[Counters], p: Publish, expected: int, received: int, duplicated: int, late: int,
                     missed: int, latencies: list[float]) -> None:
    for s in counters:
        if not p.elsewhere:
            s.attempts += 1
            s.ok += 1
            s.publish_latency.append((p.ack - p.sent) * 1000)
        s.missed_disconnected += missed
        s.expected += expected
        s.received += received
        s.duplicated += duplicated
        s.late += late
        s.delivery_latency.extend(latencies)


def _count_unexpected(counters: list[Counters]) -> None:
    for s in counters:
        s.unexpected += 1


def _count_after_horizon(counters: list[Counters]) -> None:
    for s in counters:
        s.after_horizon += 1


def _count_reordered(counters: list[Counters]) -> None:
    for s in counters:
        s.reordered += 1


def count_sockets(facts: Facts, at: At) -> None:
    """Connects, reconnects, disconnects and server closes (by code) by the time they happened."""
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
    """The harness's own health (event-loop lag, CPU) and fault confirmation times."""
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
