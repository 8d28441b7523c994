"""The judge: a journal and its scenario → the run's summary (metrics, verdicts, faults, exit status).

Imports only the journal side of the harness (analysis, expectations, alerts), never the cluster or
Docker code: `harness report` re-judges a journal on a machine without Docker. docs/architecture.md.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from harness import alert_expect, analysis, expect, guardrail, story
from harness import expect_forms as forms
from harness.counters import SATURATED_LAG_MS
from harness.windows import WHOLE_RUN

if TYPE_CHECKING:  # the scenario model is only read here
    from harness.scenario import Scenario

EXIT_PASS, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_ERROR = 0, 1, 2, 3
# The harness could not keep up when its event loop was late by more than SATURATED_LAG_MS in more than
# this share of the run's one-second loop-lag samples: its measurements are then its own, not the cluster's.
SATURATED_SHARE = 0.05
INCOMPLETE = "incomplete journal: no run_end (the run was killed); its verdicts are partial"


def judge_events(events: Iterable[dict[str, Any]], scenario: Scenario, error: str | None = None, *,
                 again: Callable[[], Iterable[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """The summary of a journal (a list, or a stream such as `iter_journal`: read once): metrics per
    phase and for the run, verdicts, faults, exit status.

    Per-node expectations (`node2: …`) judge each node's view of the journal: `again` reads it anew
    for each node, so a journal on disk is never held in memory; without `again` the events are kept.

    Exit 3 (verdict `error`) when the run failed (`error`), when the journal never reached `run_end`
    (verdicts are still given: `harness report --partial`), or when the harness was saturated.
    """
    scrape_s = scenario.monitoring.scrape_interval_s if scenario.monitoring else 1.0
    max_gap = alert_expect.WATCH_GAP_SCRAPES * scrape_s
    kept: list[dict[str, Any]] = []   # what the story needs, kept while the analysis reads a stream once
    wanted = expect.node_windows(scenario.expectations)
    if wanted and again is None:
        events = list(events)
        again = lambda: events  # noqa: E731  (the list is read once more per node)
    aborts: list[dict[str, Any]] = []
    a = analysis.analyse(_aborts(_keeping(events, kept), aborts), scenario.windows, recovery=scenario.recovery, watch_gap_s=max_gap)
    spans = {w.name: (w.start, w.end) for w in [*a.windows, *a.named]}
    # `run` for alerts: from the first phase to the last phase's end (the watcher stops at the drain).
    spans[WHOLE_RUN] = (a.windows[0].start, a.windows[-1].end) if a.windows else (0.0, 0.0)
    fault_times = {f["name"]: f["confirmed_s"] for f in a.faults}
    reverts = {f["name"]: f["reverted_s"] for f in a.faults}
    alert_context = expect.AlertContext(a.alerts, spans, fault_times, max_gap, a.origins, reverts)
    metrics = {**a.metrics, **(node_metrics(again, scenario, wanted, max_gap) if wanted and again else {})}
    spans.update({w: spans[w.split(forms.NODE_SEP)[0]] for w in metrics if forms.NODE_SEP in w
                  and w.split(forms.NODE_SEP)[0] in spans})
    # A failed run is not judged; a cut-short or saturated one is, its verdicts shown but not trusted.
    verdicts = expect.judge_all(scenario.expectations, metrics, alert_context, a.timeline) if error is None else []
    verdicts += guardrail.abort_verdicts(aborts) if error is None else []   # a run a guardrail ended
    if error is None and not a.complete:
        error = INCOMPLETE
    if error is None:
        error = saturation(a.metrics.get(WHOLE_RUN, {}))
    if error is not None:
        verdict, status = "error", EXIT_ERROR
    elif all(v.passed for v in verdicts):
        verdict, status = "pass", EXIT_PASS
    else:
        verdict, status = "fail", EXIT_FAIL
    return {
        "scenario": scenario.name,
        "run_id": a.run.get("run_id"),
        "seed": a.run.get("seed"),
        "verdict": verdict,
        "exit_status": status,
        "error": error,
        "phases": [_window(w, a.metrics) for w in a.windows],
        "windows": [_window(w, a.metrics) for w in a.named],
        "run": {"metrics": a.metrics.get(WHOLE_RUN, {})},
        "expectations": [v.to_json() for v in verdicts],
        "faults": a.faults,
        "timeline": a.timeline,
        "story": story.story(kept, a.faults, a.timeline, a.alerts),
        **({"alerts": alert_expect.summary([e for e in scenario.expectations
                                            if isinstance(e, alert_expect.AlertExpectation)],
                                           a.alerts, spans, a.faults, max_gap, a.origins)}
           if scenario.monitoring else {}),
    }


def node_metrics(again: Callable[[], Iterable[dict[str, Any]]], scenario: Scenario, wanted: set[str],
                 max_gap: float) -> dict[str, dict[str, Any]]:
    """The metrics of each `window@node` the expectations judge: the same analysis of the node's view,
    read from `again()` once per node (`max_gap`: the watcher's coverage, as for the run's)."""
    out: dict[str, dict[str, Any]] = {}
    for node in sorted({w.split(forms.NODE_SEP)[1] for w in wanted}):
        seen = analysis.analyse(forms.node_events(again(), node), scenario.windows, recovery=scenario.recovery,
                                watch_gap_s=max_gap)
        out.update({f"{window}{forms.NODE_SEP}{node}": values for window, values in seen.metrics.items()})
    return out


def _keeping(events: Iterable[dict[str, Any]], kept: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The events, passed on; into `kept` go the few the story reads (probes, notes, fault injections,
    failed publishes) and the latest event (the story's end)."""
    latest = None
    for e in events:
        kind = e["kind"]
        if kind in STORY_KINDS or (kind == "publish" and not e.get("ok")):
            kept.append(e)
        if latest is None or e["t"] >= latest["t"]:
            latest = e
        yield e
    if latest is not None and (not kept or kept[-1] is not latest):
        kept.append(latest)


def _aborts(events: Iterable[dict[str, Any]], out: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The events, passed on; the guardrails' `abort` events into `out`."""
    for e in events:
        if e["kind"] == "abort":
            out.append(e)
        yield e


STORY_KINDS = frozenset({"probe", "note", "fault_injected"})


def saturation(run: dict[str, Any]) -> str | None:
    """Why the harness could not keep up, judged on the run's loop-lag samples; None when it could."""
    samples, late = run.get("harness.loop_lag.samples") or 0, run.get("harness.saturated_seconds") or 0
    span = (run.get("window.end_s") or 0) - (run.get("window.start_s") or 0)
    if samples and span > 0 and late / span > SATURATED_SHARE:
        return (f"harness saturated: its event loop stalled for more than {SATURATED_LAG_MS:g} ms at a time, "
                f"{late:.1f} s of the run's {span:.1f} s (limit {SATURATED_SHARE:.0%}); the measurements are the "
                "harness's, not the cluster's")
    return None


def _window(w, metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"name": w.name, "start_s": round(w.start, 3), "end_s": round(w.end, 3), "metrics": metrics[w.name]}
