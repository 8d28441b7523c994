"""What faults exist and which parameters each takes: the single source for validation and docs.

Pure data and pure validation; the objects that act live in toxic.py (and later container.py, ...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Links every node has through Toxiproxy; a target names one for all nodes (`redis`) or one node's
# (`node2.redis`).
LINKS = ("redis", "upstream")


@dataclass(frozen=True)
class Param:
    name: str
    doc: str
    default: float | None = None     # None: required
    low: float = 0
    high: float = 10_000_000


@dataclass(frozen=True)
class FaultKind:
    name: str
    doc: str
    params: tuple[Param, ...] = ()
    toxic_type: str | None = None    # the Toxiproxy toxic it adds; None for `down`


_STREAM_DOC = "stream: downstream (server→client, default) or upstream (client→server); toxicity: 0..1"

FAULT_KINDS: dict[str, FaultKind] = {k.name: k for k in (
    FaultKind("latency", "Delay every chunk of data on the link.",
              (Param("latency", "added delay, ms"), Param("jitter", "± random jitter, ms", 0)), "latency"),
    FaultKind("bandwidth", "Limit the link to a rate.", (Param("rate", "KB/s per connection"),), "bandwidth"),
    FaultKind("timeout", "Drop all data; close after `timeout` ms (0 = blackhole, never close).",
              (Param("timeout", "ms before closing; 0 never closes", 0),), "timeout"),
    FaultKind("reset_peer", "Reset connections (TCP RST) after `timeout` ms.",
              (Param("timeout", "ms before the reset", 0),), "reset_peer"),
    FaultKind("slow_close", "Delay the close of connections.", (Param("delay", "ms"),), "slow_close"),
    FaultKind("slicer", "Slice data into small bits with a delay between them.",
              (Param("average_size", "bytes"), Param("size_variation", "bytes", 0), Param("delay", "µs", 0)), "slicer"),
    FaultKind("limit_data", "Close connections after `bytes` have passed.", (Param("bytes", "bytes"),), "limit_data"),
    FaultKind("down", "Disable the proxy: the listener and every live connection close; connects are refused."),
)}

COMMON_FIELDS = {"kind", "target", "name", "stream", "toxicity"}


@dataclass(frozen=True)
class FaultSpec:
    """One fault as a scenario (or `harness fault inject`) states it, validated."""

    name: str
    kind: str
    target: str                       # redis | upstream | node<i>.redis | node<i>.upstream
    params: dict[str, float] = field(default_factory=dict)
    stream: str = "downstream"
    toxicity: float = 1.0

    def links(self, nodes: int) -> list[str]:
        """The Toxiproxy proxy names this fault acts on, for a cluster of `nodes` nodes."""
        if "." in self.target:
            node, link = self.target.split(".", 1)
            return [f"{node}_{link}"]
        return [f"node{i}_{self.target}" for i in range(1, nodes + 1)]


def validate_fault(raw: dict[str, Any], nodes: int, default_name: str) -> FaultSpec:
    """Check one fault mapping; ValueError("<field>: <what is wrong and what is allowed>")."""
    kind_name = raw.get("kind")
    if kind_name not in FAULT_KINDS:
        raise ValueError(f"kind: unknown fault kind {kind_name!r}; allowed: {', '.join(sorted(FAULT_KINDS))}")
    kind = FAULT_KINDS[kind_name]
    allowed = COMMON_FIELDS | {p.name for p in kind.params}
    for key in raw:
        if key not in allowed:
            raise ValueError(f"{key}: unknown parameter for {kind_name}; allowed: {', '.join(sorted(allowed))}")

    target = raw.get("target")
    targets = list(LINKS) + [f"node{i}.{link}" for i in range(1, nodes + 1) for link in LINKS]
    if target not in targets:
        raise ValueError(f"target: unknown target {target!r}; allowed: {', '.join(targets)}")

    params: dict[str, float] = {}
    for p in kind.params:
        value = raw.get(p.name, p.default)
        if value is None:
            raise ValueError(f"{p.name}: required for {kind_name} ({p.doc})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not p.low <= value <= p.high:
            raise ValueError(f"{p.name}: must be a number from {p.low:g} to {p.high:g} ({p.doc}); got {value!r}")
        params[p.name] = value

    stream = raw.get("stream", "downstream")
    if stream not in ("downstream", "upstream"):
        raise ValueError(f"stream: must be downstream or upstream; got {stream!r}")
    toxicity = raw.get("toxicity", 1.0)
    if isinstance(toxicity, bool) or not isinstance(toxicity, (int, float)) or not 0 <= toxicity <= 1:
        raise ValueError(f"toxicity: must be a number from 0 to 1; got {toxicity!r}")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise ValueError(f"name: must be 1-64 of letters, digits, '.', '_' and '-'; got {name!r}")
    return FaultSpec(name, kind_name, target, params, stream, float(toxicity))
