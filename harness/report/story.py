"""The story section of report.html: alert and probe lanes under the timeline plots, notes and faults
marked across them, and the per-fault table (times to impact, detection and recovery)."""
from __future__ import annotations

from html import escape
from typing import Any, Callable

ROW, TOP = 26, 6
PENDING, FIRING, NOTIFIED, PROBE_OK, PROBE_FAIL, NOTE, FAULT = (
    "#f5b041", "#c0392b", "#222", "#82e0aa", "#e74c3c", "#2471a3", "#c0392b")


def _secs(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f} s"


def _bar(x0: float, x1: float, y: float, colour: str, title: str) -> str:
    return (f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(1.5, x1 - x0):.1f}" height="10" fill="{colour}">'
            f'<title>{escape(title)}</title></rect>')


def _lane_rows(summary: dict, x: Callable[[float], float], end: float) -> list[tuple[str, list[str]]]:
    story = summary.get("story") or {}
    rows: list[tuple[str, list[str]]] = []
    for lane in story.get("alert_lanes", []):
        name = lane["alert"] + (f" {{{', '.join(f'{k}={v}' for k, v in sorted(lane['labels'].items()))}}}"
                                if lane["labels"] else "")
        shapes = []
        for ep in lane["episodes"]:
            stop = end if ep["resolved_t"] is None else ep["resolved_t"]
            first = ep["firing_t"] if ep["firing_t"] is not None else stop
            shapes.append(_bar(x(ep["pending_t"]), x(first), 0, PENDING, f"{lane['alert']} pending {ep['pending_t']:.1f} s"))
            if ep["firing_t"] is not None:
                shapes.append(_bar(x(ep["firing_t"]), x(stop), 0, FIRING, f"{lane['alert']} firing {ep['firing_t']:.1f} s"
                                   + ("" if ep["resolved_t"] is None else f", resolved {ep['resolved_t']:.1f} s")))
            if ep["notified_t"] is not None:
                nx = x(ep["notified_t"])
                shapes.append(f'<path d="M{nx:.1f},-1 l4,6 l-4,6 l-4,-6 z" fill="{NOTIFIED}">'
                              f'<title>{escape(lane["alert"])} notified {ep["notified_t"]:.1f} s</title></path>')
        rows.append((f"alert {name}", shapes))
    for lane in story.get("probe_lanes", []):
        shapes = [_bar(x(s["from"]), x(s["to"] if s["to"] > s["from"] else s["from"] + 1), 0,
                       PROBE_OK if s["ok"] else PROBE_FAIL,
                       f"{'ok' if s['ok'] else 'failing'} {s['from']:.1f}–{s['to']:.1f} s ({s['count']} checks"
                       + (f", {s['error']}" if s.get("error") else "") + ")")
                  for s in lane["segments"]]
        rows.append((f"probe {lane['name']}" + (f" on {lane['node']}" if lane["node"] else "")
                     + f" ({lane['failures']}/{lane['checks']} failed)", shapes))
    return rows


def lanes_svg(summary: dict, x: Callable[[float], float], width: int) -> str:
    """Alert and probe lanes on the plots' time axis, with faults and notes marked across them."""
    timeline = summary.get("timeline") or []
    story = summary.get("story") or {}
    end = (timeline[-1]["t"] + 1) if timeline else 0.0
    left = x(timeline[0]["t"]) if timeline else 0.0
    right = x(end)
    # Episodes that began before the timeline (an alert pending at start) are drawn from its edge.
    rows = _lane_rows(summary, lambda t: min(max(x(t), left), right), end)
    if not rows and not story.get("notes"):
        return ""
    height = TOP + ROW * max(1, len(rows)) + 4
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="alert and probe lanes">']
    for i, (label, shapes) in enumerate(rows):
        y = TOP + i * ROW
        parts.append(f'<rect x="{left:.1f}" y="{y + 12}" width="{right - left:.1f}" '
                     f'height="10" fill="#f4f4f4"/><text x="{left:.1f}" y="{y + 9}" '
                     f'font-size="10" fill="#333">{escape(label)}</text><g transform="translate(0 {y + 12})">'
                     + "".join(shapes) + "</g>")
    for f in summary.get("faults", []):
        for key, dash in (("confirmed_s", ""), ("reverted_s", "4 3")):
            if f.get(key) is not None:
                parts.append(f'<line x1="{x(f[key]):.1f}" x2="{x(f[key]):.1f}" y1="0" y2="{height}" stroke="{FAULT}" '
                             f'stroke-dasharray="{dash}"><title>{escape(f["name"])} {key[:-2]}</title></line>')
    for n in story.get("notes", []):
        parts.append(f'<line x1="{x(n["t"]):.1f}" x2="{x(n["t"]):.1f}" y1="0" y2="{height}" stroke="{NOTE}" '
                     f'stroke-width="2"><title>note {n["t"]:.1f} s ({escape(str(n.get("user")))}): '
                     f'{escape(n["text"])}</title></line>')
    legend = (f'<span style="color:{PENDING}">■ pending</span> <span style="color:{FIRING}">■ firing</span> '
              f'<span>◆ notified</span> <span style="color:{PROBE_OK}">■ probe ok</span> '
              f'<span style="color:{PROBE_FAIL}">■ probe failing</span> <span style="color:{NOTE}">│ note</span> '
              f'<span style="color:{FAULT}">│ fault confirmed ┆ reverted</span>')
    return f"<h3>Alert and probe lanes</h3><div class=legend>{legend}</div>{''.join(parts)}</svg>"


def fault_table_html(summary: dict) -> str:
    """The per-fault table: who, when, times to impact / detection / recovery, the alerts of its window."""
    rows = (summary.get("story") or {}).get("fault_table") or []
    if not rows:
        return ""
    head = ("fault", "by", "injected at", "confirmed", "impact", "pending", "firing", "notified", "note", "recovered",
            "failed pub", "lost", "alerts fired")
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in (
            f"{r['name']} ({r['kind']} on {r['target']})",
            "" if not r.get("by") else f"{r['by'].get('user')}@{r['by'].get('host')}",
            _secs(r["injected_s"]), _secs(r["confirmed_after_s"]),
            _secs(r["impact_after_s"]), _secs(r["pending_after_s"]), _secs(r["firing_after_s"]),
            _secs(r["notified_after_s"]), _secs(r["note_after_s"]),
            "never" if r.get("reverted_s") is not None and r.get("recovery_s") is None else _secs(r.get("recovery_s")),
            str(r["publish_failed"]), str(r["delivery_lost"]), ", ".join(r["alerts_fired"]) or "none"))
        + "</tr>" for r in rows)
    return ("<h2>Faults: impact, detection, recovery</h2><p><small>Times after each fault's injection (when someone "
            "acted); recovered: after its revert.</small></p><table style=\"font-size: 12px\"><tr>" + "".join(f"<th>{h}</th>" for h in head) + f"</tr>{body}</table>")


def notes_html(summary: dict) -> str:
    notes = (summary.get("story") or {}).get("notes") or []
    if not notes:
        return ""
    return "<h2>Notes</h2><ul>" + "".join(
        f"<li>{n['t']:.1f} s <b>{escape(str(n.get('user')))}@{escape(str(n.get('host')))}</b>: {escape(n['text'])}</li>"
        for n in notes) + "</ul>"


def render_story(summary: dict[str, Any], x: Callable[[float], float], width: int) -> str:
    """Lanes, then the fault table and the notes."""
    return lanes_svg(summary, x, width) + fault_table_html(summary) + notes_html(summary)
