"""The metric vocabulary of docs/metrics.md: every name an expectation may use, and the evidence each needs.

`check(name)` refuses a name outside the vocabulary (suggesting the nearest); `missing_evidence` says
why a window cannot judge a metric (the evidence rule: a count over an empty window proves nothing).
A family of metrics with a name inside (`alert.<Name>.…`) is one pattern line in NAMES; adding a
family is adding lines here and its evidence in EVIDENCE.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from harness.percentile import QUANTILES

ERROR_CLASSES = ("http_4xx", "http_5xx", "http_other", "api_error", "timeout", "connect", "transport", "harness",
                 "other")

# Placeholders in NAMES: the regex each stands for, and an example for suggestions.
_PLACEHOLDERS: dict[str, tuple[str, str]] = {
    "<q>": (f"(?:{'|'.join(QUANTILES)})", "p99"),
    "<class>": (f"(?:{'|'.join(ERROR_CLASSES)})", "timeout"),
    "<code>": (r"\d{3,4}", "4100"),
    "<Name>": (r"[A-Za-z_][A-Za-z0-9_]*", "<Name>"),
    "<name>": (r"[A-Za-z][A-Za-z0-9_-]*", "<name>"),
}

NAMES: tuple[str, ...] = (
    "publish.scheduled", "publish.attempts", "publish.ok", "publish.skipped", "publish.errors",
    "publish.errors.<class>", "publish.success_rate", "publish.latency_ms.<q>", "publish.error_latency_ms.<q>",
    "delivery.expected", "delivery.received", "delivery.lost", "delivery.duplicated", "delivery.unexpected",
    "delivery.reordered", "delivery.late", "delivery.after_horizon", "delivery.recovered", "delivery.of_failed",
    "delivery.missed_disconnected", "delivery.ratio", "delivery.latency_ms.<q>",
    "canary.sent", "canary.received", "canary.success_rate", "canary.latency_ms.p50", "canary.latency_ms.p99",
    "ws.subscribers", "ws.connects", "ws.reconnects", "ws.disconnects", "ws.disconnected_seconds",
    "ws.server_closes", "ws.server_closes.<code>",
    "alert.<Name>.pending_after_s", "alert.<Name>.firing_after_s", "alert.<Name>.notified_after_s",
    "alert.<Name>.fired",
    "probe.<name>.ok_ratio", "probe.<name>.latency_ms.p99", "probe.<name>.answers", "probe.<name>.failed",
    "monitoring.polls", "monitoring.uncovered_s",
    "recovery.seconds",
    "presence.checks", "presence.correct", "presence.accuracy", "presence.errors",
    "fault.confirm_seconds",
    "harness.loop_lag_ms.<q>", "harness.loop_lag.samples", "harness.saturated_seconds", "harness.cpu_seconds",
)


def _regex(name: str) -> str:
    out = re.escape(name)
    for placeholder, (pattern, _) in _PLACEHOLDERS.items():
        out = out.replace(re.escape(placeholder), pattern)
    return out


_VOCABULARY = re.compile("^(?:" + "|".join(_regex(n) for n in NAMES) + ")$")


def _example(name: str) -> str:
    for placeholder, (_, example) in _PLACEHOLDERS.items():
        name = name.replace(placeholder, example)
    return name


_EXAMPLES = [_example(n) for n in NAMES]


def check(name: str) -> None:
    """ValueError unless `name` is in the vocabulary; the message suggests the nearest name."""
    if _VOCABULARY.match(name):
        return
    near = difflib.get_close_matches(name, _EXAMPLES, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else f"; metrics start with {', '.join(_families())}"
    raise ValueError(f"unknown metric {name!r}{hint} (docs/metrics.md)")


def _families() -> list[str]:
    return sorted({n.split(".")[0] + "." for n in NAMES})


@dataclass(frozen=True)
class Evidence:
    """The metric that must be above zero in a window for the family's metrics to be judged there."""

    metric: str
    noun: str


EVIDENCE: dict[str, Evidence] = {
    "publish": Evidence("publish.scheduled", "publishes attempted"),
    "delivery": Evidence("delivery.expected", "deliveries expected"),
    "ws": Evidence("ws.subscribers", "subscribers connected"),
    "canary": Evidence("canary.sent", "canary publishes sent"),
    "harness": Evidence("harness.loop_lag.samples", "loop-lag samples"),
    # A window with no poll (a fault never confirmed leaves its phase empty) is no evidence of coverage.
    "monitoring": Evidence("monitoring.polls", "monitoring polls"),
    "presence": Evidence("presence.checks", "presence checks judged"),
}
# Metrics about failed publishes: judged where publishes failed while subscribers listened (a window
# without a failed publish proves nothing about what happens to one).
_OF_FAILED = (Evidence("publish.errors", "failed publishes"), Evidence("ws.subscribers", "subscribers connected"))
METRIC_EVIDENCE: dict[str, tuple[Evidence, ...]] = {"delivery.of_failed": _OF_FAILED, "delivery.recovered": _OF_FAILED}
# The denominators themselves are observed directly: `publish.scheduled >= 100` needs no other evidence.
_SELF_EVIDENT = {e.metric for e in EVIDENCE.values()}


# Counts kept by an open-ended key (a close code): absent from a window's metrics means none happened.
_COUNT_BY_KEY = re.compile("^" + _regex("ws.server_closes.<code>") + "$")


def absent_value(name: str) -> float | None:
    """The value of a metric missing from a window that has its evidence: 0 for a count by open-ended key
    (`ws.server_closes.4100`), None (no value) for every other."""
    return 0.0 if _COUNT_BY_KEY.match(name) else None


def missing_evidence(name: str, window: str, values: dict[str, Any]) -> str | None:
    """Why `window` (its metrics `values`) holds no evidence to judge `name`; None when it does."""
    if name in _SELF_EVIDENT:
        return None
    family = name.split(".", 1)[0]
    if family == "probe":   # each probe is its own evidence: answers to that probe in the window
        probe = name.split(".")[1]
        return None if values.get(f"probe.{probe}.answers") else f"no evidence: 0 answers to probe {probe} in {window}"
    if family == "alert":
        uncovered = values.get("monitoring.uncovered_s")
        if uncovered is None or uncovered > 0 or not values.get("monitoring.polls"):
            seconds = uncovered if uncovered is not None else values.get("window.end_s", 0) - values.get("window.start_s", 0)
            return f"no monitoring evidence for {seconds:.1f} s of {window}"
        return None
    rules = METRIC_EVIDENCE.get(name) or ((EVIDENCE[family],) if family in EVIDENCE else ())
    for rule in rules:
        count = values.get(rule.metric) or 0
        if count <= 0:
            return f"no evidence: {count} {rule.noun} in {window}"
    return None
