"""A hunt's outputs: hunt.json (the whole record), hunt.html (the same, readable), the terminal summary."""
from __future__ import annotations

import json
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

from harness.faults.catalog import FAULT_KINDS
from harness.hunt.classify import CLASSES
from harness.hunt.confirm import twice
from harness.hunt.hunt import Gap, HuntResult, TrialRecord
from harness.hunt.plan import Trial, explorable


def _trial(trial: Trial) -> dict[str, Any]:
    return {"faults": [{"kind": c.kind, "target": c.target, "level": c.level, "describe": c.describe()}
                       for c in trial.faults], "fault_s": trial.fault_s, "describe": trial.describe()}


def _record(r: TrialRecord) -> dict[str, Any]:
    return {"name": r.name, "role": r.role, "parent": r.parent, "seconds": r.seconds, **_trial(r.trial),
            **r.classification.to_json(), "dir": f"trials/{r.name}"}


def _gap(g: Gap, out: Path) -> dict[str, Any]:
    c = g.minimal_by.classification
    return {"found_by": g.found_by.name, "original": g.found_by.trial.describe(),
            "minimal_by": g.minimal_by.name, "minimal": _trial(g.minimal_by.trial), "shrink_complete": g.complete,
            "same_as": g.same_as, "impact": [str(i) for i in c.impact], "lying_health": c.lying_health,
            "probes": c.probes,
            "alerts": c.alerts,
            "scenario": str(g.scenario.relative_to(out)) if g.scenario else None, "scenario_error": g.scenario_error,
            "confirmation": g.confirmation.status, "confirmation_reason": g.confirmation.reason,
            "confirmed_by": g.confirmed_by.name if g.confirmed_by else None,
            "impact_twice": [twice(pair) for pair in g.confirmation.shared]}


def coverage(result: HuntResult) -> dict[str, Any]:
    """Which kinds and families of the catalogue the trials tried, and which the hunt cannot try."""
    tried = sorted({c.kind for r in result.trials for c in r.trial.faults})
    can = explorable(upstream=result.config.under_test().upstream)
    return {"kinds_tried": tried, "kinds_explorable": len(can), "kinds_in_catalogue": len(FAULT_KINDS),
            "families_tried": sorted({FAULT_KINDS[k].family for k in tried}),
            "not_tried": [k for k in can if k not in tried],
            "not_explorable": [k for k in FAULT_KINDS if k not in can]}


def to_json(result: HuntResult) -> dict[str, Any]:
    c = result.config
    return {
        "seed": c.seed, "rules": c.rules, "nodes": c.nodes, "system": c.under_test().name, "system_spec": c.system,
        "budget_s": c.budget_s,
        "thresholds": c.thresholds.to_json(), "wall_s": result.wall_s, "cluster_up_s": result.cluster_up_s,
        "clusters_replaced": result.recreated, "clusters": result.projects, "stopped": result.stopped, "error": result.error,
        "classes": dict(Counter(r.classification.cls for r in result.trials)),
        "lying_health": sum(bool(r.classification.lying_health) for r in result.trials),
        "trials": [_record(r) for r in result.trials],
        "gaps": [_gap(g, c.out) for g in result.gaps if g.confirmed],
        "unconfirmed": [_gap(g, c.out) for g in result.gaps if not g.confirmed],
        "coverage": coverage(result),
        "planned": [t.describe() for t in result.planned],
    }


