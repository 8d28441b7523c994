"""`harness compare RUN_A RUN_B`: two judged runs side by side — e.g. a baseline and a hardened run of
the same scenario, or two game days. Per fault (matched by name): which alerts fired in each run, the
times to impact, detection and recovery, and the customer impact; then the alerts only one run fired.
Pure: summaries in, a comparison out, rendered for the terminal and as compare.html.
"""
from __future__ import annotations

from html import escape
from typing import Any

ROWS = (  # (label, fault-table key, kind); times from the fault's injection
    ("confirmed after", "confirmed_after_s", "secs"),
    ("impact after", "impact_after_s", "secs"),
    ("first pending", "pending_after_s", "secs"),
    ("first firing", "firing_after_s", "secs"),
    ("notified after", "notified_after_s", "secs"),
    ("first note after", "note_after_s", "secs"),
    ("recovered after revert", "recovery_s", "secs"),
    ("failed publishes", "publish_failed", "count"),
    ("lost deliveries", "delivery_lost", "count"),
    ("alerts fired", "alerts_fired", "names"),
)
RUN_ROWS = (("verdict", "verdict"), ("expectations held", "expectations"), ("publish success %", "publish.success_rate"),
            ("failed publishes", "publish.errors"), ("lost deliveries", "delivery.lost"),
            ("delivery ratio %", "delivery.ratio"))


def _fired(summary: dict) -> set[str]:
    """Every alert that was firing at some point of the run."""
    lanes = (summary.get("story") or {}).get("alert_lanes") or []
    return {lane["alert"] for lane in lanes if any(ep["firing_t"] is not None for ep in lane["episodes"])}


def _run(summary: dict) -> dict[str, Any]:
    m = (summary.get("run") or {}).get("metrics") or {}
    held = sum(e["passed"] for e in summary.get("expectations", []))
    return {"scenario": summary.get("scenario"), "run_id": summary.get("run_id"), "verdict": summary.get("verdict"),
            "expectations": f"{held}/{len(summary.get('expectations', []))}",
            **{key: m.get(key) for _, key in RUN_ROWS[2:]},
            "gaps": (summary.get("alerts") or {}).get("gaps")}


def compare(a: dict, b: dict) -> dict[str, Any]:
    """The comparison of two summaries (as judge_events writes them)."""
    table_a = {r["name"]: r for r in (a.get("story") or {}).get("fault_table") or []}
    table_b = {r["name"]: r for r in (b.get("story") or {}).get("fault_table") or []}
    names = list(table_a) + [n for n in table_b if n not in table_a]
    faults = []
    for name in names:
        ra, rb = table_a.get(name), table_b.get(name)
        either = ra or rb
        fired_a, fired_b = set((ra or {}).get("alerts_fired", [])), set((rb or {}).get("alerts_fired", []))
        faults.append({"name": name, "kind": either["kind"], "target": either["target"], "a": ra, "b": rb,
                       "only_a": sorted(fired_a - fired_b), "only_b": sorted(fired_b - fired_a)})
    fired_a, fired_b = _fired(a), _fired(b)
    return {"a": _run(a), "b": _run(b), "faults": faults, "alerts_only_a": sorted(fired_a - fired_b),
            "alerts_only_b": sorted(fired_b - fired_a), "alerts_both": sorted(fired_a & fired_b),
            # The evidence rule: where a run's watcher was not polling, no alert was seen because nobody looked.
            "unwatched": [f"{side}: {blind}" for side, summary in (("A", a), ("B", b)) if (blind := _blind(summary))]}


def _blind(summary: dict) -> str | None:
    """Why the run's alert silence is not evidence, in whole or in part; None when it was watched throughout."""
    m = (summary.get("run") or {}).get("metrics") or {}
    if not m.get("monitoring.polls"):
        return "no monitoring evidence (the alert watcher never polled): its silence proves nothing"
    if m.get("monitoring.uncovered_s"):
        return (f"no monitoring evidence for {m['monitoring.uncovered_s']:g} s of the run (the alert watcher was not "
                "polling): its silence then proves nothing")
    return None


def _unwatched(c: dict[str, Any]) -> list[str]:
    return list(c.get("unwatched", []))


def _cell(row: dict | None, key: str, kind: str) -> str:
    if row is None:
        return "(no such fault)"
    value = row.get(key)
    if kind == "names":
        return ", ".join(value) or "none"
    if value is None:
        if key == "recovery_s" and row.get("reverted_s") is not None:
            return "never"
        return "–"
    return f"{value:.1f} s" if kind == "secs" else str(value)


