"""`harness compare HUNT_A HUNT_B`: two hunts trial by trial — e.g. `--rules baseline` beside
`--rules hardened` with the same seed, which explore the same trials. Per trial (matched by name): its
faults, its class in each hunt, how soon it was detected, which alerts fired, whether health stayed green,
publish success in the fault phase; then the gaps one rule set closed or opened, and the alerts only one
hunt fired. Pure: two hunt.json documents in, a comparison out, rendered with `harness compare`'s tables.
"""
from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from harness.hunt.classify import CLASSES, DETECTED, GAP
from harness.hunt.report import health
from harness.report.compare import html_page, html_rows, only_lines, text_table


class HuntFileError(ValueError):
    """A path that is not a hunt's hunt.json (or its directory)."""


def hunt_file(path: str | Path) -> Path | None:
    """The hunt.json a path names (the file or a hunt's directory), or None if it names no hunt."""
    path = Path(path)
    if path.name == "hunt.json" and path.is_file():
        return path
    return path / "hunt.json" if (path / "hunt.json").is_file() else None


def read_hunt(path: Path) -> dict[str, Any]:
    """A hunt.json document; HuntFileError naming the file and what is wrong."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HuntFileError(f"{path}: cannot read it as JSON: {exc}") from None
    missing = [k for k in ("seed", "rules", "system", "trials") if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise HuntFileError(f"{path}: not a hunt.json (missing {', '.join(missing)})")
    if not isinstance(doc["trials"], list):
        raise HuntFileError(f"{path}: trials: a list of trials, got {type(doc['trials']).__name__}")
    for i, t in enumerate(doc["trials"]):
        if not isinstance(t, dict) or not {"name", "describe", "class", "alerts"} <= set(t):
            raise HuntFileError(f"{path}: trials[{i}]: not a hunt trial (needs name, describe, class, alerts)")
        if not isinstance(t["name"], str) or not isinstance(t["class"], str):
            raise HuntFileError(f"{path}: trials[{i}]: name and class are text")
        alerts = t["alerts"]
        if not isinstance(alerts, list) or not all(isinstance(x, dict) and isinstance(x.get("alert"), str)
                                                   for x in alerts):
            raise HuntFileError(f"{path}: trials[{i}].alerts: a list of objects each with an alert name")
    return doc


def _fired(trial: dict[str, Any] | None) -> list[str]:
    """The alerts that turned firing in a trial (after its fault was injected)."""
    return sorted({a["alert"] for a in (trial or {}).get("alerts", []) if a.get("firing_after_s") is not None})


def _hunt(doc: dict[str, Any]) -> dict[str, Any]:
    return {"label": f"seed {doc['seed']}, rules {doc['rules']}, {doc['system']}", "seed": doc["seed"],
            "system": doc["system"], "classes": {k: sum(t["class"] == k for t in doc["trials"]) for k in CLASSES},
            "gaps": _reported_gaps(doc), "trials": len(doc["trials"])}


def _reported_gaps(doc: dict[str, Any]) -> str:
    """The gaps a hunt reported (confirmed by a second trial), not its trials classed gap; a hunt.json from
    before confirm trials has no such list and says so."""
    gaps = doc.get("gaps")
    return str(len(gaps)) if isinstance(gaps, list) and "unconfirmed" in doc else "not confirmed (older hunt)"


def compare_hunts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The comparison of two hunt.json documents."""
    trials_a = {t["name"]: t for t in a["trials"]}
    trials_b = {t["name"]: t for t in b["trials"]}
    trials = []
    for name in list(trials_a) + [n for n in trials_b if n not in trials_a]:
        ta, tb = trials_a.get(name), trials_b.get(name)
        same = ta is not None and tb is not None and ta["describe"] == tb["describe"]
        fired_a, fired_b = set(_fired(ta)), set(_fired(tb))
        trials.append({"name": name, "a": ta, "b": tb, "same_faults": same,
                       "closed": same and ta["class"] == GAP and tb["class"] == DETECTED,
                       "opened": same and ta["class"] == DETECTED and tb["class"] == GAP,
                       "only_a": sorted(fired_a - fired_b), "only_b": sorted(fired_b - fired_a)})
    all_a = {x for t in a["trials"] for x in _fired(t)}
    all_b = {x for t in b["trials"] for x in _fired(t)}
    notes = []
    if a["seed"] != b["seed"]:
        notes.append(f"the seeds differ ({a['seed']}, {b['seed']}): trials of one name are different faults")
    if a["system"] != b["system"]:
        notes.append(f"the systems differ ({a['system']}, {b['system']})")
    return {"a": _hunt(a), "b": _hunt(b), "trials": trials, "notes": notes,
            "closed": [t["name"] for t in trials if t["closed"]], "opened": [t["name"] for t in trials if t["opened"]],
            "alerts_only_a": sorted(all_a - all_b), "alerts_only_b": sorted(all_b - all_a),
            "alerts_both": sorted(all_a & all_b)}


