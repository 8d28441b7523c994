"""The walking skeleton on real Docker, Redis and Toxiproxy."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time

import httpx
import pytest

from harness.percentile import percentile
from harness.faults.catalog import validate_fault
from harness.faults.factory import FaultContext, make_fault
from harness.faults.toxiproxy import ToxiproxyClient
from harness.workload.client import PusherSocket, publish

pytestmark = pytest.mark.integration


def test_cluster_is_deeply_ready_and_only_on_loopback(cluster):
    c, endpoints = cluster
    assert endpoints.project == f"hx-{c.run_id}"
    for node in endpoints.nodes:
        assert node.http.startswith("http://127.0.0.1:")
        ready = httpx.get(node.http + "/readyz", trust_env=False)
        assert ready.status_code == 200, ready.text
    assert [a.id for a in endpoints.apps] and all(a.id.isdigit() for a in endpoints.apps)


def test_publish_on_node1_reaches_subscriber_on_node2_once(cluster):
    _, e = cluster
    app = e.apps[0]

    async def scenario():
        async with PusherSocket(e.nodes[1].ws, app.key) as socket, httpx.AsyncClient(trust_env=False) as http:
            await socket.subscribe("cross-node")
            response = await publish(http, e.nodes[0].http, app, "cross-node", "greeting", '{"hello":1}')
            assert response.status_code == 200, response.text
            event = await socket.next_event(5)
            assert (event["event"], event["channel"], event["data"]) == ("greeting", "cross-node", '{"hello":1}')
            with pytest.raises(asyncio.TimeoutError):
                await socket.next_event(0.5)  # exactly once: no second copy arrives

    asyncio.run(scenario())


async def _delivery_latencies(e, count: int) -> list[float]:
    """Publish `count` messages through node1, one at a time, and time their arrival at node2 (ms)."""
    app = e.apps[0]
    out = []
    async with PusherSocket(e.nodes[1].ws, app.key) as socket, httpx.AsyncClient(trust_env=False) as http:
        await socket.subscribe("timed")
        for i in range(count):
            started = time.monotonic()
            response = await publish(http, e.nodes[0].http, app, "timed", "tick", json.dumps({"i": i}))
            assert response.status_code == 200, response.text
            event = await socket.next_event(5)
            assert json.loads(event["data"]) == {"i": i}
            out.append((time.monotonic() - started) * 1000)
    return out


def test_latency_toxic_on_the_redis_link_slows_delivery_by_its_amount(cluster):
    """Only node2's link to Redis is slowed: the one hop node1 → Redis → node2 gains ~200 ms."""
    _, e = cluster
    spec = validate_fault({"kind": "latency", "target": "node2.redis", "latency": 200}, 2, "slow-node2")

    async def scenario():
        before = await _delivery_latencies(e, 10)
        async with ToxiproxyClient(e.toxiproxy) as toxiproxy:
            fault = make_fault(spec, FaultContext(e, toxiproxy, 2))
            await fault.inject()
            await fault.inject()  # idempotent
            assert "hx-slow-node2" in await fault.confirm()
            try:
                during = await _delivery_latencies(e, 10)
            finally:
                await fault.revert()
                await fault.revert()  # idempotent
            assert (await toxiproxy.toxics("node2_redis")) == []
        after = await _delivery_latencies(e, 10)
        return before, during, after

    before, during, after = asyncio.run(scenario())
    gained = percentile(during, 0.5) - percentile(before, 0.5)
    assert 180 <= gained <= 450, f"median delivery went from {percentile(before, 0.5):.1f} to {percentile(during, 0.5):.1f} ms"
    assert percentile(after, 0.5) < percentile(before, 0.5) + 50


def test_two_clusters_at_once_do_not_interfere(make_cluster):
    (a, ea), (b, eb) = make_cluster(1), make_cluster(1)
    assert a.project != b.project and not set(a.ports.values()) & set(b.ports.values())
    app = ea.apps[0]

    async def scenario():
        async with PusherSocket(ea.nodes[0].ws, app.key) as on_a, PusherSocket(eb.nodes[0].ws, app.key) as on_b, \
                httpx.AsyncClient(trust_env=False) as http:
            await on_a.subscribe("shared-name")
            await on_b.subscribe("shared-name")
            assert (await publish(http, ea.nodes[0].http, app, "shared-name", "only-a", "1")).status_code == 200
            assert (await on_a.next_event(5))["event"] == "only-a"
            with pytest.raises(asyncio.TimeoutError):
                await on_b.next_event(1.0)  # b has its own Redis: nothing crosses over

    asyncio.run(scenario())


