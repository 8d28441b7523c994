"""What faults exist, what each targets and which parameters it takes: the single source for
validation, `harness fault list` and docs/faults.md.

Pure data and pure validation; the objects that act live in toxic.py, container.py, network.py,
redis.py and upstream.py, and factory.py builds them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.cluster.services import CORE_SERVICES
from harness.strict_yaml import shown

# Links every node has through Toxiproxy: to Redis, to the upstream, and from its own clients. A link
# target names one link for all nodes (`redis`) or one node's (`node2.client`).
LINKS = ("redis", "upstream", "client")

SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT")

# What a kind acts on; each value is the set of targets `targets_for` lists.
TARGET_LINKS, TARGET_SERVICES, TARGET_REDIS, TARGET_UPSTREAM = "links", "services", "redis", "upstream"


@dataclass(frozen=True)
class Param:
    """One parameter of a fault kind. `type`: number (low..high), choice (one of `choices`), string,
    or env (a mapping NAME -> value, null removes the variable)."""

    name: str
    doc: str
    default: Any = None              # None: required
    type: str = "number"
    low: float = 0
    high: float = 10_000_000
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaultKind:
    name: str
    doc: str
    family: str                      # toxic | proxy | container | recreate | network | redis | preset | upstream
    targets: str                     # one of the TARGET_* sets
    params: tuple[Param, ...] = ()
    toxic_type: str | None = None    # the Toxiproxy toxic it adds (family toxic)
    multi: bool = True               # may name several targets, comma-separated


def _toxic(name: str, doc: str, *params: Param) -> FaultKind:
    return FaultKind(name, doc, "toxic", TARGET_LINKS, params, toxic_type=name)


def _preset(name: str, doc: str) -> FaultKind:
    return FaultKind(name, doc, "preset", TARGET_REDIS, multi=False)


FAULT_KINDS: dict[str, FaultKind] = {k.name: k for k in (
    _toxic("latency", "Delay every chunk of data on the link.",
           Param("latency", "added delay, ms"), Param("jitter", "± random jitter, ms", 0)),
    _toxic("bandwidth", "Limit the link to a rate.", Param("rate", "KB/s per connection")),
    _toxic("timeout", "Drop all data; close after `timeout` ms (0 = blackhole, never close).",
           Param("timeout", "ms before closing; 0 never closes", 0)),
    _toxic("reset_peer", "Reset connections (TCP RST) after `timeout` ms.", Param("timeout", "ms before the reset", 0)),
    _toxic("slow_close", "Delay the close of connections.", Param("delay", "ms")),
    _toxic("slicer", "Slice data into small bits with a delay between them.",
           Param("average_size", "bytes"), Param("size_variation", "bytes", 0), Param("delay", "µs", 0)),
    _toxic("limit_data", "Close connections after `bytes` have passed.", Param("bytes", "bytes")),
    FaultKind("down", "Disable the proxy: the listener and every live connection close; connects are refused.",
              "proxy", TARGET_LINKS),
    FaultKind("stop", "Stop the container (SIGTERM, then SIGKILL after `timeout` s); revert starts it.",
              "container", TARGET_SERVICES, (Param("timeout", "seconds before SIGKILL", 5, high=120),)),
    FaultKind("kill", "Send a signal to the container's main process; revert starts it if it exited.",
              "container", TARGET_SERVICES, (Param("signal", "the signal", "SIGKILL", "choice", choices=SIGNALS),)),
    FaultKind("pause", "Freeze every process of the container (cgroup freezer); revert unpauses.",
              "container", TARGET_SERVICES),
    FaultKind("restart", "Restart the container once; revert starts it if it is not running.",
              "container", TARGET_SERVICES, (Param("timeout", "seconds before SIGKILL", 5, high=120),)),
    FaultKind("recreate-env", "Re-create the container with environment variables added, changed or removed "
              "(same name, networks, aliases, labels, ports); revert re-creates the original.",
              "recreate", TARGET_SERVICES, (Param("env", "NAME: value, or NAME: null to remove", type="env"),),
              multi=False),
    FaultKind("partition", "Disconnect the containers from the cluster network; revert reconnects them "
              "with their aliases.", "network", TARGET_SERVICES),
    FaultKind("redis-client-pause", "CLIENT PAUSE: Redis holds the commands of every client for `duration` ms.",
              "redis", TARGET_REDIS, (Param("duration", "ms", low=1), Param("mode", "which commands wait",
                                                                           "write", "choice", choices=("write", "all"))),
              multi=False),
    FaultKind("redis-debug-sleep", "DEBUG SLEEP: the Redis server blocks for `seconds`, answering nothing.",
              "redis", TARGET_REDIS, (Param("seconds", "seconds", high=300),), multi=False),
    FaultKind("redis-config-set", "CONFIG SET a parameter; revert sets its prior value.", "redis", TARGET_REDIS,
              (Param("parameter", "a Redis config parameter", type="string"),
               Param("value", "its new value", type="string")), multi=False),
    _preset("redis-wrong-password", "Redis requires a password the nodes do not have: NOAUTH."),
    _preset("redis-maxmemory-exhausted", "Tiny maxmemory, policy noeviction, filled: writes answer OOM."),
    _preset("redis-misconf-unwritable-dir", "Save schedule on, data dir not writable: after the first failed "
            "background save, writes answer MISCONF."),
    _preset("redis-bad-port", "Redis listens on another port: connects to 6379 are refused."),
    _preset("redis-exits-at-start", "The data dir does not exist: redis-server exits at start."),
    FaultKind("upstream-5xx", "The upstream answers every request with `status` (its admin endpoint).",
              "upstream", TARGET_UPSTREAM, (Param("status", "HTTP status", 503, low=500, high=599),
                                            Param("for_s", "seconds the upstream fails by itself (a safety "
                                                  "net if the harness dies)", 600, low=1, high=86_400)),
              multi=False),
    FaultKind("upstream-slow", "The upstream delays every answer by `ms` (its admin endpoint).",
              "upstream", TARGET_UPSTREAM, (Param("ms", "added delay, ms", high=600_000),), multi=False),
)}

COMMON_FIELDS = frozenset({"kind", "target", "name"})
TOXIC_FIELDS = frozenset({"stream", "toxicity"})


def targets_for(kind: FaultKind, nodes: int) -> list[str]:
    """Every single target the kind accepts on a cluster of `nodes` nodes."""
    names = [f"node{i}" for i in range(1, nodes + 1)]
    if kind.targets == TARGET_LINKS:
        return list(LINKS) + [f"{n}.{link}" for n in names for link in LINKS]
    if kind.targets == TARGET_SERVICES:
        return list(CORE_SERVICES) + names
    return [kind.targets]


@dataclass(frozen=True)
class FaultSpec:
    """One fault as a scenario (or `harness fault inject`) states it, validated."""

    name: str
    kind: str
    target: str                       # one target, or several joined by commas (see targets_for)
    params: dict[str, Any] = field(default_factory=dict)
    stream: str = "downstream"
    toxicity: float = 1.0

    @property
    def targets(self) -> list[str]:
        return self.target.split(",")

    def links(self, nodes: int) -> list[str]:
        """The Toxiproxy proxy names this fault acts on, for a cluster of `nodes` nodes."""
        out: list[str] = []
        for target in self.targets:
            if "." in target:
                node, link = target.split(".", 1)
                out.append(f"{node}_{link}")
            else:
                out.extend(f"node{i}_{target}" for i in range(1, nodes + 1))
        return out

    def to_json(self) -> dict[str, Any]:
        """The mapping validate_fault reads back (used by the per-cluster state file)."""
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "target": self.target, **self.params}
        if FAULT_KINDS[self.kind].family == "toxic":
            data.update(stream=self.stream, toxicity=self.toxicity)
        return data


def journal_fields(spec: FaultSpec) -> dict[str, Any]:
    """A fault_injected event's fields for a spec (stream and toxicity mean something for toxics only)."""
    toxic = {"stream": spec.stream, "toxicity": spec.toxicity} if FAULT_KINDS[spec.kind].toxic_type else {}
    return {"fault": spec.name, "fault_kind": spec.kind, "target": spec.target, "params": spec.params, **toxic}


