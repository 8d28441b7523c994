"""The scenario model and its loader.

A scenario file (YAML) names the cluster, the workload, the phases with their faults, and the
expectations. `load()` validates all of it before anything starts; every error names the file, the
line, the field and what is allowed, and is raised as `ScenarioError` (exit status 2).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness import expect, guardrail, strict_yaml, systems
from harness.strict_yaml import shown
from harness.alert_expect import ANY as ANY_ALERT, AlertExpectation
from harness.duration import EXAMPLES, parse_duration
from harness.guardrail import Guardrail
from harness.observe import rules
from harness.recovery import Recovery
from harness.windows import WHOLE_RUN, NamedWindow
from harness.workload.rate import SHAPES, Shape
from harness.faults.catalog import FAULT_KINDS
from harness.schedule import Chaos, TimedFault, read_chaos, read_timed_fault


# The steady-state hypothesis's windows, before the first phase and after the last (reserved names).
STEADY_BEFORE, STEADY_AFTER = "steady-state-before", "steady-state-after"


POLICIES = ("strict", "degrade")


class ScenarioError(Exception):
    """A scenario the harness refuses: the message says where and why, on one bounded line."""

    def __init__(self, message: str) -> None:
        line = " ".join(message.split())
        super().__init__(line if len(line) <= 400 else line[:399] + "…")


@dataclass(frozen=True)
class PublishLoad:
    shape: Shape = field(default_factory=Shape)   # rate over all publishers together, and its shape
    publishers: int = 1           # each gets an equal share of the rate
    channels: int = 2             # channels hx-load-0 .. hx-load-(n-1)
    timeout_s: float = 2.0        # per request
    payload_bytes: int = 64       # padding added to each message's data
    batch: int = 1                # messages per request (batch_events when > 1)
    target: str = "round-robin"   # or a node name: every publish through that node


@dataclass(frozen=True)
class SlowReader:
    """A subscriber that stops reading for a while, so the node's unsent bytes for it pile up."""

    node: str                     # node1 …: connected straight to that node inside the cluster's network
    at_s: float                   # offset from the start of publishing
    for_s: float                  # how long it reads nothing


# websockets' own keepalive closes a client whose pong it has not read within 20 s (ping every 20 s, then 20 s).
MAX_PAUSE_S = 15.0


@dataclass(frozen=True)
class SubscribeLoad:
    per_node: int = 2             # WebSocket subscribers on each node
    spread: bool = False          # False: each on every load channel; True: one channel each, in turn
    channel_type: str = "public"  # public | private | presence: subscriptions signed like an auth endpoint
    churn_per_s: float = 0.0      # subscribers closed and reconnected per second, in turn
    client_events_per_s: float = 0.0   # client-* events each subscriber sends (private/presence channels)
    slow_readers: tuple[SlowReader, ...] = ()   # extra subscribers that pause their reads (slow-consumer limit)


CHANNEL_TYPES = ("public", "private", "presence")
MAX_APPS = 3                      # the first enabled apps of compose/upstream/apps.json have no limits


@dataclass(frozen=True)
class Workload:
    apps: int = 1                 # tenants: each its own publishers and subscribers on the same channel names
    publish: PublishLoad = field(default_factory=PublishLoad)
    subscribe: SubscribeLoad = field(default_factory=SubscribeLoad)
    canary: bool = True           # one message a second, first node → last node, accounted apart
    grace_s: float = 2.0          # a delivery later than ack + grace is late; also the drain time
    phase_rates: tuple[tuple[float, float], ...] = ()   # (offset s, publish rate) from phases[].workload


@dataclass(frozen=True)
class Phase:
    name: str
    duration_s: float
    faults: tuple[TimedFault, ...] = ()
    chaos: Chaos | None = None    # a seeded random fault schedule (harness/schedule.py)