def test_a_start_that_keeps_failing_leaves_nothing_behind(images, monkeypatch):
    """Redis's port is taken by another process at every attempt: the start retries with new ports, then
    fails naming the cause, and each attempt's network and containers are gone."""
    from harness.cluster import cluster as cluster_module
    from harness.cluster.cluster import Cluster, ClusterError, free_ports
    from tests.integration.conftest import leftovers

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(cluster_module, "free_ports", lambda n: [taken.getsockname()[1], *free_ports(n - 1)])
        cluster = Cluster(nodes=1)
        with pytest.raises(ClusterError, match="service redis: .*(port is already allocated|address already in use)"):
            cluster.up()
    assert leftovers(cluster.run_id) == []


def test_a_start_aborted_while_the_containers_start_leaves_nothing_behind(images):
    from harness.cluster.cluster import Cluster, ClusterError
    from tests.integration.conftest import leftovers

    cluster = Cluster(nodes=1, monitoring=True)
    made: list[str] = []

    def abort_once_something_is_made() -> None:
        # Aborts even if the look-up fails: a start left to finish would hide why the test failed.
        try:
            deadline = time.monotonic() + 60
            while not made and time.monotonic() < deadline:
                made.extend(leftovers(cluster.run_id))
                time.sleep(0.05)  # poll
        finally:
            cluster.abort()

    aborting = threading.Thread(target=abort_once_something_is_made)
    aborting.start()
    try:
        with pytest.raises(ClusterError, match="start aborted"):
            cluster.up()
    finally:
        aborting.join()
    assert made, "nothing was made before the abort: the test did not abort a start under way"
    assert leftovers(cluster.run_id) == []


HEALTH_TEST = """
services:
  db:
    image: "${IMAGE}"
    labels: {io.hx.run-id: "${RUN}", io.hx.scope: "${SCOPE}"}
    healthcheck: {test: [CMD-SHELL, "${CHECK}"], interval: 100ms, start_period: "${START_PERIOD}", retries: 2}
  app:
    image: "${IMAGE}"
    labels: {io.hx.run-id: "${RUN}", io.hx.scope: "${SCOPE}"}
    depends_on: {db: {condition: service_healthy}}
"""


def _start_waiting_for_health(images, tmp_path, check: str, start_period: str):
    """start() on two small Redis containers, `app` waiting for `db`'s healthcheck `check`: what start()
    returned (or raised) and each container's inspected State."""
    import docker
    from harness.cluster.cluster import LABEL_RUN, new_run_id, remove_labelled
    from harness.cluster.start import StartError, start
    from tests.integration.conftest import leftovers

    compose, run_id = tmp_path / "compose.yml", new_run_id()
    compose.write_text(HEALTH_TEST)
    env = {"IMAGE": images["redis"], "RUN": run_id, "SCOPE": os.environ["HX_SCOPE"], "CHECK": check, "START_PERIOD": start_period}
    try:
        try:
            outcome = start(f"hx-{run_id}", ["db", "app"], env, (compose,))
        except StartError as exc:
            outcome = exc
        client = docker.from_env()
        states = {name: client.api.inspect_container(f"hx-{run_id}-{name}-1")["State"] for name in ("db", "app")}
        client.close()
        return outcome, states
    finally:
        remove_labelled({LABEL_RUN: run_id})
        assert leftovers(run_id) == []


def test_a_service_waiting_for_health_starts_once_its_dependency_is_healthy(images, tmp_path):
    from tests.integration.conftest import docker_time

    # Unhealthy at first, healthy from the first probe 1 s or more after the first one.
    check = "[ -e /tmp/first ] || touch /tmp/first; [ $(( $(date +%s) - $(stat -c %Y /tmp/first) )) -ge 2 ]"
    started_at, states = _start_waiting_for_health(images, tmp_path, check, start_period="10s")
    assert started_at["app"] > started_at["db"]
    passed = [docker_time(entry["End"]) for entry in states["db"]["Health"]["Log"] if entry["ExitCode"] == 0]
    assert passed and docker_time(states["app"]["StartedAt"]) > passed[0], (states["db"]["Health"], states["app"])
    # Not a wait that would have happened anyway: the app started well after its dependency did.
    assert docker_time(states["app"]["StartedAt"]) - docker_time(states["db"]["StartedAt"]) >= 1.0


def test_a_dependency_that_turns_unhealthy_fails_the_start_and_its_dependant_is_never_started(images, tmp_path):
    outcome, states = _start_waiting_for_health(images, tmp_path, "echo not yet; exit 1", start_period="1ms")
    assert str(outcome) == ("service app: waiting for db to be healthy: db is unhealthy "
                            "(unhealthy, last health check exit 1: not yet)")
    assert states["db"]["Health"]["Status"] == "unhealthy"
    assert states["app"]["Status"] == "created" and not states["app"]["Running"]