def _param(p: Param, value: Any) -> Any:
    if p.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not p.low <= value <= p.high:
            raise ValueError(f"{p.name}: must be a number from {p.low:g} to {p.high:g} ({p.doc}); got {shown(value)}")
        return value
    if p.type == "choice":
        if value not in p.choices:
            raise ValueError(f"{p.name}: must be one of {', '.join(p.choices)}; got {shown(value)}")
        return value
    if isinstance(value, bool) and p.type in ("string", "env"):
        value = "yes" if value else "no"    # YAML reads yes/no as booleans; Redis and env mean the words
    if p.type == "string":
        if not isinstance(value, (str, int, float)) or str(value) == "":
            raise ValueError(f"{p.name}: must be a non-empty string ({p.doc}); got {shown(value)}")
        return str(value)
    # env: NAME -> value; null removes the variable
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{p.name}: must be a non-empty mapping NAME: value (null removes NAME); got {shown(value)}")
    env: dict[str, str | None] = {}
    for name, v in value.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"{p.name}: {shown(name)} is not an environment variable name")
        if isinstance(v, bool):
            v = "yes" if v else "no"
        if isinstance(v, (dict, list)):
            raise ValueError(f"{p.name}: value of {name} must be a string, a number or null; got {shown(v)}")
        env[name] = None if v is None else str(v)
    return env


