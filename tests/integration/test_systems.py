"""Systems under test on real Docker: Centrifugo selected by name, the project's node declared through
the generic form as if it were a foreign image, and the probes as measured facts."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import httpx
import pytest

from tests.integration.conftest import leftovers
from harness.cluster.cluster import SYSTEM_DIRS
from harness.journal import read_journal
from harness.runner import Runner
from harness.scenario import load
from harness.workload import protocols
from harness.workload.client import App

pytestmark = pytest.mark.integration


def _harness(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=timeout)


def test_up_system_centrifugo_starts_real_centrifugo_on_redis_through_toxiproxy(images):
    up = _harness("up", "--system", "centrifugo", "--nodes", "2", "--json")
    assert up.returncode == 0, up.stderr
    e = json.loads(up.stdout)
    try:
        assert (e["system"], e["protocol"], e["ws_path"]) == ("centrifugo", "centrifugo", "/connection/websocket")
        metrics = httpx.get(e["nodes"][0]["direct"] + "/metrics", trust_env=False).text
        assert 'centrifugo_node_build{version="6.9.1 OSS"} 1' in metrics
        ps = json.loads(_harness("ps", "--json").stdout)
        assert next(c for c in ps if c["project"] == e["project"])["system"] == "centrifugo"

        async def cross_node() -> None:
            # Published on node1's API, received on node2's socket: the message crossed the Redis engine.
            app, driver = App(**e["apps"][0]), protocols.driver(e["protocol"], e["ws_path"])
            async with driver.connect(e["nodes"][1]["ws"], app, "t") as connection, \
                    httpx.AsyncClient(trust_env=False) as http:
                await connection.request_subscribe("hx-t")
                assert (await connection.next_incoming(5)).kind == "subscribed"
                answer = await driver.publish(http, e["nodes"][0]["http"], app, [("hx-t", '{"hello": 1}')])
                assert (answer.status, answer.error) == (200, None)
                found = await connection.next_incoming(5)
                assert (found.kind, found.channel, found.data) == ("message", "hx-t", {"hello": 1})

        asyncio.run(cross_node())
        # Its Redis is the harness's through Toxiproxy: node1's link disabled, node1's publishes fail.
        httpx.post(e["toxiproxy"] + "/proxies/node1_redis", json={"enabled": False}, trust_env=False).raise_for_status()
        assert _publish_fails_soon(e, node=0), "publishes through node1 kept succeeding with its Redis link down"
    finally:
        down = _harness("down", e["project"])
        assert down.returncode == 0, down.stderr
    assert leftovers(e["run_id"]) == []


def test_centrifugo_nodes_start_only_once_redis_is_healthy(make_cluster):
    """Centrifugo exits at start when Redis does not answer: its nodes wait for Redis's healthcheck, whose
    first passing probe (the one that got PONG) ended before any node's container started."""
    import docker
    from harness import systems
    from tests.integration.conftest import docker_time

    cluster, e = make_cluster(2, system=systems.resolve("centrifugo"))
    client = docker.from_env()
    try:
        state = {name: client.api.inspect_container(f"{e.project}-{name}-1")["State"] for name in ("redis", "node1", "node2")}
    finally:
        client.close()
    answered = [docker_time(entry["End"]) for entry in state["redis"]["Health"]["Log"] if entry["Output"].strip() == "PONG"]
    assert len(answered) == 1, state["redis"]["Health"]      # asked until it answered once, then idle
    for node in ("node1", "node2"):
        assert docker_time(state[node]["StartedAt"]) > answered[0], (node, state[node]["StartedAt"], state["redis"]["Health"])
        assert cluster.start_timings["started_s"][node] > cluster.start_timings["started_s"]["redis"]


def _publish_fails_soon(e: dict, node: int, within_s: float = 15.0) -> bool:
    """Whether a publish through the node is refused (an API error or HTTP error) before the deadline."""
    app, driver = App(**e["apps"][0]), protocols.driver(e["protocol"], e["ws_path"])

    async def poll() -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        async with httpx.AsyncClient(trust_env=False, timeout=3.0) as http:
            while loop.time() < deadline:
                try:
                    answer = await driver.publish(http, e["nodes"][node]["http"], app, [("hx-t", "{}")])
                    if answer.error:
                        return True
                except httpx.HTTPError:
                    return True
                await asyncio.sleep(0.2)  # poll interval
        return False

    return asyncio.run(poll())


GENERIC = """
name: generic-node
description: The project's node declared as if it were a foreign image, on another port.
system:
  image: {image}
  protocol: pusher
  http_port: 9090
  health: /healthz
  ready: /readyz
  env:
    PORT: 9090
    NODE_NAME: "{{node}}"
    REDIS_URL: "redis://{{redis}}/0"
    UPSTREAM_URL: "http://{{upstream}}"
probes:
  - {{name: missing, path: /no-such-path, node: node1}}
cluster: {{nodes: 2}}
workload:
  publish: {{rate: 10, channels: 1}}
  subscribe: {{per_node: 1}}
  grace: 1s
phases:
  - {{name: steady, duration: 5s}}
  - name: slow-redis
    duration: 6s
    faults: [{{kind: latency, target: redis, latency: 200}}]
  - name: node2-stopped
    duration: 8s
    faults: [{{kind: stop, target: node2}}]
expect:
  - "steady: delivery.ratio == 1"
  - "steady: probe.health.ok_ratio == 1"
  - "steady: probe.ready.ok_ratio == 1"
  - "slow-redis: delivery.latency_ms.p50 >= steady.delivery.latency_ms.p50 + 150"
  - "node2-stopped: probe.health.ok_ratio <= 0.75"
  - "run: probe.missing.ok_ratio == 0"
"""


def test_generic_form_runs_the_projects_node_as_a_foreign_image_and_probes_measure_it(images, tmp_path):
    path = tmp_path / "generic.yaml"
    path.write_text(GENERIC.format(image=images["pubsub"]))
    scenario = load(path)
    assert (scenario.system.name, scenario.system.builtin_image) == ("custom", False)
    result = asyncio.run(Runner(scenario, tmp_path / "out", log=lambda m: None).run())
    failed = [v for v in result.summary["expectations"] if not v["passed"]]
    assert result.exit_status == 0, (result.summary.get("error"), failed)
    events = read_journal(tmp_path / "out" / "journal.jsonl")
    start = next(e for e in events if e["kind"] == "run_start")
    assert (start["system"]["name"], start["system"]["http_port"]) == ("custom", 9090)
    answers = [e for e in events if e["kind"] == "probe"]
    assert {(e["name"], e["node"]) for e in answers} == {("health", "node1"), ("health", "node2"),
                                                          ("ready", "node1"), ("ready", "node2"), ("missing", "node1")}
    assert all(set(e) >= {"name", "node", "ok", "status", "latency_ms", "error"} for e in answers)
    missing = next(e for e in answers if e["name"] == "missing")
    assert (missing["ok"], missing["status"], missing["error"]) == (False, 404, "HTTP 404")
    stopped = [e for e in answers if e["node"] == "node2" and not e["ok"] and e["status"] is None]
    assert stopped and all(e["error"] for e in stopped)    # a transport error's name, e.g. ConnectError
    # Torn down with its per-node env files.
    assert leftovers(start["run_id"]) == [] and not (SYSTEM_DIRS / start["run_id"]).exists()