@dataclass(frozen=True)
class Monitoring:
    """Prometheus, Alertmanager and the sink in the cluster, evaluating one rule file (docs/monitoring.md)."""

    rule_set: str                 # as written: a set's name (baseline, hardened) or a rule file path
    rules_file: Path
    alerts: tuple[str, ...]       # the alert names the rule file defines (promtool-checked)
    scrape_interval_s: float = 1.0
    evaluation_interval_s: float = 1.0

    def cluster_args(self) -> dict[str, Any]:
        return {"monitoring": True, "rules_file": self.rules_file, "scrape_interval_s": self.scrape_interval_s,
                "evaluation_interval_s": self.evaluation_interval_s}


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    description: str
    nodes: int
    workload: Workload
    phases: tuple[Phase, ...]
    expectations: tuple[expect.Expectation, ...]
    windows: tuple[NamedWindow, ...]
    recovery: Recovery
    source: str                   # the file's text, recorded in the journal so `report` can re-judge
    monitoring: Monitoring | None = None   # None: the lighter cluster, without the monitoring services
    redis_policy: str = "strict"           # the nodes' failure policies (docs/node.md): strict | degrade
    upstream_policy: str = "strict"
    system: systems.System = field(default_factory=systems.resolve)   # the system under test
    probes: tuple[systems.Probe, ...] = ()  # the scenario's own probes, polled beside the system's

    @property
    def all_probes(self) -> tuple[systems.Probe, ...]:
        return self.system.probes + self.probes
    seed: int | None = None       # the fault schedules' seed; `--seed` overrides it, None: drawn per run
    abort_when: tuple[Guardrail, ...] = ()
    steady_state: tuple[expect.Expectation, ...] = ()   # judged on STEADY_BEFORE before any fault

    def cluster_args(self) -> dict[str, Any]:
        """What the cluster is started with: nodes, failure policies, the system, the monitoring profile."""
        return {"nodes": self.nodes, "redis_policy": self.redis_policy, "upstream_policy": self.upstream_policy,
                "system": self.system, **(self.monitoring.cluster_args() if self.monitoring else {})}


# --- located errors -------------------------------------------------------------------------------

Path_ = strict_yaml.Path_
MAX_FILE_BYTES = 1 << 20


