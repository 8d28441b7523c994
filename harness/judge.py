"""The judge: a journal and its scenario → the run's summary (metrics, verdicts, faults, exit status).

Imports only the journal side of the harness (analysis, expectations, alerts), never the cluster or
Docker code: `harness report` re-judges a journal on a machine without Docker. docs/architecture.md.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from harness import alert_expect, analysis, expect
from harness.windows import WHOLE_RUN

if TYPE_CHECKING:  # the scenario model is only read here
    from harness.scenario import Scenario

EXIT_PASS, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_ERROR = 0, 1, 2, 3


def judge_events(events: list[dict[str, Any]], scenario: Scenario, error: str | None = None) -> dict[str, Any]:
    """The summary of a journal: metrics per phase and for the run, verdicts, faults, exit status."""
    a = analysis.analyse(events, scenario.windows, recovery=scenario.recovery)
    spans = {w.name: (w.start, w.end) for w in [*a.windows, *a.named]}
    spans[WHOLE_RUN] = (a.windows[0].start if a.windows else 0.0, math.inf)
    fault_times = {f["name"]: f["confirmed_s"] for f in a.faults}
    alert_context = expect.AlertContext(a.alerts, spans, fault_times)
    verdicts = expect.judge_all(scenario.expectations, a.metrics, alert_context) if error is None else []
    if error is not None:
        verdict, status = "error", EXIT_ERROR
    elif all(v.passed for v in verdicts):
        verdict, status = "pass", EXIT_PASS
    else:
        verdict, status = "fail", EXIT_FAIL
    return {
        "scenario": scenario.name,
        "run_id": a.run.get("run_id"),
        "verdict": verdict,
        "exit_status": status,
        "error": error,
        "phases": [_window(w, a.metrics) for w in a.windows],
        "windows": [_window(w, a.metrics) for w in a.named],
        "run": {"metrics": a.metrics.get(WHOLE_RUN, {})},
        "expectations": [v.to_json() for v in verdicts],
        "faults": a.faults,
        "timeline": a.timeline,
        **({"alerts": alert_expect.summary([e for e in scenario.expectations
                                            if isinstance(e, alert_expect.AlertExpectation)],
                                           a.alerts, spans, a.faults)} if scenario.monitoring else {}),
    }


def _window(w, metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"name": w.name, "start_s": round(w.start, 3), "end_s": round(w.end, 3), "metrics": metrics[w.name]}
