"""Expectations → verdicts (pure).

An expectation is one line: `<window>: <metric> <op> <value>`, where window is a phase name or `run`
(the whole run), op is one of >= <= > < == !=, and value is a number or another window's metric with an
optional offset:

    steady: publish.success_rate >= 0.99
    latency: delivery.latency_ms.p99 >= steady.delivery.latency_ms.p99 + 150
    run: delivery.duplicated == 0

Lines starting with `alert` are alert expectations (harness/alert_expect.py, docs/monitoring.md):

    alert RedisCacheErrors fires within 30s after phase misconf
    alert RedisDown silent during misconf
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from harness import alert_expect as alerts
from harness import expect_forms as forms
from harness import vocabulary
from harness.alerts import AlertHistory
from harness.windows import WHOLE_RUN

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne,
}
_LINE = re.compile(r"^\s*(?P<window>[A-Za-z][\w@-]*)\s*:\s*(?P<metric>[\w.]+)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<rhs>.+?)\s*$")
_RHS = re.compile(r"^(?P<ref>[A-Za-z][\w.-]*?)\s*(?:(?P<sign>[+-])\s*(?P<offset>\d+(?:\.\d+)?))?$")


@dataclass(frozen=True)
class Operand:
    """A constant (window None) or `window.metric + offset`."""

    offset: float
    window: str | None = None
    metric: str | None = None


@dataclass(frozen=True)
class Expectation:
    text: str
    window: str
    metric: str
    op: str
    rhs: Operand


@dataclass(frozen=True)
class Verdict:
    text: str
    passed: bool
    observed: float | None
    evidence: str

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "passed": self.passed, "observed": self.observed, "evidence": self.evidence}


def parse(text: Any, windows: set[str], phases: set[str] | None = None,
          faults: set[str] = frozenset(), nodes: tuple[str, ...] = ()) -> Any:
    """Parse one expectation (an Expectation, an alert one, or a form of expect_forms); ValueError says
    what is wrong and what is allowed. `nodes`: the node names a window may be seen from."""
    if not isinstance(text, str):
        raise ValueError("must be a line like 'steady: publish.success_rate >= 0.99'")
    if text.lstrip().startswith("alert "):
        return alerts.parse(text, set(windows) | {WHOLE_RUN}, windows if phases is None else phases, faults)
    if (compound := forms.split_compound(text)) is not None:
        joiner, parts = compound
        return forms.Compound(text, joiner, tuple(parse(part, windows, phases, faults, nodes) for part in parts))
    if (bucketed := forms.split_every(text)) is not None:
        line, every = bucketed
        inner = parse(line, windows, phases, faults, nodes)
        if not isinstance(inner, Expectation) or inner.rhs.window is not None or inner.metric not in forms.BUCKET_METRICS:
            raise ValueError(f"'every' takes '<window>: <metric> <op> <number>' with a metric among "
                             f"{', '.join(forms.BUCKET_METRICS)}")
        if forms.NODE_SEP in inner.window:
            raise ValueError(f"'every' is judged on the cluster's 1 s timeline, not on one node's view; write the line "
                             f"without @{inner.window.split(forms.NODE_SEP)[1]}")
        return forms.Bucketed(text, inner, every)
    return _parse_line(text, windows, nodes)


def _parse_line(text: str, windows: set[str], nodes: tuple[str, ...]) -> Expectation:
    match = _LINE.match(text)
    if not match:
        raise ValueError(f"cannot read {text!r}; write '<phase|run>: <metric> <op> <number|phase.metric [+|- number]>' "
                         f"with op one of {' '.join(_OPS)}")
    allowed = sorted(windows) + [WHOLE_RUN]
    window = match["window"]
    if window not in allowed:
        window = forms.node_window(window, windows, nodes, WHOLE_RUN) or window
    if window not in allowed and not forms.node_window(window, windows, nodes, WHOLE_RUN):
        seen_from = f"; seen from a node: <window>@node1 … node{len(nodes)}, or node1 for the run" if nodes else ""
        raise ValueError(f"unknown window {match['window']!r}; allowed: {', '.join(allowed)}{seen_from}")
    metric = match["metric"]
    vocabulary.check(metric)
    rhs_text = match["rhs"]
    constant = _number(rhs_text)
    if constant is not None:
        if not math.isfinite(constant):  # nan, inf, 1e999: no observation can be judged against it
            raise ValueError(f"the value {rhs_text!r} is not a finite number")
        rhs = Operand(constant)
    else:
        ref = _RHS.match(rhs_text)
        if not ref or "." not in ref["ref"]:
            raise ValueError(f"cannot read the value {rhs_text!r}; use a number or <phase>.<metric> [+|- number]")
        ref_window, _, ref_metric = ref["ref"].partition(".")
        if ref_window not in allowed:
            raise ValueError(f"unknown window {ref_window!r} in {rhs_text!r}; allowed: {', '.join(allowed)}")
        try:
            vocabulary.check(ref_metric)
        except ValueError as exc:
            raise ValueError(f"{exc} in {rhs_text!r}") from None
        offset = float(ref["offset"] or 0) * (-1 if ref["sign"] == "-" else 1)
        if not math.isfinite(offset):
            raise ValueError(f"the offset in {rhs_text!r} is not a finite number")
        rhs = Operand(offset, ref_window, ref_metric)
    return Expectation(text, window, metric, match["op"], rhs)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _lookup(metrics: dict[str, dict[str, Any]], window: str, metric: str) -> float | None:
    if metric not in metrics.get(window, {}):
        return vocabulary.absent_value(metric)
    value = metrics[window][metric]
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and not math.isnan(value):
        return float(value)
    return None


def judge(expectation: Expectation, metrics: dict[str, dict[str, Any]]) -> Verdict:
    """Evaluate against metrics keyed by window then metric name; missing evidence or a missing value
    fails, saying which."""
    e = expectation
    sides = [(e.window, e.metric)] + ([(e.rhs.window, e.rhs.metric or "")] if e.rhs.window else [])
    for window, metric in sides:
        if window not in metrics:
            return Verdict(e.text, False, None, f"window {window} never happened (no evidence)")
        if (missing := vocabulary.missing_evidence(metric, window, metrics[window])) is not None:
            return Verdict(e.text, False, None, f"{missing} (needed for {window}: {metric})")
    observed = _lookup(metrics, e.window, e.metric)
    if observed is None:
        return Verdict(e.text, False, None, f"{e.window}: {e.metric} has no value (nothing observed in that window)")
    if e.rhs.window is None:
        target = e.rhs.offset
        evidence = f"{e.window}: {e.metric} = {observed:g}, required {e.op} {target:g}"
    else:
        base = _lookup(metrics, e.rhs.window, e.rhs.metric or "")
        if base is None:
            return Verdict(e.text, False, observed, f"{e.rhs.window}: {e.rhs.metric} has no value")
        target = base + e.rhs.offset
        evidence = (f"{e.window}: {e.metric} = {observed:g}; {e.rhs.window}: {e.rhs.metric} = {base:g}; "
                    f"required {e.op} {target:g}")
    return Verdict(e.text, _OPS[e.op](observed, target), observed, evidence)


def judge_all(expectations: tuple[Any, ...] | list, metrics: dict[str, dict[str, Any]],
              alert_context: AlertContext | None = None, timeline: list[dict[str, Any]] = ()) -> list[Verdict]:
    """Every verdict; alert expectations are judged on the alert history of `alert_context`, per-bucket
    ones on the 1 s `timeline`. Windows seen from a node (`w@node2`) are looked up in `metrics` too."""
    context = alert_context or AlertContext(AlertHistory(), {}, {})

    def one(e: Any) -> Verdict:
        if isinstance(e, alerts.AlertExpectation):
            return Verdict(e.text, *alerts.judge(e, context.history, context.windows, context.faults, context.max_gap,
                                                 context.origins, context.reverts))
        if isinstance(e, forms.Compound):
            return forms.judge_compound(e, [one(part) for part in e.parts], Verdict)
        if isinstance(e, forms.Bucketed):
            return forms.judge_bucketed(e, list(timeline), context.windows.get(e.inner.window), _OPS, Verdict)
        return judge(e, metrics)
    return [one(e) for e in expectations]


def lines_of(e: Any) -> list[Expectation]:
    """The plain metric lines an expectation judges (its parts, a per-bucket line's own); none for an alert one."""
    out = []
    for part in (e.parts if isinstance(e, forms.Compound) else (e,)):
        inner = part.inner if isinstance(part, forms.Bucketed) else part
        if isinstance(inner, Expectation):
            out.append(inner)
    return out


def node_windows(expectations: Iterable[Any]) -> set[str]:
    """Every `window@node` the expectations judge (their metrics are computed from the node's view)."""
    return {w for e in expectations for line in lines_of(e) for w in (line.window, line.rhs.window)
            if w and forms.NODE_SEP in w}


def metrics_named(e: Any) -> list[str]:
    """Every metric an expectation reads, on either side."""
    return [m for line in lines_of(e) for m in (line.metric, line.rhs.metric) if m]


@dataclass(frozen=True)
class AlertContext:
    """What alert expectations are judged on: the episodes, window spans, fault confirmation times, and
    the longest gap between the watcher's polls that still counts as covered."""

    history: AlertHistory
    windows: dict[str, tuple[float, float]]
    faults: dict[str, float | None]
    max_gap: float = 3.0
    origins: dict[str, float] = field(default_factory=dict)   # "phase P" / "fault F" → when it began to act
    reverts: dict[str, float | None] = field(default_factory=dict)   # fault → when it was reverted