class _Reader:
    """Typed access to the parsed document; every failure raises a located ScenarioError."""

    def __init__(self, file: Path, lines: dict[Path_, int]) -> None:
        self.file = file
        self.lines = lines

    def error(self, path: Path_, message: str) -> ScenarioError:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        return ScenarioError(f"{self.file}:{line}: {strict_yaml.dotted(path)}: {message}")

    def mapping(self, value: Any, path: Path_, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.error(path, f"must be a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                raise self.error(path + (key,), f"unknown field; allowed: {', '.join(sorted(allowed))}")
        for key in sorted(required):
            if key not in value:
                raise self.error(path, f"missing required field '{key}'")
        return value

    def number(self, value: Any, path: Path_, low: float, high: float, integer: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            kind = "an integer" if integer else "a number"
            raise self.error(path, f"must be {kind} from {low:g} to {high:g}, got {shown(value)}")
        if not low <= value <= high:
            raise self.error(path, f"must be from {low:g} to {high:g}, got {shown(value)}")
        return value

    def duration(self, value: Any, path: Path_) -> float:
        seconds = parse_duration(value)
        if seconds is None or seconds <= 0 or seconds > 24 * 3600:
            raise self.error(path, f"must be a duration like {EXAMPLES}, up to 24h; got {shown(value)}")
        return seconds

    def rate(self, value: Any, path: Path_, high: float) -> float:
        """Events per second from 2, 0.5 or "2/s"; 0 means none."""
        if isinstance(value, str) and value.endswith("/s"):
            value = value[:-2].strip()
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
            raise self.error(path, f"must be a rate like 2/s, from 0 to {high:g} per second; got {value!r}")
        return float(value)

    def name(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", value):
            raise self.error(path, f"must be a name of letters, digits, '-' and '_' starting with a letter; got {shown(value)}")
        return value


# --- the loader ------------------------------------------------------------------------------------

def load(path: str | Path, rules: str | None = None) -> Scenario:
    """Read and validate a scenario file; raises ScenarioError naming file, line and field."""
    return loads(read_source(path), Path(path), rules=rules)


def read_source(path: str | Path) -> str:
    """A scenario file's text; ScenarioError when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB; a scenario is a short file")
    try:
        return strict_yaml.decode(data)
    except strict_yaml.YamlError as exc:
        raise ScenarioError(f"{path}:{exc}") from None


def loads(text: str, file: Path = Path("<scenario>"), recorded_alerts: dict[str, Any] | None = None,
          rules: str | None = None) -> Scenario:
    """Validate a scenario given as text (file is used in error messages).

    `recorded_alerts` ({"rule_set", "rules_file", "alerts"}, from a journal's run_start) stands in for
    resolving and promtool-checking the rule file, so a journal is re-judged from itself alone.
    `rules` (a set's name or an absolute rule file path; `harness run --rules`) replaces the file's
    `cluster.rules` and turns monitoring on: one scenario judged against several rule sets.
    """
    try:
        doc, lines = strict_yaml.load(text)
    except strict_yaml.YamlError as exc:
        raise ScenarioError(f"{file}:{exc}") from None
    if doc is None:
        raise ScenarioError(f"{file}:1: empty scenario; expected a mapping with name, phases, expect")
    r = _Reader(file, lines)
    top = r.mapping(doc, (), {"name", "description", "system", "probes", "cluster", "workload", "phases", "windows",
                              "recovery", "expect", "seed", "abort_when", "steady_state", "params"}, {"name", "phases"})
    name = r.name(top["name"], ("name",))
    description = top.get("description") or ""
    if not isinstance(description, str):
        raise r.error(("description",), "must be text")

    cluster = r.mapping(top.get("cluster"), ("cluster",), {"nodes", "monitoring", "rules", "scrape_interval",
                                                          "evaluation_interval", "redis_policy", "upstream_policy"})
    if rules is None and recorded_alerts:
        rules = str(recorded_alerts.get("rule_set"))   # the run had monitoring, were it from `--rules`
    if rules is not None:
        cluster = {**cluster, "monitoring": True, "rules": rules}
    nodes = int(r.number(cluster.get("nodes", 2), ("cluster", "nodes"), 1, 3, integer=True))
    system = _system(r, top.get("system", systems.DEFAULT))
    probes = _probes(r, top.get("probes"), system, nodes)
    policies = {}
    for key in ("redis_policy", "upstream_policy"):
        policies[key] = cluster.get(key, "strict")
        if policies[key] not in POLICIES:
            raise r.error(("cluster", key), f"unknown policy {shown(policies[key])}; allowed: {', '.join(POLICIES)}")

    workload = _workload(r, top.get("workload"), nodes)
    sub = workload.subscribe
    if system.protocol != "pusher" and (workload.apps > 1 or sub.channel_type != "public" or sub.client_events_per_s):
        raise r.error(("workload",), f"apps, private/presence channels and client events need the pusher protocol; "
                      f"{system.name} speaks {system.protocol}")
    phases = _phases(r, top["phases"], nodes)
    raw_phases = list(top["phases"])
    steady_s, steady_lines = _steady_state(r, top.get("steady_state"))
    if steady_lines:
        phases = (Phase(STEADY_BEFORE, steady_s), *phases, Phase(STEADY_AFTER, steady_s))
        raw_phases = [None, *raw_phases, None]
    workload = _phase_rates(r, raw_phases, list(phases), workload)
    total_s = sum(p.duration_s for p in phases)
    for i, reader in enumerate(sub.slow_readers):
        if reader.at_s + reader.for_s > total_s:
            raise r.error(("workload", "subscribe", "slow_readers", i, "for"),
                          f"the pause ends at {reader.at_s + reader.for_s:g}s, after the phases' {total_s:g}s")
    windows = _named_windows(r, top.get("windows"), phases)
    recovery = _recovery(r, top.get("recovery"))
    expectations = _expectations(r, top.get("expect"), {p.name for p in phases} | {w.name for w in windows}, phases,
                                 tuple(f"node{i}" for i in range(1, nodes + 1)))
    steady = {when: _steady_expectations(r, steady_lines, when) for when in (STEADY_BEFORE, STEADY_AFTER)}
    seed = top.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise r.error(("seed",), f"must be a non-negative integer; got {seed!r}")
    abort_when = _guardrails(r, top.get("abort_when"))
    monitoring = _monitoring(r, cluster, file, expectations, recorded_alerts)
    _named_metrics_exist(r, [(("expect", i), e) for i, e in enumerate(expectations)]
                         + [(("steady_state", "expect", i), e) for i, e in enumerate(steady[STEADY_BEFORE])],
                         system.probes + probes, monitoring)
    return Scenario(name, file, description, nodes, workload, phases,
                    steady[STEADY_BEFORE] + expectations + steady[STEADY_AFTER], windows, recovery, text,
                    monitoring=monitoring, system=system, probes=probes, seed=seed, abort_when=abort_when,
                    steady_state=steady[STEADY_BEFORE], **policies)


def _named_metrics_exist(r: _Reader, lines: list[tuple[Path_, Any]], probes: tuple[systems.Probe, ...],
                         monitoring: Monitoring | None) -> None:
    """`probe.<name>.…` names a probe the run polls, `alert.<Name>.…` an alert of the rule set: else the
    line could only fail, and only after the whole run."""
    names = [p.name for p in probes]
    for where, e in lines:
        for metric in expect.metrics_named(e):
            family, _, rest = metric.partition(".")
            named = rest.split(".")[0]
            if family == "probe" and named not in names:
                raise r.error(where, f"no probe {shown(named)}; the probes are {', '.join(names) or 'none'} "
                                     "(the system's, and the scenario's probes:)")
            if family == "alert" and monitoring is None:
                raise r.error(where, "alert metrics need cluster: {monitoring: true}")
            if family == "alert" and named not in monitoring.alerts:
                raise r.error(where, f"rule set {shown(monitoring.rule_set)} has no alert {shown(named)}; it has: "
                                     f"{', '.join(monitoring.alerts)}")


def _steady_state(r: _Reader, raw: Any) -> tuple[float, list[tuple[int, Any]]]:
    """The steady-state hypothesis: its window's length and its expectation lines (with their index)."""
    if raw is None:
        return 0.0, []
    block = r.mapping(raw, ("steady_state",), {"duration", "expect"}, {"expect"})
    lines = block["expect"]
    if not isinstance(lines, list) or not lines:
        raise r.error(("steady_state", "expect"), "must be a non-empty list like 'publish.success_rate >= 0.99' "
                      "(no window: it is judged before the first fault and after the last revert)")
    return r.duration(block.get("duration", 5), ("steady_state", "duration")), list(enumerate(lines))


def _steady_expectations(r: _Reader, lines: list[tuple[int, Any]], window: str) -> tuple[expect.Expectation, ...]:
    out = []
    for i, line in lines:
        if not isinstance(line, str) or line.lstrip().startswith("alert") or re.match(r"\s*[A-Za-z][\w-]*\s*:", line):
            raise r.error(("steady_state", "expect", i), "must be '<metric> <op> <value>' without a window, "
                          "e.g. 'publish.success_rate >= 0.99'")
        try:
            out.append(expect.parse(f"{window}: {line}", {window}))
        except ValueError as exc:
            raise r.error(("steady_state", "expect", i), str(exc)) from None
    return tuple(out)


def _guardrails(r: _Reader, raw: Any) -> tuple[Guardrail, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise r.error(("abort_when",), "must be a list like ['publish.success_rate < 0.2 over 10s']")
    out = []
    for i, line in enumerate(raw):
        try:
            out.append(guardrail.parse(line))
        except ValueError as exc:
            raise r.error(("abort_when", i), str(exc)) from None
    return tuple(out)


def _system(r: _Reader, raw: Any) -> systems.System:
    try:
        return systems.resolve(raw)
    except ValueError as exc:
        field_name, _, message = str(exc).partition(": ")
        # A custom declaration's message starts with the field it is about.
        if isinstance(raw, dict) and field_name and " " not in field_name:
            raise r.error(("system", field_name), message) from None
        raise r.error(("system",), str(exc)) from None


PROBE_METHODS = ("GET", "HEAD", "POST")


def _probes(r: _Reader, raw: Any, system: systems.System, nodes: int) -> tuple[systems.Probe, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.error(("probes",), "must be a list of {name, path, node?, method?} (HTTP probes polled every second)")
    taken = {p.name for p in system.probes}
    node_names = ["all"] + [f"node{i}" for i in range(1, nodes + 1)]
    out = []
    for i, item in enumerate(raw):
        at = ("probes", i)
        p = r.mapping(item, at, {"name", "path", "node", "method"}, {"name", "path"})
        name = r.name(p["name"], at + ("name",))
        if name in taken:
            raise r.error(at + ("name",), f"probe name {name!r} is taken (the system's probes: "
                          f"{', '.join(q.name for q in system.probes)}; names must differ)")
        taken.add(name)
        path = p["path"]
        if not isinstance(path, str) or not path.startswith("/"):
            raise r.error(at + ("path",), f"must be a URL path starting with /, got {path!r}")
        node = p.get("node", "all")
        if node not in node_names:
            raise r.error(at + ("node",), f"unknown node {node!r}; allowed: {', '.join(node_names)}")
        method = p.get("method", "GET")
        if method not in PROBE_METHODS:
            raise r.error(at + ("method",), f"must be one of {', '.join(PROBE_METHODS)}, got {method!r}")
        out.append(systems.Probe(name, path, node, method))
    return tuple(out)


def _workload(r: _Reader, raw: Any, nodes: int) -> Workload:
    w = r.mapping(raw, ("workload",), {"apps", "publish", "subscribe", "canary", "grace"})
    at = ("workload", "publish")
    pub = r.mapping(w.get("publish"), at, {"rate", "shape", "steps", "step", "burst", "publishers", "channels",
                                           "timeout", "payload_bytes", "batch", "target"})
    d = PublishLoad()
    kind = pub.get("shape", "constant")
    if kind not in SHAPES:
        raise r.error(at + ("shape",), f"unknown shape {shown(kind)}; allowed: {', '.join(SHAPES)}")
    steps: tuple[float, ...] = ()
    if kind == "stepped":
        raw_steps = pub.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise r.error(at + ("steps",), "a stepped shape needs steps: a list of rates, e.g. [10, 20, 40]")
        steps = tuple(float(r.number(v, at + ("steps", i), 0.1, 5000)) for i, v in enumerate(raw_steps))
    burst = r.mapping(pub.get("burst"), at + ("burst",), {"size", "every"})
    if kind == "bursty" and "size" not in burst:
        raise r.error(at + ("burst",), "a bursty shape needs burst: {size: N, every: 5s}")
    rate = float(r.number(pub.get("rate", d.shape.rate), at + ("rate",), 0.1, 5000))
    shape = Shape(kind, rate, steps, r.duration(pub.get("step", 5), at + ("step",)),
                  int(r.number(burst.get("size", 0), at + ("burst", "size"), 0, 10000, integer=True)),
                  r.duration(burst.get("every", 5), at + ("burst", "every")))
    targets = ["round-robin"] + [f"node{i}" for i in range(1, nodes + 1)]
    target = pub.get("target", d.target)
    if target not in targets:
        raise r.error(at + ("target",), f"unknown target {shown(target)}; allowed: {', '.join(targets)}")
    publish = PublishLoad(
        shape=shape,
        publishers=int(r.number(pub.get("publishers", d.publishers), at + ("publishers",), 1, 50, integer=True)),
        channels=int(r.number(pub.get("channels", d.channels), at + ("channels",), 1, 100, integer=True)),
        timeout_s=r.duration(pub.get("timeout", d.timeout_s), at + ("timeout",)),
        payload_bytes=int(r.number(pub.get("payload_bytes", d.payload_bytes), at + ("payload_bytes",), 0, 9000, integer=True)),
        batch=int(r.number(pub.get("batch", d.batch), at + ("batch",), 1, 10, integer=True)),
        target=target,
    )
    at = ("workload", "subscribe")
    sub = r.mapping(w.get("subscribe"), at, {"per_node", "spread", "channels", "churn", "client_events", "slow_readers"})
    spread = sub.get("spread", False)
    if not isinstance(spread, bool):
        raise r.error(at + ("spread",), "must be true or false")
    channel_type = sub.get("channels", "public")
    if channel_type not in CHANNEL_TYPES:
        raise r.error(at + ("channels",), f"must be one of {', '.join(CHANNEL_TYPES)}; got {channel_type!r}")
    client_events = r.rate(sub.get("client_events", 0), at + ("client_events",), 10)
    if client_events and channel_type == "public":
        raise r.error(at + ("client_events",), "client events need channels: private or presence")
    subscribe = SubscribeLoad(
        per_node=int(r.number(sub.get("per_node", SubscribeLoad().per_node), at + ("per_node",), 0, 200, integer=True)),
        spread=spread, channel_type=channel_type, churn_per_s=r.rate(sub.get("churn", 0), at + ("churn",), 50),
        client_events_per_s=client_events, slow_readers=_slow_readers(r, sub.get("slow_readers"), at, nodes),
    )
    apps = int(r.number(w.get("apps", 1), ("workload", "apps"), 1, MAX_APPS, integer=True))
    canary = w.get("canary", True)
    if not isinstance(canary, bool):
        raise r.error(("workload", "canary"), "must be true or false")
    grace = r.duration(w.get("grace", Workload().grace_s), ("workload", "grace"))
    return Workload(apps, publish, subscribe, canary, grace)


def _slow_readers(r: _Reader, raw: Any, at: Path_, nodes: int) -> tuple[SlowReader, ...]:
    """`subscribe.slow_readers: [{node: node1, at: 3s, for: 8s}]`: each pauses once, `at` after publishing starts."""
    if raw is None:
        return ()
    at = at + ("slow_readers",)
    if not isinstance(raw, list) or not raw:
        raise r.error(at, "must be a list like [{node: node1, at: 3s, for: 8s}]")
    names = [f"node{i}" for i in range(1, nodes + 1)]
    out = []
    for i, item in enumerate(raw):
        spec = r.mapping(item, at + (i,), {"node", "at", "for"}, {"node", "at", "for"})
        if spec["node"] not in names:
            raise r.error(at + (i, "node"), f"unknown node {shown(spec['node'])}; allowed: {', '.join(names)}")
        start = parse_duration(spec["at"])
        if start is None or not 0 <= start <= 3600:
            raise r.error(at + (i, "at"), f"must be a duration like {EXAMPLES} (0 allowed), up to 1h; got {shown(spec['at'])}")
        length = r.duration(spec["for"], at + (i, "for"))
        if length > MAX_PAUSE_S:
            raise r.error(at + (i, "for"), f"at most {MAX_PAUSE_S:g}s: a longer pause trips the client's own "
                          f"keepalive (a pong unread for 20 s); got {shown(spec['for'])}")
        out.append(SlowReader(spec["node"], start, length))
    return tuple(out)


def _phase_rates(r: _Reader, raw_phases: list, phases: list[Phase], workload: Workload) -> Workload:
    """`phases[].workload: {publish: {rate: N}}`: the publish rate from that phase on (the next one resets it)."""
    rates, offset, changed = [], 0.0, False
    index = -1
    for item, phase in zip(raw_phases, phases):
        index += item is not None
        at = ("phases", index, "workload")
        override = r.mapping((item or {}).get("workload"), at, {"publish"})
        publish = r.mapping(override.get("publish"), at + ("publish",), {"rate"})
        rate = workload.publish.shape.rate
        if "rate" in publish:
            if workload.publish.shape.kind == "stepped":
                raise r.error(at + ("publish", "rate"), "a stepped shape has its own rates; per-phase rates need "
                              "constant or bursty")
            rate, changed = float(r.number(publish["rate"], at + ("publish", "rate"), 0.1, 5000)), True
        rates.append((offset, rate))
        offset += phase.duration_s
    return replace(workload, phase_rates=tuple(rates)) if changed else workload


def _named_windows(r: _Reader, raw: Any, phases: tuple[Phase, ...]) -> tuple[NamedWindow, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.error(("windows",), "must be a list of {name, phase, from, to}")
    by_name = {p.name: p for p in phases}
    out = []
    for i, item in enumerate(raw):
        w = r.mapping(item, ("windows", i), {"name", "phase", "from", "to"}, {"name", "phase"})
        name = r.name(w["name"], ("windows", i, "name"))
        if name in by_name or name == WHOLE_RUN or name in {n.name for n in out}:
            raise r.error(("windows", i, "name"), f"window name {shown(name)} is already a phase or window name")
        phase = by_name.get(w["phase"]) if isinstance(w["phase"], str) else None
        if phase is None:
            raise r.error(("windows", i, "phase"), f"unknown phase {shown(w['phase'])}; allowed: {', '.join(by_name)}")
        start = parse_duration(w.get("from", 0))
        if start is None or start < 0:
            raise r.error(("windows", i, "from"), f"must be a duration from the phase's start like 0s, 2s; got {shown(w['from'])}")
        end = r.duration(w["to"], ("windows", i, "to")) if "to" in w else None
        if end is not None and end <= start:
            raise r.error(("windows", i, "to"), f"must be after from ({start:g} s)")
        # A window outside its phase would be empty, and an empty window proves nothing.
        if start >= phase.duration_s:
            raise r.error(("windows", i, "from"), f"{start:g} s is not inside phase {phase.name!r} "
                                                  f"({phase.duration_s:g} s long)")
        if end is not None and end > phase.duration_s:
            raise r.error(("windows", i, "to"), f"{end:g} s is past the end of phase {phase.name!r} "
                                                f"({phase.duration_s:g} s long)")
        out.append(NamedWindow(name, phase.name, start, end))
    return tuple(out)


def _recovery(r: _Reader, raw: Any) -> Recovery:
    d = Recovery()
    rec = r.mapping(raw, ("recovery",), {"success_rate", "delivery_ratio", "sustain"})
    return Recovery(float(r.number(rec.get("success_rate", d.success_rate), ("recovery", "success_rate"), 0, 1)),
                    float(r.number(rec.get("delivery_ratio", d.delivery_ratio), ("recovery", "delivery_ratio"), 0, 1)),
                    r.duration(rec.get("sustain", d.sustain_s), ("recovery", "sustain")))


def _phases(r: _Reader, raw: Any, nodes: int) -> tuple[Phase, ...]:
    if not isinstance(raw, list) or not raw:
        raise r.error(("phases",), "must be a non-empty list of phases (each with name and duration)")
    phases: list[Phase] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        p = r.mapping(item, ("phases", i), {"name", "duration", "faults", "chaos", "workload"}, {"name", "duration"})
        name = r.name(p["name"], ("phases", i, "name"))
        if name in seen or name in (WHOLE_RUN, STEADY_BEFORE, STEADY_AFTER):
            raise r.error(("phases", i, "name"), f"phase name {shown(name)} is used twice or reserved")
        seen.add(name)
        duration = r.duration(p["duration"], ("phases", i, "duration"))
        faults_raw = p.get("faults") or []
        if not isinstance(faults_raw, list):
            raise r.error(("phases", i, "faults"), "must be a list of faults")
        faults = []
        for j, f in enumerate(faults_raw):
            where = ("phases", i, "faults", j)
            if not isinstance(f, dict):
                raise r.error(where, f"must be a mapping with kind and target; kinds: {', '.join(sorted(FAULT_KINDS))}")
            with _located(r, where):
                faults.append(read_timed_fault(f, nodes, f"{name}-{j + 1}", duration))
        chaos = None
        if "chaos" in p:
            with _located(r, ("phases", i, "chaos")):
                chaos = read_chaos(p["chaos"], nodes, name)
        phases.append(Phase(name, duration, tuple(faults), chaos))
    _unique_fault_names(r, phases)
    return tuple(phases)


def _unique_fault_names(r: _Reader, phases: list[Phase]) -> None:
    """The journal keys faults by name: two of one name would be read as one fault (the second's
    injection and confirmation lost, its phase judged as if faulted). Flaps and chaos name their own
    (`<fault>.<cycle>`, `<phase>-chaos-<n>`): no fault may take those either."""
    generated = [re.escape(f.name) + r"\.\d+" for p in phases for f in p.faults if f.flap is not None]
    generated += [re.escape(p.name) + r"-chaos-\d+" for p in phases if p.chaos is not None]
    made = re.compile("^(?:" + "|".join(generated) + ")$") if generated else None
    seen: set[str] = set()
    for i, p in enumerate(phases):
        for j, f in enumerate(p.faults):
            if f.name in seen or (made is not None and made.match(f.name)):
                raise r.error(("phases", i, "faults", j, "name"),
                              f"fault name {shown(f.name)} is used twice (a flap's or a chaos schedule's faults are "
                              "named <fault>.<cycle> and <phase>-chaos-<n>); give each fault its own name")
            seen.add(f.name)


@contextmanager
def _located(r: _Reader, where: Path_):
    """Turn a ValueError("<field.sub>: message") from a validator into a ScenarioError at that field."""
    try:
        yield
    except ValueError as exc:
        field_name, _, message = str(exc).partition(": ")
        # The message starts with the field it is about, present or missing (a required one).
        field_path = tuple(int(part) if part.isdigit() else part for part in field_name.split(".")) \
            if field_name and " " not in field_name else ()
        raise r.error(where + field_path, message) from None


def _expectations(r: _Reader, raw: Any, phase_names: set[str], phases: tuple[Phase, ...] = (),
                  nodes: tuple[str, ...] = ()) -> tuple[expect.Expectation, ...]:
    if not isinstance(raw, list) or not raw:
        # A scenario that expects nothing would pass whatever happened.
        raise r.error(("expect",), "needs at least one expectation, a list of lines like "
                                   "'steady: publish.success_rate >= 0.99' (docs/scenarios.md)")
    out = []
    for i, text in enumerate(raw):
        try:
            out.append(expect.parse(text, phase_names, {p.name for p in phases},
                                    {f.name for p in phases for f in p.faults}, nodes))
        except ValueError as exc:
            raise r.error(("expect", i), str(exc)) from None
    return tuple(out)


def _monitoring(r: _Reader, raw: dict, file: Path, expectations: tuple,
                recorded: dict[str, Any] | None = None) -> Monitoring | None:
    """The monitoring profile: off unless asked for (`monitoring: true` or a `rules` set); the rule file is
    checked with promtool here, before any container starts, and alert expectations must name its alerts."""
    at = ("cluster",)
    enabled = raw.get("monitoring", "rules" in raw)
    if not isinstance(enabled, bool):
        raise r.error(at + ("monitoring",), "must be true or false")
    alert_lines = [(i, e) for i, e in enumerate(expectations) if isinstance(e, AlertExpectation)]
    if not enabled:
        if alert_lines:
            raise r.error(("expect", alert_lines[0][0]), "alert expectations need cluster: {monitoring: true}")
        for key in ("rules", "scrape_interval", "evaluation_interval"):
            if key in raw:
                raise r.error(at + (key,), "only meaningful with cluster: {monitoring: true}")
        return None
    rule_set = raw.get("rules", "baseline")
    if not isinstance(rule_set, str):
        raise r.error(at + ("rules",), f"must be a rule set ({', '.join(rules.rule_sets())}) or a rule file path")
    if recorded is not None:
        path, alerts = Path(str(recorded.get("rules_file", ""))), tuple(recorded.get("alerts") or ())
    else:
        try:
            path = rules.resolve(rule_set, file.parent)
            alerts = rules.check(path)
        except rules.RuleFileError as exc:
            raise r.error(at + ("rules",), str(exc)) from None
    intervals = [r.duration(raw.get(key, 1), at + (key,)) for key in ("scrape_interval", "evaluation_interval")]
    for key, seconds in zip(("scrape_interval", "evaluation_interval"), intervals):
        if not 0.5 <= seconds <= 15:
            raise r.error(at + (key,), f"must be from 500ms to 15s, got {seconds:g} s")
    for i, e in alert_lines:
        if e.alert != ANY_ALERT and e.alert not in alerts:
            raise r.error(("expect", i), f"rule set {shown(rule_set)} has no alert {shown(e.alert)}; it has: {', '.join(alerts)}")
    return Monitoring(rule_set, path, alerts, intervals[0], intervals[1])
