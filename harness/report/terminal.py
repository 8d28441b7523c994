"""The terminal report: one row per phase, then each expectation with its evidence."""
from __future__ import annotations

from typing import Any

COLUMNS = (
    ("phase", None, "<"),
    ("secs", "window", ">"),
    ("pub ok/att", "publish", ">"),
    ("ok %", "publish.success_rate", ">"),
    ("pub p50", "publish.latency_ms.p50", ">"),
    ("pub p99", "publish.latency_ms.p99", ">"),
    ("exp", "delivery.expected", ">"),
    ("recv", "delivery.received", ">"),
    ("lost", "delivery.lost", ">"),
    ("dup", "delivery.duplicated", ">"),
    ("del p50", "delivery.latency_ms.p50", ">"),
    ("del p99", "delivery.latency_ms.p99", ">"),
    ("canary %", "canary.success_rate", ">"),
    ("ws drop", "ws.disconnects", ">"),
)


def cell(key: str | None, name: str, m: dict[str, Any]) -> str:
    """One table cell of a window's metrics, formatted."""
    if key is None:
        return name
    if key == "window":
        return f"{m['window.end_s'] - m['window.start_s']:.1f}"
    if key == "publish":
        return f"{m['publish.ok']}/{m['publish.attempts']}"
    value = m.get(key)
    if value is None:
        return "-"
    if key in ("publish.success_rate", "canary.success_rate"):
        return f"{100 * value:.1f}"
    if "latency_ms" in key:
        return f"{value:.1f}"
    return str(value)


def render(summary: dict) -> str:
    """The table and verdicts as text (latencies in ms)."""
    rows = [[title for title, _, _ in COLUMNS]]
    for window in summary["phases"] + summary.get("windows", []):
        rows.append([cell(key, window["name"], window["metrics"]) for _, key, _ in COLUMNS])
    if summary.get("run", {}).get("metrics"):
        rows.append([cell(key, "(run)", summary["run"]["metrics"]) for _, key, _ in COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for n, row in enumerate(rows):
        cells = [f"{c:{align}{w}}" for c, w, (_, _, align) in zip(row, widths, COLUMNS)]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("─" * w for w in widths))
    for f in summary.get("faults", []):
        times = ", ".join(f"{k.removesuffix('_s')} {f[k]:.2f}s" for k in ("injected_s", "confirmed_s", "reverted_s")
                          if f.get(k) is not None)
        recovered = f.get("recovery_s")
        if f.get("reverted_s") is not None:
            times += f", recovered {recovered:.1f}s after revert" if recovered is not None else ", never recovered"
        lines.append(f"fault {f['name']}: {f['kind']} on {f['target']} ({times})")
    lines += _alert_lines(summary.get("alerts"))
    for e in summary.get("expectations", []):
        lines.append(f"{'PASS' if e['passed'] else 'FAIL'}  {e['text']}    [{e['evidence']}]")
    if summary.get("error"):
        lines.append(f"ERROR {summary['error']}")
    lines.append(f"verdict: {summary['verdict']} (exit {summary['exit_status']})")
    return "\n".join(lines)


def _alert_lines(alerts: dict | None) -> list[str]:
    """Per expected alert: seconds to pending, firing, notified; then gaps and noise."""
    if not alerts:
        return []
    secs = lambda v: "-" if v is None else f"{v:.1f}s"
    lines = [f"alert {a['alert']} after {a['after']}: pending {secs(a.get('pending_after_s'))}, firing "
             f"{secs(a.get('firing_after_s'))}, notified {secs(a.get('notified_after_s'))}" for a in alerts["expected"]]
    blind = f" (no monitoring evidence for {', '.join(alerts['no_evidence'])})" if alerts.get("no_evidence") else ""
    lines.append(f"alerts ({alerts.get('rule_set')}, {alerts.get('rules')} rules): gaps {', '.join(alerts['gaps']) or 'none'}"
                 f"{blind}; "
                 f"noise {', '.join(sorted({n['alert'] for n in alerts['noise']})) or 'none'}; also during faults "
                 f"{', '.join(sorted({n['alert'] for n in alerts['other_during_faults']})) or 'none'}")
    return lines