def _run_cell(run: dict, key: str) -> str:
    value = run.get(key)
    if value is None:
        return "–"
    if key in ("publish.success_rate", "delivery.ratio"):
        return f"{100 * value:.2f}"
    return str(value)


def _label(run: dict, side: str) -> str:
    return f"{side}: {run['scenario']} ({run['run_id']})"


def text_table(blocks: list[list[tuple[str, ...]]]) -> list[str]:
    """Blocks of rows as aligned terminal lines, a blank line after each block (shared with the hunts' compare).
    A title row (only its first cell set) does not widen the first column."""
    rows = [r for block in blocks for r in block if any(r[1:])]
    widths = [max(len(r[i]) for r in rows) for i in range(len(blocks[0][0]))]
    lines = []
    for block in blocks:
        for r in block:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
        lines.append("")
    return lines


def only_lines(only_a: list[str], only_b: list[str], both: list[str], what: str = "fired") -> list[str]:
    """The closing lines: what only A, only B, and both did."""
    return [f"alerts only A {what}: {', '.join(only_a) or 'none'}", f"alerts only B {what}: {', '.join(only_b) or 'none'}",
            f"alerts both {what}:   {', '.join(both) or 'none'}"]


def render_text(c: dict[str, Any]) -> str:
    """The comparison as a terminal table."""
    header = [_label(c["a"], "A"), _label(c["b"], "B")]
    rows: list[tuple[str, str, str]] = [("", *header)]
    rows += [(label, _run_cell(c["a"], key), _run_cell(c["b"], key)) for label, key in RUN_ROWS]
    blocks = [rows]
    for f in c["faults"]:
        block = [(f"fault {f['name']} ({f['kind']} on {f['target']})", "", "")]
        block += [(f"  {label}", _cell(f["a"], key, kind), _cell(f["b"], key, kind)) for label, key, kind in ROWS]
        blocks.append(block)
    return "\n".join(text_table(blocks) + only_lines(c["alerts_only_a"], c["alerts_only_b"], c["alerts_both"])
                     + _unwatched(c))


def html_rows(rows: list[tuple[str, str, str]]) -> str:
    """Table rows of (label, A, B), escaped."""
    return "".join(f"<tr><td>{escape(label)}</td><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for label, a, b in rows)


def html_page(title: str, body: str) -> str:
    """A self-contained compare page (runs or hunts)."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; max-width: 960px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; font-variant-numeric: tabular-nums; margin-bottom: .5em; }}
td, th {{ padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; }} small {{ color: #555; }}
.gap {{ color: #c0392b; margin: .2em 0; }}
</style></head><body>
{body}
</body></html>
"""


def render_html(c: dict[str, Any]) -> str:
    """compare.html: one self-contained page."""
    head = f"<tr><th></th><th>{escape(_label(c['a'], 'A'))}</th><th>{escape(_label(c['b'], 'B'))}</th></tr>"
    run = html_rows([(label, _run_cell(c["a"], key), _run_cell(c["b"], key)) for label, key in RUN_ROWS])
    faults = ""
    for f in c["faults"]:
        body = html_rows([(label, _cell(f["a"], key, kind), _cell(f["b"], key, kind)) for label, key, kind in ROWS])
        only = "".join(f"<p class=gap>only {side} fired: {escape(', '.join(names))}</p>"
                       for side, names in (("A", f["only_a"]), ("B", f["only_b"])) if names)
        faults += (f"<h2>Fault {escape(f['name'])} <small>({escape(str(f['kind']))} on {escape(str(f['target']))})"
                   f"</small></h2><table>{head}{body}</table>{only}")
    alerts = "".join(f"<li><b>{label}</b>: {escape(', '.join(names) or 'none')}</li>" for label, names in (
        ("only A fired", c["alerts_only_a"]), ("only B fired", c["alerts_only_b"]), ("both fired", c["alerts_both"])))
    alerts += "".join(f"<li class=gap>{escape(line)}</li>" for line in _unwatched(c))
    return html_page(f"compare {c['a']['scenario']} · {c['b']['scenario']}",
                     f"<h1>Side by side</h1>\n<table>{head}{run}</table>\n<h2>Alerts</h2><ul>{alerts}</ul>\n{faults}")