ROWS = (  # (label, how a trial's cell reads)
    ("class", lambda t: t["class"]),
    ("detected after", lambda t: "–" if t.get("detected_after_s") is None else f"{t['detected_after_s']:.1f} s"),
    ("alerts fired", lambda t: ", ".join(_fired(t)) or "none"),
    ("health green", health),
    ("publish success %", lambda t: _percent(((t.get("metrics") or {}).get("fault") or {}).get("publish.success_rate"))),
)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _cell(trial: dict[str, Any] | None, read) -> str:
    return "(no such trial)" if trial is None else read(trial)


def _title(t: dict[str, Any]) -> str:
    if t["same_faults"] or t["a"] is None or t["b"] is None:
        return f"trial {t['name']}: {(t['a'] or t['b'])['describe']}"
    return f"trial {t['name']}: A {t['a']['describe']} · B {t['b']['describe']} (different faults)"


def _head(c: dict[str, Any]) -> list[tuple[str, str, str]]:
    classes = lambda h: ", ".join(f"{k} {n}" for k, n in h["classes"].items() if n) or "no trials"
    return [("", f"A: {c['a']['label']}", f"B: {c['b']['label']}"),
            ("trials", str(c["a"]["trials"]), str(c["b"]["trials"])),
            ("classes", classes(c["a"]), classes(c["b"])),
            ("gaps reported", c["a"]["gaps"], c["b"]["gaps"])]


def _rows(t: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(label, _cell(t["a"], read), _cell(t["b"], read)) for label, read in ROWS]


def _verdicts(c: dict[str, Any]) -> list[str]:
    named = lambda names: ", ".join(names) or "none"
    return [f"gaps B closed (gap in A, detected in B): {named(c['closed'])}",
            f"gaps B opened (detected in A, gap in B): {named(c['opened'])}"]


def render_text(c: dict[str, Any]) -> str:
    """The comparison as a terminal table."""
    blocks = [_head(c)] + [[(_title(t), "", "")] + [(f"  {label}", a, b) for label, a, b in _rows(t)]
                           for t in c["trials"]]
    notes = [f"note: {n}" for n in c["notes"]]
    return "\n".join(notes + text_table(blocks) + _verdicts(c)
                     + only_lines(c["alerts_only_a"], c["alerts_only_b"], c["alerts_both"]))


def render_html(c: dict[str, Any]) -> str:
    """compare.html of two hunts."""
    head, *summary = _head(c)
    th = f"<tr><th></th><th>{escape(head[1])}</th><th>{escape(head[2])}</th></tr>"
    trials = ""
    for t in c["trials"]:
        marks = "".join(f"<p class=gap>{escape(text)}</p>" for flag, text in (
            (t["closed"], "a gap in A that B detects"), (t["opened"], "detected in A, a gap in B"),
            (bool(t["only_a"]), f"only A fired: {', '.join(t['only_a'])}"),
            (bool(t["only_b"]), f"only B fired: {', '.join(t['only_b'])}")) if flag)
        trials += f"<h2>{escape(_title(t))}</h2><table>{th}{html_rows(_rows(t))}</table>{marks}"
    notes = "".join(f"<p class=gap>Note: {escape(n)}</p>" for n in c["notes"])
    verdicts = "".join(f"<li>{escape(line)}</li>" for line in _verdicts(c) + only_lines(
        c["alerts_only_a"], c["alerts_only_b"], c["alerts_both"]))
    return html_page(f"compare hunts {c['a']['label']} · {c['b']['label']}",
                     f"<h1>Two hunts side by side</h1>\n{notes}<table>{th}{html_rows(summary)}</table>\n"
                     f"<ul>{verdicts}</ul>\n{trials}")