def write(result: HuntResult) -> dict[str, Any]:
    """Write hunt.json and hunt.html into the hunt's directory; returns the JSON document."""
    doc = to_json(result)
    out = result.config.out
    (out / "hunt.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out / "hunt.html").write_text(render_html(doc))
    return doc


def health(r: dict[str, Any]) -> str:
    """Whether health stayed green while customers were hurt, with the probes' answers as evidence."""
    verdict = {True: "yes", False: "no"}.get(r.get("lying_health"), "-")
    answers = ", ".join(f"{name} {p['ok']}/{p['answers']} ok" for name, p in (r.get("probes") or {}).items())
    return f"{verdict} ({answers})" if answers and verdict != "-" else verdict


def _when(r: dict[str, Any]) -> str:
    return "-" if r["detected_after_s"] is None else f"{r['detected_after_s']:.1f} s"


def _minimised(g: dict[str, Any]) -> str:
    return f"     minimised ({g['minimal_by']}{'' if g['shrink_complete'] else ', budget-limited'}): {g['minimal']['describe']}"


def terminal(doc: dict[str, Any]) -> str:
    """The summary printed at the end of a hunt."""
    t = doc["thresholds"]
    lines = [f"hunt: seed {doc['seed']}, rules {doc['rules']}, {len(doc['trials'])} trials in {doc['wall_s']:.0f} s "
             f"(budget {doc['budget_s']:g} s; {doc['stopped']})",
             f"impact: publish success < {t['success_rate']:g}, delivery ratio < {t['delivery_ratio']:g} or delivery "
             f"p99 > {t['latency_ms']:g} ms; detected: an alert firing within {t['deadline_s']:g} s of the fault",
             "classes: " + ", ".join(f"{k} {doc['classes'].get(k, 0)}" for k in CLASSES)
             + f"; lying health {doc['lying_health']}; gaps confirmed {len(doc['gaps'])}, "
             f"unconfirmed {len(doc['unconfirmed'])}"]
    cov = doc["coverage"]
    lines.append(f"coverage: {len(cov['kinds_tried'])} of {cov['kinds_explorable']} explorable kinds "
                 f"({cov['kinds_in_catalogue']} in the catalogue), families {', '.join(cov['families_tried']) or '-'}")
    if doc["error"]:
        lines.append(f"error: {doc['error']}")
    for g in doc["gaps"]:
        if g["same_as"]:
            lines.append(f"GAP  {g['found_by']}: {g['original']} (same as {g['same_as']})")
            continue
        lines.append(f"GAP  {g['found_by']}: {g['original']}")
        lines.append(_minimised(g))
        lines.append(f"     impact: {'; '.join(g['impact'])}"
                     + (f"; health probes green throughout: {health(g)}" if g["lying_health"] else ""))
        lines.append(f"     confirmed ({g['confirmed_by']}): {'; '.join(g['impact_twice'])}")
        lines.append(f"     scenario: {g['scenario']}" + (f" (INVALID: {g['scenario_error']})" if g['scenario_error'] else ""))
    for g in doc["unconfirmed"]:   # impact once, no alert, not reproduced: no scenario
        if g["same_as"]:
            lines.append(f"UNCONFIRMED {g['found_by']}: {g['original']} (same as {g['same_as']})")
            continue
        lines.append(f"UNCONFIRMED {g['found_by']}: {g['original']}")
        lines.append(_minimised(g))
        lines.append(f"     impact once: {'; '.join(g['impact'])}")
        lines.append(f"     {g['confirmation_reason']}" + (f" ({g['confirmed_by']})" if g["confirmed_by"] else ""))
    for r in doc["trials"]:
        if r["class"] == "detected" and r["role"] == "explore":
            lines.append(f"DETECTED {r['name']}: {r['describe']} after {_when(r)} ({r['reason']})")
    if not doc["gaps"]:
        classified = any(r["class"] != "no-evidence" for r in doc["trials"])
        lines.append(("no gap found" if classified else "no gap found, but no trial reached a class: no evidence")
                     if not doc["unconfirmed"] else f"no gap confirmed ({len(doc['unconfirmed'])} unconfirmed above)")
    return "\n".join(lines)


COLOURS = {"detected": "#1e8449", "gap": "#c0392b", "noise": "#b9770e", "tolerated": "#555", "no-evidence": "#7d3c98"}


def render_html(doc: dict[str, Any]) -> str:
    """hunt.html: one self-contained page."""
    rows = "".join(
        f"<tr><td><a href='{escape(r['dir'])}/report.html'>{r['name']}</a></td><td>{r['role']}"
        f"{' of ' + r['parent'] if r['parent'] else ''}</td><td>{escape(r['describe'])}</td>"
        f"<td style='color:{COLOURS.get(r['class'], '#222')}'><b>{r['class']}</b></td><td>{_when(r)}</td>"
        f"<td>{escape(health(r))}</td>"
        f"<td><small>{escape(r['reason'])}<br>{escape('; '.join(r['impact']))}</small></td><td>{r['seconds']:.0f}</td></tr>"
        for r in doc["trials"])
    gaps = "".join(
        f"<li><b>{escape(g['minimal']['describe'] if not g['same_as'] else g['original'])}</b> — found by "
        f"{g['found_by']}" + (f", same as {g['same_as']}" if g["same_as"] else
                              f" ({escape(g['original'])}), minimised by {g['minimal_by']}"
                              f"{'' if g['shrink_complete'] else ' (budget-limited)'}; "
                              f"impact {escape('; '.join(g['impact']))}; confirmed by {g['confirmed_by']}: "
                              f"{escape('; '.join(g['impact_twice']))}; scenario "
                              f"<a href='{escape(str(g['scenario']))}'>{escape(str(g['scenario']))}</a>")
        + "</li>" for g in doc["gaps"])
    unconfirmed = "".join(
        f"<li><b>{escape(g['minimal']['describe'] if not g['same_as'] else g['original'])}</b> — found by "
        f"{g['found_by']}" + (f", same as {g['same_as']}" if g["same_as"] else
                              f", minimised by {g['minimal_by']}; impact once {escape('; '.join(g['impact']))}")
        + f"; {escape(g['confirmation_reason'])}"
        + (f" ({g['confirmed_by']})" if g["confirmed_by"] and not g["same_as"] else "") + "</li>"
        for g in doc["unconfirmed"])
    cov = doc["coverage"]
    t = doc["thresholds"]
    classes = " · ".join(f"<span style='color:{COLOURS[k]}'>{k} {doc['classes'].get(k, 0)}</span>" for k in CLASSES)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hunt seed {doc['seed']} rules {escape(doc['rules'])}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: left;
vertical-align: top; }} small {{ color: #555; }}
</style></head><body>
<h1>Hunt: seed {doc['seed']}, rules {escape(doc['rules'])}</h1>
<p>{len(doc['trials'])} trials in {doc['wall_s']:.0f} s (budget {doc['budget_s']:g} s, {escape(doc['stopped'])});
{doc['nodes']} nodes, system {escape(doc['system'])}; cluster ready in {doc['cluster_up_s']:.0f} s, replaced
{doc['clusters_replaced']} time(s).{' Error: ' + escape(doc['error']) if doc['error'] else ''}</p>
<p>Impact: publish success &lt; {t['success_rate']:g}, delivery ratio &lt; {t['delivery_ratio']:g}, or delivery p99
&gt; {t['latency_ms']:g} ms in the fault or recover phase. Detected: an alert firing within {t['deadline_s']:g} s of
the fault's confirmation. No verdict with fewer than {t['min_publishes']} publishes in a window.</p>
<p>{classes} · lying health {doc['lying_health']}</p>
<h2>Gaps</h2><p>A gap counts when its minimised trial, run once more (its confirm trial), hurts customers the
same way again, unseen.</p><ul>{gaps or '<li>none</li>'}</ul>
<h2>Unconfirmed</h2><p>Impact and no alert once, not reproduced (or not re-run): no scenario written.</p>
<ul>{unconfirmed or '<li>none</li>'}</ul>
<h2>Trials</h2><table><tr><th>trial</th><th>role</th><th>faults</th><th>class</th><th>detected after</th>
<th>health green</th><th>why</th><th>s</th></tr>{rows}</table>
<h2>Coverage</h2><p>Tried {len(cov['kinds_tried'])} of {cov['kinds_explorable']} explorable kinds
({escape(', '.join(cov['kinds_tried']))}); not tried: {escape(', '.join(cov['not_tried']) or '-')};
not explorable (parameters the hunt cannot invent, or no target on this system): {escape(', '.join(cov['not_explorable']))}.</p>
</body></html>
"""
