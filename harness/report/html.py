"""report.html: one self-contained page (no scripts, no external files) with the run's story.

Verdict, expectations with evidence, the per-phase table, faults with their times, plots of the
1 s timeline (publish success, delivery p99, throughput) with phases shaded and faults and notes
marked, then the story (report/story.py): alert and probe lanes on the same time axis and the
per-fault table.
"""
from __future__ import annotations

from html import escape
from typing import Callable

from harness.report.story import render_story
from harness.report.terminal import COLUMNS, cell

WIDTH, HEIGHT, PAD = 900, 170, 40
PHASE_FILLS = ("#f3f6fb", "#fdf5ec", "#eef7f0", "#f7eef7")


def time_axis(summary: dict) -> Callable[[float], float]:
    """Run seconds → x on every plot and lane of the page (the timeline's span)."""
    timeline = summary.get("timeline") or [{"t": 0.0}]
    t0 = timeline[0]["t"]
    t1 = max(timeline[-1]["t"] + 1, t0 + 1)
    return lambda t: PAD + (t - t0) / (t1 - t0) * (WIDTH - 2 * PAD)


def _plot(summary: dict, title: str, series: list[tuple[str, str, Callable[[dict], float | None]]],
          unit: str, fixed_max: float | None = None) -> str:
    timeline = summary.get("timeline") or []
    if not timeline:
        return ""
    x = time_axis(summary)
    values = [f(b) for _, _, f in series for b in timeline]
    top = fixed_max or max([v for v in values if v is not None] + [1.0]) * 1.1
    y = lambda v: HEIGHT - PAD / 2 - v / top * (HEIGHT - PAD)
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{escape(title)}">']
    for i, p in enumerate(summary["phases"]):
        parts.append(f'<rect x="{x(p["start_s"]):.1f}" y="{PAD / 2}" width="{max(0, x(p["end_s"]) - x(p["start_s"])):.1f}" '
                     f'height="{HEIGHT - PAD}" fill="{PHASE_FILLS[i % len(PHASE_FILLS)]}"/>'
                     f'<text x="{x(p["start_s"]) + 4:.1f}" y="{PAD / 2 + 12}" font-size="11" fill="#555">{escape(p["name"])}</text>')
    for f in summary.get("faults", []):
        for key, dash in (("confirmed_s", ""), ("reverted_s", "4 3")):
            if f.get(key) is not None:
                parts.append(f'<line x1="{x(f[key]):.1f}" x2="{x(f[key]):.1f}" y1="{PAD / 2}" y2="{HEIGHT - PAD / 2}" '
                             f'stroke="#c0392b" stroke-dasharray="{dash}"><title>{escape(f["name"])} {key[:-2]}</title></line>')
    for n in (summary.get("story") or {}).get("notes", []):
        parts.append(f'<line x1="{x(n["t"]):.1f}" x2="{x(n["t"]):.1f}" y1="{PAD / 2}" y2="{HEIGHT - PAD / 2}" '
                     f'stroke="#2471a3" stroke-width="2"><title>note: {escape(n["text"])}</title></line>')
    for label, colour, f in series:
        points, path = [], []
        for b in timeline:
            v = f(b)
            if v is None:
                if points:
                    path.append(points)
                points = []
                continue
            points.append(f"{x(b['t'] + 0.5):.1f},{y(v):.1f}")
        if points:
            path.append(points)
        for segment in path:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{" ".join(segment)}"/>')
    parts.append(f'<text x="4" y="{PAD / 2 + 4}" font-size="11">{top:.0f} {escape(unit)}</text>'
                 f'<text x="4" y="{HEIGHT - PAD / 2}" font-size="11">0</text>'
                 f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{HEIGHT - PAD / 2}" y2="{HEIGHT - PAD / 2}" stroke="#999"/>')
    legend = " ".join(f'<span style="color:{c}">■ {escape(label)}</span>' for label, c, _ in series)
    return f"<h3>{escape(title)}</h3><div class=legend>{legend}</div>{''.join(parts)}</svg>"


def _pct(key: str) -> Callable[[dict], float | None]:
    return lambda b: None if b.get(key) is None else 100 * b[key]


def render_html(summary: dict) -> str:
    """The report page for one judged run."""
    verdict = summary["verdict"]
    colour = {"pass": "#1e8449", "fail": "#c0392b"}.get(verdict, "#7d3c98")
    rows = "".join("<tr>" + "".join(f"<td>{escape(cell(key, w['name'], w['metrics']))}</td>" for _, key, _ in COLUMNS)
                   + "</tr>" for w in summary["phases"] + summary.get("windows", []))
    head = "".join(f"<th>{escape(title)}</th>" for title, _, _ in COLUMNS)
    expectations = "".join(
        f"<li class={'pass' if e['passed'] else 'fail'}><b>{'PASS' if e['passed'] else 'FAIL'}</b> "
        f"<code>{escape(e['text'])}</code><br><small>{escape(e['evidence'])}</small></li>"
        for e in summary.get("expectations", []))
    faults = "".join(
        f"<li><b>{escape(f['name'])}</b>: {escape(str(f['kind']))} on {escape(str(f['target']))} — "
        + ", ".join(f"{k[:-2]} {f[k]:.2f} s" for k in ("injected_s", "confirmed_s", "reverted_s") if f.get(k) is not None)
        + (f", recovered {f['recovery_s']:.1f} s after revert" if f.get("recovery_s") is not None else "")
        + "</li>" for f in summary.get("faults", []))
    plots = "".join([
        _plot(summary, "Publish success and delivery ratio (per second)",
              [("publish success %", "#2e86c1", _pct("publish.success_rate")),
               ("delivery ratio %", "#28b463", _pct("delivery.ratio"))], "%", 100.0),
        _plot(summary, "Delivery latency (per second)",
              [("p99", "#c0392b", lambda b: b.get("delivery.latency_ms.p99")),
               ("p50", "#f39c12", lambda b: b.get("delivery.latency_ms.p50"))], "ms"),
        _plot(summary, "Throughput (per second)",
              [("publishes ok", "#2e86c1", lambda b: b.get("publish.ok")),
               ("publish errors", "#c0392b", lambda b: b.get("publish.errors")),
               ("deliveries", "#28b463", lambda b: b.get("delivery.received"))], "/s"),
    ])
    error = f"<p class=fail>Harness error: {escape(str(summary.get('error')))}</p>" if summary.get("error") else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(summary['scenario'])}: {verdict}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; max-width: 960px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; font-variant-numeric: tabular-nums; }}
td, th {{ padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
.pass {{ color: #1e8449; }} .fail {{ color: #c0392b; }} li {{ margin: .3em 0; }}
.legend span {{ margin-right: 1em; font-size: 12px; }} small {{ color: #555; }}
</style></head><body>
<h1>{escape(summary['scenario'])} <span style="color:{colour}">{verdict.upper()}</span></h1>
<p>run {escape(str(summary.get('run_id')))} · exit status {summary['exit_status']}</p>{error}
<h2>Expectations</h2><ul>{expectations or '<li>none</li>'}</ul>
<h2>Phases</h2><table><tr>{head}</tr>{rows}</table>
<h2>Faults</h2><ul>{faults or '<li>none</li>'}</ul>
<h2>Timeline</h2>{plots}
{render_story(summary, time_axis(summary), WIDTH)}
</body></html>
"""