def validate_fault(raw: dict[str, Any], nodes: int, default_name: str) -> FaultSpec:
    """Check one fault mapping; ValueError("<field>: <what is wrong and what is allowed>")."""
    kind_name = raw.get("kind")
    if not isinstance(kind_name, str) or kind_name not in FAULT_KINDS:
        raise ValueError(f"kind: unknown fault kind {shown(kind_name)}; allowed: {', '.join(sorted(FAULT_KINDS))}")
    kind = FAULT_KINDS[kind_name]
    allowed = COMMON_FIELDS | {p.name for p in kind.params} | (TOXIC_FIELDS if kind.family == "toxic" else set())
    for key in raw:
        if key not in allowed:
            raise ValueError(f"{key}: unknown parameter for {kind_name}; allowed: {', '.join(sorted(allowed))}")

    allowed_targets = targets_for(kind, nodes)
    target = raw.get("target", allowed_targets[0] if len(allowed_targets) == 1 else None)
    targets = target.split(",") if isinstance(target, str) else [target]
    several = "; several comma-separated" if kind.multi else ""
    if not all(t in allowed_targets for t in targets) or len(set(targets)) < len(targets) \
            or (len(targets) > 1 and not kind.multi):
        raise ValueError(f"target: unknown target {shown(target)} for {kind_name}; allowed: "
                         f"{', '.join(allowed_targets)}{several}")

    params: dict[str, Any] = {}
    for p in kind.params:
        value = raw.get(p.name, p.default)
        if value is None:
            raise ValueError(f"{p.name}: required for {kind_name} ({p.doc})")
        params[p.name] = _param(p, value)

    stream = raw.get("stream", "downstream")
    if stream not in ("downstream", "upstream"):
        raise ValueError(f"stream: must be downstream or upstream; got {shown(stream)}")
    toxicity = raw.get("toxicity", 1.0)
    if isinstance(toxicity, bool) or not isinstance(toxicity, (int, float)) or not 0 <= toxicity <= 1:
        raise ValueError(f"toxicity: must be a number from 0 to 1; got {shown(toxicity)}")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise ValueError(f"name: must be 1-64 of letters, digits, '.', '_' and '-'; got {shown(name)}")
    return FaultSpec(name, kind_name, target, params, stream, float(toxicity))
