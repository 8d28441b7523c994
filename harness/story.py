"""The story of a run afterwards (pure: no Docker, no network, no clock).

From the journal and its analysis: alert lanes (each alert's pending, firing, notified and resolved
times), probe lanes (each probe's runs of passes and failures), the human notes, and per fault the
times a game day's facilitator asks about, all in seconds from the fault's injection — the moment
someone acted. (Not from its confirmation, as alert expectations measure: a fault such as a
misconfigured Redis is confirmed only once its effect shows, seconds after customers felt it; the
confirmation delay is its own column.)

- impact: the first failed publish sent after the injection, or the first lost delivery (losses
  are known to the timeline's bucket, 1 s);
- detect: the first alert turning pending, the first firing, the first notification reaching the sink,
  the first human note (`harness note`);
- recover: from the revert until success and delivery held again (analysis `recovery_s`).

A fault's window runs from its injection to its revert plus `alert_expect.SETTLE_S`, cut short where
the next fault is injected after that revert (its story begins), or at the end of the run: alerts,
notes and impact there are attributed to it (faults active together share theirs). docs/gameday.md.
"""
from __future__ import annotations

from typing import Any, Iterable

from harness.alert_expect import SETTLE_S
from harness.alerts import AlertHistory
from harness.journal import CANARY


def _labels_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def alert_lanes(history: AlertHistory) -> list[dict[str, Any]]:
    """One lane per alert instance (name + labels), its episodes in order."""
    lanes: dict[tuple[str, str], dict[str, Any]] = {}
    for e in history.episodes:
        key = (e.alert, _labels_text(e.labels))
        lane = lanes.setdefault(key, {"alert": e.alert, "labels": e.labels, "episodes": []})
        lane["episodes"].append({"pending_t": e.pending_t, "firing_t": e.firing_t, "notified_t": e.notified_t,
                                 "resolved_t": e.resolved_t})
    return sorted(lanes.values(), key=lambda lane: (lane["alert"], _labels_text(lane["labels"])))


def probe_lanes(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One lane per probe and node: runs of consecutive results with the same `ok`.

    A run lasts from its first result to the next run's first (the last run to its last result); it
    carries how many results it holds and the last status and error seen.
    """
    lanes: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        if e["kind"] != "probe":
            continue
        key = (str(e.get("name")), str(e.get("node") or ""))
        lane = lanes.setdefault(key, {"name": key[0], "node": key[1], "segments": [], "checks": 0, "failures": 0})
        ok = bool(e.get("ok"))
        lane["checks"] += 1
        lane["failures"] += not ok
        segments = lane["segments"]
        if segments and segments[-1]["ok"] == ok:
            seg = segments[-1]
        else:
            if segments:
                segments[-1]["to"] = e["t"]
            seg = {"from": e["t"], "to": e["t"], "ok": ok, "count": 0}
            segments.append(seg)
        seg["count"] += 1
        seg["to"] = max(seg["to"], e["t"])
        seg.update(status=e.get("status"), error=e.get("error"), latency_ms=e.get("latency_ms"))
    return sorted(lanes.values(), key=lambda lane: (lane["name"], lane["node"]))


def notes(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The human notes of the run, in order."""
    return [{"t": e["t"], "text": e.get("text", ""), "user": e.get("user"), "host": e.get("host")}
            for e in events if e["kind"] == "note"]


def _after(t: float | None, anchor: float) -> float | None:
    return None if t is None else round(max(0.0, t - anchor), 3)


def _window_end(f: dict[str, Any], faults: list[dict[str, Any]], end: float) -> tuple[float, bool]:
    """Where a fault's window stops: its revert plus SETTLE_S, or the next injection after its revert
    (that fault's story begins: True), or the end of the run."""
    if f.get("reverted_s") is None:
        return end, False
    later = [g["injected_s"] for g in faults if g.get("injected_s") is not None and g["injected_s"] >= f["reverted_s"]]
    stop = min([end, f["reverted_s"] + SETTLE_S, *later])
    return stop, bool(later) and stop == min(later)


def fault_table(events: list[dict[str, Any]], faults: list[dict[str, Any]], timeline: list[dict[str, Any]],
                history: AlertHistory) -> list[dict[str, Any]]:
    """Per fault: who injected it, times to impact, detection and recovery, the alerts of its window and
    the customer impact there (failed publishes, lost deliveries)."""
    end = max((e["t"] for e in events), default=0.0)
    injected_by = {e["fault"]: e.get("by") for e in events if e["kind"] == "fault_injected"}
    failed = sorted(float(e["sent"]) for e in events
                    if e["kind"] == "publish" and not e.get("ok") and e.get("pub") != CANARY)
    human = notes(events)
    rows = []
    for f in faults:
        start = f.get("injected_s")
        if start is None:
            continue
        until, cut = _window_end(f, faults, end)
        first_failure = next((s for s in failed if start <= s <= until), None)
        # Timeline buckets (1 s, by publish send time) overlapping the fault's window; one that straddles
        # the next fault's injection is that fault's.
        buckets = [b for b in timeline if b["t"] + 1 > start and (b["t"] + 1 <= until if cut else b["t"] <= until)]
        lossy = [b for b in buckets if b["delivery.expected"] > b["delivery.received"]]
        first_loss = max(start, lossy[0]["t"]) if lossy else None
        impact = min((t for t in (first_failure, first_loss) if t is not None), default=None)
        pending = [e for e in history.episodes if start <= e.pending_t <= until]
        firing = [e for e in history.episodes if e.firing_t is not None and start <= e.firing_t <= until]
        notified = [e for e in history.episodes if e.notified_t is not None and start <= e.notified_t <= until]
        note = next((n for n in human if start <= n["t"] <= until), None)
        pending_first = min(pending, key=lambda e: e.pending_t, default=None)
        firing_first = min(firing, key=lambda e: e.firing_t, default=None)
        notified_first = min(notified, key=lambda e: e.notified_t, default=None)
        rows.append({
            "name": f["name"], "kind": f.get("kind"), "target": f.get("target"), "by": injected_by.get(f["name"]),
            "injected_s": start, "confirmed_s": f.get("confirmed_s"), "reverted_s": f.get("reverted_s"),
            "window_end_s": round(until, 3),
            "confirmed_after_s": _after(f.get("confirmed_s"), start),
            "impact_after_s": _after(impact, start),
            "pending_after_s": _after(pending_first and pending_first.pending_t, start),
            "firing_after_s": _after(firing_first and firing_first.firing_t, start),
            "notified_after_s": _after(notified_first and notified_first.notified_t, start),
            "note_after_s": _after(note and note["t"], start),
            "recovery_s": f.get("recovery_s"),
            "first_alert": (firing_first or pending_first).alert if (firing_first or pending_first) else None,
            "alerts_pending": sorted({e.alert for e in pending}),
            "alerts_fired": sorted({e.alert for e in firing}),
            "alerts_notified": sorted({e.alert for e in notified}),
            "publish_failed": sum(start <= s <= until for s in failed),
            "delivery_lost": sum(b["delivery.expected"] - b["delivery.received"] for b in buckets),
        })
    return rows


def story(events: list[dict[str, Any]], faults: list[dict[str, Any]], timeline: list[dict[str, Any]],
          history: AlertHistory) -> dict[str, Any]:
    """Everything above, as the summary's `story`."""
    return {"alert_lanes": alert_lanes(history), "probe_lanes": probe_lanes(events), "notes": notes(events),
            "fault_table": fault_table(events, faults, timeline, history)}
