"""summary.md: a short Markdown verdict for CI job summaries (GitHub's $GITHUB_STEP_SUMMARY and the like)."""
from __future__ import annotations

from harness.report.terminal import cell

COLUMNS = (("phase", None), ("secs", "window"), ("publish ok/att", "publish"), ("ok %", "publish.success_rate"),
           ("lost", "delivery.lost"), ("delivery p99 ms", "delivery.latency_ms.p99"), ("recovery s", "recovery.seconds"))
ICON = {"pass": "✅", "fail": "❌", "error": "⚠️"}


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _secs(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def render_markdown(summary: dict) -> str:
    """Verdict line, the per-phase table, failed expectations, and the per-fault times."""
    verdict = summary["verdict"]
    expectations = summary.get("expectations", [])
    passed = sum(e["passed"] for e in expectations)
    lines = [f"### {ICON.get(verdict, '')} {_md(summary['scenario'])}: {verdict.upper()} (exit {summary['exit_status']})",
             "", f"{passed}/{len(expectations)} expectations held · run `{summary.get('run_id')}`"]
    if summary.get("error"):
        lines += ["", f"**Harness error:** {_md(str(summary['error']))}"]
    windows = summary["phases"] + summary.get("windows", [])
    if windows:
        lines += ["", "| " + " | ".join(t for t, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for w in windows:
            lines.append("| " + " | ".join(_md(cell(k, w["name"], w["metrics"])) if k != "recovery.seconds"
                                           else _secs(w["metrics"].get(k)) for _, k in COLUMNS) + " |")
    failed = [e for e in expectations if not e["passed"]]
    if failed:
        lines += ["", "Failed expectations:", ""] + [f"- `{_md(e['text'])}`: {_md(e['evidence'])}" for e in failed]
    faults = (summary.get("story") or {}).get("fault_table") or []
    if faults:
        lines += ["", "Per fault, seconds after its injection (recovered: after its revert):", "",
                  "| fault | impact s | first alert firing s | notified s | note s | recovered s | alerts fired |",
                  "|---|---|---|---|---|---|---|"]
        for r in faults:
            lines.append(f"| {_md(r['name'])} ({_md(str(r['kind']))}) | {_secs(r['impact_after_s'])} | "
                         f"{_secs(r['firing_after_s'])} | {_secs(r['notified_after_s'])} | {_secs(r['note_after_s'])} | "
                         f"{_secs(r.get('recovery_s'))} | {_md(', '.join(r['alerts_fired']) or 'none')} |")
    return "\n".join(lines) + "\n"
