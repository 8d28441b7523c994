"""The richer expectation forms (pure): per node, per bucket, and/or.

    settled@node2: delivery.ratio == 1                       a window seen from one node
    node2: delivery.ratio >= 0.99                            the whole run seen from one node
    fixed: publish.success_rate >= 0.99 every 1s             no single second of the window below
    steady: publish.success_rate >= 0.99 and delivery.ratio == 1
    blip: publish.success_rate == 0 or recover: recovery.seconds <= 5

Seen from a node: `publish.*` counts the publishes sent through that node, `probe.*` and `presence.*` its
answers, every other family the subscribers connected to it (`node_events` filters the journal; the
analysis is the same).
Per bucket: the window's whole buckets of `every` (a multiple of the 1 s timeline), each judged on
its own counts; a bucket without the metric's evidence fails. and/or: every part, or any part, holds;
a part without a window takes the previous part's.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

from harness.duration import parse_duration

NODE_SEP = "@"
_NODE = re.compile(r"^node[1-9]$")
_EVERY = re.compile(r"^(?P<line>.+?)\s+every\s+(?P<every>\S+)\s*$")
_JOINER = re.compile(r"\s+(and|or)\s+")
_WINDOW = re.compile(r"^\s*[A-Za-z][\w@-]*\s*:")
# Per bucket: the metric from the timeline's counts, and the counts (summed) that are its evidence. Publishes
# due are those sent and those skipped (too many in flight), as a window's publish.success_rate counts them.
_DUE = ("publish.attempts", "publish.skipped")
BUCKET_METRICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "publish.success_rate": ("publish.ok", _DUE, "publishes due"),
    "delivery.ratio": ("delivery.received", ("delivery.expected",), "deliveries expected"),
    "canary.success_rate": ("canary.received", ("canary.sent",), "canary publishes sent"),
    "publish.errors": ("publish.errors", _DUE, "publishes due"),
    "publish.ok": ("publish.ok", _DUE, "publishes due"),
    "delivery.received": ("delivery.received", ("delivery.expected",), "deliveries expected"),
}


@dataclass(frozen=True)
class Compound:
    """`A and B …` or `A or B …`: every part, or any part, must hold."""

    text: str
    joiner: str                 # "and" | "or"
    parts: tuple[Any, ...]      # expect.Expectation (or Bucketed) each


@dataclass(frozen=True)
class Bucketed:
    """`<window>: <metric> <op> <number> every <duration>`: each whole bucket of the window must hold."""

    text: str
    inner: Any                  # expect.Expectation with a constant right-hand side
    every_s: float


def split_compound(text: str) -> tuple[str, list[str]] | None:
    """(joiner, part texts) of an and/or line, each part with a window; None when it is one line."""
    pieces = _JOINER.split(text)
    if len(pieces) == 1:
        return None
    joiners = set(pieces[1::2])
    if len(joiners) > 1:
        raise ValueError("mix of 'and' and 'or' in one line; write one of them per line (each line must hold)")
    parts, window = [], None
    for piece in pieces[0::2]:
        if _WINDOW.match(piece):
            window = piece.split(":", 1)[0].strip()
        elif window is None:
            raise ValueError(f"the first part of {text!r} needs a window: '<window>: <metric> <op> <value>'")
        else:
            piece = f"{window}: {piece}"
        parts.append(piece.strip())
    return joiners.pop(), parts


def split_every(text: str) -> tuple[str, float] | None:
    """(the line without its `every`, bucket seconds) of a per-bucket line; None when it has none."""
    m = _EVERY.match(text)
    if not m:
        return None
    every = parse_duration(m["every"])
    if every is None or every < 1 or abs(every - round(every)) > 1e-9:
        raise ValueError(f"every: must be whole seconds (the timeline is cut in 1 s buckets), e.g. 1s, 5s; "
                         f"got {m['every']!r}")
    return m["line"], float(round(every))


def node_window(window: str, windows: Iterable[str], nodes: Iterable[str], whole: str) -> str | None:
    """`settled@node2` or `node2` (the run on node2) as the window key the metrics carry; None if neither."""
    nodes = set(nodes)
    base, sep, node = window.partition(NODE_SEP)
    if sep and base in set(windows) | {whole} and node in nodes:
        return window
    if not sep and _NODE.match(window) and window in nodes and window not in set(windows):
        return f"{whole}{NODE_SEP}{window}"
    return None


def node_events(events: Iterable[dict[str, Any]], node: str) -> list[dict[str, Any]]:
    """The journal seen from one node: its publishes, its subscribers' sockets and receipts, its probes'
    and presence answers.

    Publishes through other nodes stay (their deliveries to this node's subscribers are this node's),
    marked `elsewhere` so they are left out of `publish.*`."""
    subs_here: set[str] = set()
    subs_elsewhere: set[str] = set()
    out = []
    for e in events:
        kind = e["kind"]
        if kind == "ws_connect":
            (subs_here if e.get("node") == node else subs_elsewhere).add(e["sub"])
        sub = e.get("sub")
        if sub is not None and kind.startswith("ws_") and (sub in subs_elsewhere and sub not in subs_here):
            continue
        if kind in ("presence_check", "probe") and e.get("node") != node:
            continue
        if kind == "publish" and e.get("node") != node:
            e = {**e, "elsewhere": True}
        out.append(e)
    return out


def judge_bucketed(b: Bucketed, timeline: list[dict[str, Any]], span: tuple[float, float] | None,
                   ops: dict, verdict) -> Any:
    """The verdict of a per-bucket line: every whole bucket of the window holds, each on its evidence."""
    e = b.inner
    if span is None:
        return verdict(b.text, False, None, f"window {e.window} never happened (no evidence)")
    start, end = span
    value_key, evidence_keys, noun = BUCKET_METRICS[e.metric]
    buckets = [m for m in timeline if m["t"] >= start - 1e-6 and m["t"] + 1.0 <= end + 1e-6]
    if not buckets:
        return verdict(b.text, False, None, f"{e.window} holds no whole 1 s bucket (no evidence)")
    width = int(b.every_s)
    groups = [buckets[i:i + width] for i in range(0, len(buckets) - width + 1, width)]
    if not groups:
        return verdict(b.text, False, None, f"{e.window} holds no whole {b.every_s:g} s bucket, only {len(buckets)} "
                                            f"of 1 s (no evidence)")
    worst: tuple[float, float] | None = None
    for group in groups:
        value = sum(m.get(value_key) or 0 for m in group)
        evidence = sum(m.get(key) or 0 for m in group for key in evidence_keys)
        t = group[0]["t"] - start
        if not evidence:
            return verdict(b.text, False, None, f"{e.window}: no evidence in the bucket at +{t:.0f} s (0 {noun})")
        observed = value / evidence if e.metric.endswith(("success_rate", "ratio")) else value
        if not ops[e.op](observed, e.rhs.offset):
            return verdict(b.text, False, observed, f"{e.window}: {e.metric} = {observed:g} in the {b.every_s:g} s "
                                                    f"bucket at +{t:.0f} s, required {e.op} {e.rhs.offset:g} in every one")
        worst = (observed, t) if worst is None or abs(observed - e.rhs.offset) < abs(worst[0] - e.rhs.offset) else worst
    assert worst is not None   # at least one group, each judged
    return verdict(b.text, True, worst[0],
                   f"{e.window}: {e.metric} {e.op} {e.rhs.offset:g} in all {len(groups)} buckets of {b.every_s:g} s "
                   f"(closest {worst[0]:g} at +{worst[1]:.0f} s)")


def judge_compound(c: Compound, verdicts: list[Any], verdict) -> Any:
    """and: every part held; or: one did. Evidence names each part's."""
    passed = all(v.passed for v in verdicts) if c.joiner == "and" else any(v.passed for v in verdicts)
    evidence = f" {c.joiner.upper()} ".join(f"[{'held' if v.passed else 'failed'}: {v.evidence}]" for v in verdicts)
    observed = next((v.observed for v in verdicts if v.observed is not None and not math.isnan(v.observed)), None)
    return verdict(c.text, passed, observed, evidence)
