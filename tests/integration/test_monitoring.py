"""Monitoring under test on real clusters: Prometheus, redis_exporter, Alertmanager and the alert sink.

The incident's shape: Redis refuses writes with MISCONF (RDB saves fail, `redis-misconf-unwritable-dir`)
while it still answers INFO. The baseline rule set misses it (RedisDown silent, the 5xx-ratio alert too
slow: a gap); the hardened set's cache-error alert fires and its notification reaches the sink. The
steady phase before the fault fires nothing under either set (no noise).
"""
from __future__ import annotations

import asyncio
import time

import docker
import httpx
import pytest

from harness.cluster.cluster import LABEL_RUN, Cluster, rules_path
from harness.journal import read_journal
from harness.judge import EXIT_ERROR, EXIT_FAIL, EXIT_PASS
from harness.runner import Runner
from harness.scenario import loads
from tests.integration.conftest import leftovers

pytestmark = pytest.mark.integration

MISCONF = """\
name: misconf-{rules}
cluster: {{nodes: 1, monitoring: true, rules: {rules}}}
workload:
  publish: {{rate: 10, channels: 1}}
  subscribe: {{per_node: 1}}
phases:
  - name: steady
    duration: 12s
  - name: misconf
    duration: 20s
    faults: [{{kind: redis-misconf-unwritable-dir, name: misconf}}]
expect:
  - "alert * silent during steady"
  - "alert RedisDown silent during misconf"
  - "alert {detector} fires within 20s after fault misconf"
"""


def run(text: str, tmp_path, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    result = asyncio.run(Runner(loads(text, path), tmp_path / "out", log=lambda m: None).run())
    run_id = result.summary["run_id"]
    assert leftovers(run_id) == [], f"the run left {leftovers(run_id)}"
    return result, read_journal(tmp_path / "out" / "journal.jsonl")


def verdicts(result) -> dict[str, bool]:
    return {v["text"]: v["passed"] for v in result.summary["expectations"]}


def test_baseline_rules_miss_misconf_redis_down_stays_silent(images, tmp_path):
    result, journal = run(MISCONF.format(rules="baseline", detector="HighErrorRate"), tmp_path)
    v = verdicts(result)
    assert result.exit_status == EXIT_FAIL, result.summary.get("error")
    assert v["alert * silent during steady"] and v["alert RedisDown silent during misconf"]
    assert not v["alert HighErrorRate fires within 20s after fault misconf"]
    alerts = result.summary["alerts"]
    assert alerts["rule_set"] == "baseline" and alerts["gaps"] == ["HighErrorRate"] and alerts["noise"] == []
    # The fault really happened: publishes failed while no baseline alert fired.
    misconf = next(p for p in result.summary["phases"] if p["name"] == "misconf")["metrics"]
    assert misconf["publish.errors"] > 0
    assert not any(e["kind"] == "alert_firing" for e in journal)
    assert [e["rule_set"] for e in journal if e["kind"] == "alert_rules_loaded"] == ["baseline"]


def test_hardened_rules_detect_misconf_and_notify_the_sink(images, tmp_path):
    result, journal = run(MISCONF.format(rules="hardened", detector="RedisCacheErrors"), tmp_path)
    assert result.exit_status == EXIT_PASS, (result.summary.get("error"), result.summary["expectations"])
    alerts = result.summary["alerts"]
    [detected] = alerts["expected"]
    assert detected["alert"] == "RedisCacheErrors" and detected["fired"]
    assert 0 <= detected["pending_after_s"] <= detected["firing_after_s"] <= detected["notified_after_s"] <= 20
    assert alerts["gaps"] == [] and alerts["noise"] == []
    notified = [e for e in journal if e["kind"] == "alert_notified" and e["alert"] == "RedisCacheErrors"]
    assert notified and notified[0]["status"] == "firing" and notified[0]["receiver"] == "sink"
    fault = next(f for f in result.summary["faults"] if f["name"] == "misconf")
    assert notified[0]["arrived_t"] > fault["confirmed_s"] - 5  # the notification follows the fault
    misconf = next(p for p in result.summary["phases"] if p["name"] == "misconf")["metrics"]
    assert misconf["alert.RedisCacheErrors.fired"] is True


def test_a_rule_that_fails_to_evaluate_is_a_harness_error(images, tmp_path):
    # Two series on each side matched on no label: many-to-many, an error at every evaluation whatever
    # has been scraped, which `promtool check rules` cannot see.
    two = '(vector(1) or label_replace(vector(2), \\"a\\", \\"b\\", \\"\\", \\"\\"))'
    (tmp_path / "bad.yml").write_text(
        "groups:\n  - name: bad\n    rules:\n      - alert: ManyToMany\n"
        f"        expr: \"{two} * on() {two}\"\n")
    text = ("name: bad-rule\ncluster: {nodes: 1, rules: bad.yml}\nworkload: {publish: {rate: 2}}\n"
            "phases: [{name: steady, duration: 3s}]\nexpect: ['alert ManyToMany silent during steady']\n")
    result, journal = run(text, tmp_path)
    assert result.exit_status == EXIT_ERROR
    assert "rule ManyToMany (group bad) fails to evaluate" in result.summary["error"]
    assert "many-to-many" in result.summary["error"]


def test_monitoring_profile_endpoints_and_targets(images):
    cluster = Cluster(nodes=2, monitoring=True, rules_file=rules_path("hardened"), scrape_interval_s=1.5)
    try:
        endpoints = cluster.up().to_json()
        for key in ("prometheus", "alertmanager", "alertsink"):
            assert endpoints[key].startswith("http://127.0.0.1:"), endpoints
        client = docker.from_env()
        try:
            for c in client.containers.list(filters={"label": f"{LABEL_RUN}={cluster.run_id}"}):
                for bindings in (c.attrs["NetworkSettings"]["Ports"] or {}).values():
                    assert all(b["HostIp"] == "127.0.0.1" for b in bindings or []), c.name
        finally:
            client.close()
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=2, trust_env=False) as http:
            while True:
                targets = http.get(f"{endpoints['prometheus']}/api/v1/targets").json()["data"]["activeTargets"]
                health = {t["labels"]["instance"]: t["health"] for t in targets}
                # The nodes, the exporter, and each node again through its Toxiproxy client link (job client_path).
                if health == {"node1:8080": "up", "node2:8080": "up", "redis-exporter:9121": "up",
                              "toxiproxy:18001": "up", "toxiproxy:18002": "up"}:
                    break
                assert time.monotonic() < deadline, f"targets never all up: {health}"
                time.sleep(0.5)  # poll
            # Through the client link the node's whole page arrives, and none of it is kept (only `up`).
            query = lambda q: {r["metric"]["node"]: float(r["value"][1]) for r in http.get(
                f"{endpoints['prometheus']}/api/v1/query", params={"query": q}).json()["data"]["result"]}
            scraped = query('scrape_samples_scraped{job="client_path"}')
            assert set(scraped) == {"node1", "node2"} and all(v > 0 for v in scraped.values()), scraped
            assert query('scrape_samples_post_metric_relabeling{job="client_path"}') == {"node1": 0.0, "node2": 0.0}
            config = http.get(f"{endpoints['prometheus']}/api/v1/status/config").json()["data"]["yaml"]
            assert "scrape_interval: 1s500ms" in config  # Prometheus normalises 1500ms
            assert http.get(f"{endpoints['alertsink']}/notifications").json()["notifications"] == []
    finally:
        cluster.down()
    assert leftovers(cluster.run_id) == []
