"""junit.xml: one test case per expectation, so CI shows which expectation failed and why."""
from __future__ import annotations

from xml.etree import ElementTree as ET


def junit_xml(summary: dict) -> str:
    """A JUnit XML document for one judged run; a harness error is one errored case."""
    name = summary["scenario"]
    expectations = summary.get("expectations", [])
    suite = ET.Element("testsuite", name=f"harness.{name}", tests=str(max(1, len(expectations))),
                       failures=str(sum(not e["passed"] for e in expectations)),
                       errors="1" if summary["verdict"] == "error" else "0")
    if summary["verdict"] == "error":
        case = ET.SubElement(suite, "testcase", classname=f"harness.{name}", name="run")
        ET.SubElement(case, "error", message=str(summary.get("error"))[:500]).text = str(summary.get("error"))
    for e in expectations:
        case = ET.SubElement(suite, "testcase", classname=f"harness.{name}", name=e["text"])
        if not e["passed"]:
            ET.SubElement(case, "failure", message=e["evidence"]).text = e["evidence"]
        else:
            ET.SubElement(case, "system-out").text = e["evidence"]
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
