"""Reports from a judged journal: terminal table, junit.xml, report.html."""
from pathlib import Path
from xml.etree import ElementTree as ET

from harness.report import write_reports
from harness.report.terminal import render
from harness.judge import judge_events
from harness.scenario import loads

SCENARIO = loads("""\
name: tiny
phases: [{name: steady, duration: 2s}, {name: broken, duration: 2s}]
expect:
  - "steady: publish.success_rate >= 0.99"
  - "broken: publish.success_rate >= 0.99"
""")


def events():
    out = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": 0.5},
           {"t": 0.0, "kind": "ws_connect", "sub": "a"}, {"t": 0.0, "kind": "ws_subscribed", "sub": "a", "channel": "c"},
           {"t": 0.1, "kind": "phase_start", "phase": "steady"}]
    for i in range(4):
        ok = i < 2
        if i == 2:
            out.append({"t": 2.1, "kind": "phase_end", "phase": "steady"})
            out.append({"t": 2.1, "kind": "phase_start", "phase": "broken"})
        sent = 0.5 + i
        out.append({"t": sent + 0.01, "kind": "publish", "pub": "p1", "seq": i, "channel": "c", "sent": sent, "ok": ok,
                    "status": 200 if ok else 503, "error": None if ok else "http_5xx"})
        if ok:
            out.append({"t": sent + 0.02, "kind": "ws_receive", "sub": "a", "channel": "c", "run": "r", "pub": "p1", "seq": i})
    out.append({"t": 4.1, "kind": "phase_end", "phase": "broken"})
    out.append({"t": 4.2, "kind": "run_end", "error": None})
    return out


def test_a_failed_expectation_shows_everywhere(tmp_path: Path):
    summary = judge_events(events(), SCENARIO)
    assert (summary["verdict"], summary["exit_status"]) == ("fail", 1)
    text = render(summary)
    assert "FAIL  broken: publish.success_rate >= 0.99" in text and "PASS  steady" in text
    assert "verdict: fail (exit 1)" in text

    write_reports(tmp_path, summary)
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failure = suite.find("testcase/failure")
    assert "broken: publish.success_rate = 0" in failure.get("message")

    html = (tmp_path / "report.html").read_text()
    assert "FAIL</b>" in html and "<svg" in html and "broken" in html


def test_harness_error_is_an_errored_case(tmp_path: Path):
    summary = judge_events(events(), SCENARIO, error="cluster never ready")
    assert (summary["verdict"], summary["exit_status"], summary["expectations"]) == ("error", 3, [])
    write_reports(tmp_path, summary)
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("errors") == "1" and "cluster never ready" in suite.find("testcase/error").get("message")
    assert "Harness error" in (tmp_path / "report.html").read_text()
