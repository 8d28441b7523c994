"""Guardrails (`abort_when:`): conditions watched live that end a run at once, for shared environments.

    publish.success_rate < 0.2 over 10s
    publish.errors >= 100 over 5s

When one holds over its trailing window, the runner journals `abort` with the reason, reverts every
fault and ends the run; the run's verdict is a failure (exit 1) naming the guardrail. A guardrail is
judged only on a full window with publishes in it: no evidence, no abort.
"""
from __future__ import annotations

import asyncio
import operator
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.duration import parse_duration
from harness.expect import Verdict

LIVE_METRICS = ("publish.success_rate", "publish.errors", "publish.ok", "publish.attempts")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne}
_LINE = re.compile(r"^\s*(?P<metric>[\w.]+)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>-?\d+(?:\.\d+)?)\s+over\s+(?P<over>\S+)\s*$")


@dataclass(frozen=True)
class Guardrail:
    text: str
    metric: str
    op: str
    threshold: float
    over_s: float


def parse(text: Any) -> Guardrail:
    """One `abort_when` line; ValueError says what is wrong and what is allowed."""
    match = _LINE.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"cannot read {text!r}; write '<metric> <op> <number> over <duration>', "
                         "e.g. 'publish.success_rate < 0.2 over 10s'")
    if match["metric"] not in LIVE_METRICS:
        raise ValueError(f"unknown live metric {match['metric']!r}; allowed: {', '.join(LIVE_METRICS)}")
    over = parse_duration(match["over"])
    if over is None or not 1 <= over <= 600:
        raise ValueError(f"over: must be a duration from 1s to 10m; got {match['over']!r}")
    return Guardrail(text, match["metric"], match["op"], float(match["value"]), over)


def value(g: Guardrail, outcomes: list[tuple[float, bool]], now: float) -> float | None:
    """The guardrail's metric over the window (now - over, now]; None without publishes in it."""
    window = [ok for t, ok in outcomes if now - g.over_s < t <= now]
    if not window:
        return None
    ok = sum(window)
    return {"publish.success_rate": ok / len(window), "publish.errors": len(window) - ok, "publish.ok": ok,
            "publish.attempts": len(window)}[g.metric]


def tripped(g: Guardrail, outcomes: list[tuple[float, bool]], now: float, since: float) -> str | None:
    """The reason to abort, or None: only a full window with publishes in it is judged."""
    if now - since < g.over_s:
        return None
    observed = value(g, outcomes, now)
    if observed is None or not _OPS[g.op](observed, g.threshold):
        return None
    return f"guardrail '{g.text}' tripped: {g.metric} = {observed:g} over the last {g.over_s:g} s"


@dataclass
class GuardrailMonitor:
    """Records publish outcomes as they come and checks every guardrail twice a second."""

    guardrails: tuple[Guardrail, ...]
    now: Callable[[], float]
    outcomes: deque = field(default_factory=deque)

    def published(self, ok: bool) -> None:
        self.outcomes.append((self.now(), ok))

    async def watch(self, on_trip: Callable[[str, Guardrail], None], every: float = 0.5) -> None:
        since = self.now()
        horizon = max(g.over_s for g in self.guardrails)
        while True:
            await asyncio.sleep(every)
            now = self.now()
            while self.outcomes and self.outcomes[0][0] <= now - horizon:
                self.outcomes.popleft()
            for g in self.guardrails:
                reason = tripped(g, list(self.outcomes), now, since)
                if reason:
                    on_trip(reason, g)
                    return


def abort_verdicts(events: list[dict[str, Any]]) -> list[Verdict]:
    """A failing verdict for each `abort` the journal holds (the run ended early on a guardrail)."""
    return [Verdict(f"abort_when: {e.get('guardrail')}", False, None, e.get("reason", "aborted"))
            for e in events if e["kind"] == "abort"]
