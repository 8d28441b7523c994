"""Repeated runs of one scenario and their flake statistics (pure): `harness run S --repeat N`.

Each run is judged on its own; the aggregate says, per expectation, how many runs it held in, and for
time to detect (alert expectations' observed firing time) and time to recover (each fault's
`recovery_s`) the min/median/max. A scenario that passed some runs and failed others is **flaky**:
its own verdict and exit status (EXIT_FLAKY), and a `flaky` property in repeat's junit.xml.
"""
from __future__ import annotations

import statistics
from typing import Any
from xml.etree import ElementTree as ET

EXIT_FLAKY = 4


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def aggregate(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The flake statistics of several judged runs of one scenario (their summary.json contents)."""
    verdicts = [s["verdict"] for s in summaries]
    expectations: dict[str, dict[str, Any]] = {}
    for s in summaries:
        for e in s.get("expectations", []):
            entry = expectations.setdefault(e["text"], {"text": e["text"], "passed": 0, "judged": 0, "observed": []})
            entry["judged"] += 1
            entry["passed"] += bool(e["passed"])
            if e["text"].startswith("alert ") and e["passed"] and isinstance(e.get("observed"), (int, float)):
                entry["observed"].append(float(e["observed"]))
    for entry in expectations.values():
        entry["flaky"] = 0 < entry["passed"] < entry["judged"]
        entry["ttd_s"] = _spread(entry.pop("observed"))
    recoveries: dict[str, list[float]] = {}
    for s in summaries:
        for f in s.get("faults", []):
            if f.get("recovery_s") is not None:
                recoveries.setdefault(f["name"], []).append(float(f["recovery_s"]))
    passed, failed, errors = verdicts.count("pass"), verdicts.count("fail"), verdicts.count("error")
    if passed and failed:
        verdict, status = "flaky", EXIT_FLAKY
    elif errors:
        verdict, status = "error", 3
    elif failed:
        verdict, status = "fail", 1
    else:
        verdict, status = "pass", 0
    return {"scenario": summaries[0]["scenario"] if summaries else None, "runs": len(summaries),
            "passed": passed, "failed": failed, "errors": errors, "verdict": verdict, "exit_status": status,
            "seeds": [s.get("seed") for s in summaries],
            "expectations": list(expectations.values()),
            "ttr_s": {name: _spread(values) for name, values in recoveries.items()}}


def render(stats: dict[str, Any]) -> str:
    """The terminal table of a repeat."""
    lines = [f"{stats['scenario']}: {stats['verdict'].upper()} — passed {stats['passed']}/{stats['runs']} runs"
             + (f", {stats['errors']} harness errors" if stats["errors"] else "")]
    for e in stats["expectations"]:
        mark = "FLAKY" if e["flaky"] else ("ok" if e["passed"] == e["judged"] else "FAIL")
        ttd = f"  TTD {_fmt(e['ttd_s'])}" if e["ttd_s"] else ""
        lines.append(f"  {mark:<5} {e['passed']}/{e['judged']}  {e['text']}{ttd}")
    for name, spread in stats["ttr_s"].items():
        lines.append(f"  TTR {name}: {_fmt(spread)}")
    return "\n".join(lines)


def _fmt(spread: dict[str, float] | None) -> str:
    return "-" if not spread else f"min {spread['min']:g} s · median {spread['median']:g} s · max {spread['max']:g} s"


def junit_xml(stats: dict[str, Any]) -> str:
    """One suite for the repeat: a case per expectation (failed if it failed in any run), and properties
    `runs`, `passed`, `flaky` on the suite and `passed` on each case."""
    name = stats["scenario"]
    cases = stats["expectations"]
    suite = ET.Element("testsuite", name=f"harness.{name}.repeat", tests=str(max(1, len(cases))),
                       failures=str(sum(e["passed"] < e["judged"] for e in cases)), errors=str(stats["errors"]))
    props = ET.SubElement(suite, "properties")
    for key, value in (("runs", stats["runs"]), ("passed", stats["passed"]), ("flaky", stats["verdict"] == "flaky")):
        ET.SubElement(props, "property", name=key, value=str(value).lower())
    for e in cases:
        case = ET.SubElement(suite, "testcase", classname=f"harness.{name}", name=e["text"])
        ET.SubElement(ET.SubElement(case, "properties"), "property", name="passed", value=f"{e['passed']}/{e['judged']}")
        if e["passed"] < e["judged"]:
            message = f"{'flaky: ' if e['flaky'] else ''}held in {e['passed']} of {e['judged']} runs"
            ET.SubElement(case, "failure", message=message).text = message
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
