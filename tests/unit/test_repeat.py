"""Flake statistics of repeated runs."""
from xml.etree import ElementTree as ET

from harness.repeat import EXIT_FLAKY, aggregate, junit_xml, render


def summary(verdict, passed, ttd=4.0, ttr=2.0, seed=1):
    return {"scenario": "s", "verdict": verdict, "seed": seed,
            "expectations": [{"text": "run: delivery.duplicated == 0", "passed": True, "observed": 0},
                             {"text": "alert A fires within 20s after fault f", "passed": passed, "observed": ttd}],
            "faults": [{"name": "f", "recovery_s": ttr}]}


def test_all_pass():
    stats = aggregate([summary("pass", True, ttd=t, ttr=t / 2) for t in (3.0, 5.0, 4.0)])
    assert (stats["verdict"], stats["exit_status"], stats["passed"]) == ("pass", 0, 3)
    alert = stats["expectations"][1]
    assert alert["ttd_s"] == {"min": 3.0, "median": 4.0, "max": 5.0} and not alert["flaky"]
    assert stats["ttr_s"]["f"] == {"min": 1.5, "median": 2.0, "max": 2.5}


def test_some_pass_some_fail_is_flaky():
    stats = aggregate([summary("pass", True), summary("fail", False), summary("pass", True)])
    assert (stats["verdict"], stats["exit_status"]) == ("flaky", EXIT_FLAKY)
    assert stats["expectations"][1]["passed"] == 2 and stats["expectations"][1]["flaky"]
    assert "FLAKY 2/3  alert A" in render(stats)
    suite = ET.fromstring(junit_xml(stats))
    assert suite.find("properties/property[@name='flaky']").get("value") == "true"
    assert suite.get("failures") == "1"


def test_all_fail_is_a_failure_not_a_flake():
    stats = aggregate([summary("fail", False), summary("fail", False)])
    assert (stats["verdict"], stats["exit_status"]) == ("fail", 1)
    assert not stats["expectations"][1]["flaky"]
