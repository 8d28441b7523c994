"""Each Redis failure mode of docs/node.md ("Failure policy") under both policies, and an upstream outage with a warm
and a cold cache, each created for real (CONFIG SET, an unwritable dir, SIGKILL, SIGSTOP, the upstream's
fault switch) and asserted against the table in docs/node.md, including its metric."""
from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Iterator

import httpx
import pytest
import redis

from drive import HAPP, LIMITED, App, PusherSocket, api, channel_name, get_signed, no_event, publish, run
from nodekit import Node, Redis, Spawner, metric, wait_until

pytestmark = pytest.mark.node


def admin(r: Redis) -> redis.Redis:
    return redis.Redis(port=r.port, decode_responses=True, socket_timeout=2)


@contextlib.contextmanager
def wrong_password(r: Redis) -> Iterator[None]:
    client = admin(r)
    client.config_set("requirepass", "changed")
    # Connections authenticated before stay authenticated: drop them so every client must log in again.
    client.execute_command("CLIENT", "KILL", "SKIPME", "yes")
    client.close()
    yield


@contextlib.contextmanager
def out_of_memory(r: Redis) -> Iterator[None]:
    client = admin(r)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", "1")
    client.close()
    yield


@contextlib.contextmanager
def misconf(r: Redis) -> Iterator[None]:
    """RDB saves fail (a dir the non-root server may not write) with stop-writes-on-bgsave-error on."""
    with tempfile.TemporaryDirectory() as readonly:
        os.chmod(readonly, 0o755)  # owned by root: the server, running as nobody, cannot write here
        client = admin(r)
        client.config_set("dir", readonly)
        client.config_set("save", "1 1")
        client.config_set("stop-writes-on-bgsave-error", "yes")
        client.set("hx:test:dirty", "1")
        client.bgsave()
        wait_until(lambda: client.info("persistence")["rdb_last_bgsave_status"] == "err", 10, "bgsave to fail")
        client.close()
        yield


@contextlib.contextmanager
def refused(r: Redis) -> Iterator[None]:
    r.proc.kill()
    yield


@contextlib.contextmanager
def slow(r: Redis) -> Iterator[None]:
    r.proc.popen.send_signal(signal.SIGSTOP)  # accepts TCP, answers nothing: only timeouts reveal it
    try:
        yield
    finally:
        r.proc.popen.send_signal(signal.SIGCONT)


@dataclass(frozen=True)
class Mode:
    """A failure mode and what docs/node.md says each policy does with a publish to a warm node."""

    name: str
    make: Any
    kind: str                 # the class named in 503 bodies and metric labels
    publish_works: bool       # PUBLISH still succeeds (so fan-out crosses Redis)
    degraded: tuple[str, ...]  # reasons counted under `degrade`


MODES = [
    Mode("wrong password", wrong_password, "NOAUTH", False, ("app_from_memory", "counter_skipped", "local_delivery")),
    Mode("maxmemory exhausted", out_of_memory, "OOM", True, ("counter_skipped",)),
    Mode("MISCONF", misconf, "MISCONF", True, ("counter_skipped",)),
    Mode("refused", refused, "refused", False, ("app_from_memory", "counter_skipped", "local_delivery")),
    Mode("slow", slow, "timeout", False, ("app_from_memory", "counter_skipped", "local_delivery")),
]


@pytest.mark.parametrize("policy", ["strict", "degrade"])
@pytest.mark.parametrize("mode", MODES, ids=[m.name for m in MODES])
def test_redis_failure_mode(spawn: Spawner, mode: Mode, policy: str):
    r = spawn.redis(as_nobody=mode.name == "MISCONF")
    node = spawn.node(r.url, REDIS_POLICY=policy)
    channel = channel_name()

    async def warm_up_and_subscribe() -> None:
        # Warms the Redis cache and the in-process LRU, and opens the socket before the fault.
        async with api() as http:
            assert (await publish(http, node.url, HAPP, channel, "warm", "up")).status_code == 200

    run(warm_up_and_subscribe)

    async def during_fault() -> tuple[httpx.Response, dict[str, Any] | None]:
        async with api() as http, PusherSocket(node.ws, HAPP.key) as socket:
            await socket.subscribe(channel)
            with mode.make(r):
                response = await publish(http, node.url, HAPP, channel, "e", "during-fault")
                event = await no_event(socket, 3.0)
                return response, event

    response, event = run(during_fault)
    counted = f'pubsub_cache_operations_total{{op="incr",result="error_{mode.kind}"}}'
    if policy == "strict":
        assert response.status_code == 503, response.text
        assert response.json() == {"error": f"redis unavailable: {mode.kind}"}
        assert metric(node, f'pubsub_publish_total{{result="redis_{mode.kind}"}}') == 1
        assert event is None
        assert metric(node, 'pubsub_degraded_total{reason="counter_skipped"}') == 0
    else:
        assert response.status_code == 200, response.text
        assert event is not None and event["data"] == "during-fault"
        for reason in mode.degraded:
            assert metric(node, f'pubsub_degraded_total{{reason="{reason}"}}') >= 1, reason
        assert metric(node, counted) >= 1
        if mode.publish_works:  # delivered through Redis, so every node would have it
            assert metric(node, 'pubsub_degraded_total{reason="local_delivery"}') == 0
            assert metric(node, "pubsub_fanout_published_total") >= 2
    assert node.proc.popen.poll() is None


def test_fanout_subscription_survives_misconf(spawn: Spawner):
    """A Redis in MISCONF answers PING with an error: that is a live link, not a reason to resubscribe."""
    r = spawn.redis(as_nobody=True)
    node = spawn.node(r.url, REDIS_POLICY="degrade", REDIS_TIMEOUT_S="0.3")
    with misconf(r):
        assert wait_until(lambda: metric(node, 'pubsub_fanout_errors_total{kind="MISCONF"}') >= 2, 10,
                          "the subscription's PINGs to be answered with MISCONF")
        samples = []
        deadline = time.monotonic() + 3.0  # longer than the stale allowance (1 + 3 × 0.3 s)
        while time.monotonic() < deadline:
            samples.append(metric(node, "pubsub_fanout_subscribed"))
            time.sleep(0.05)  # poll
        assert set(samples) == {1}, "the fan-out subscription was torn down during MISCONF"


def test_readyz_names_each_failure_whatever_the_policy(spawn: Spawner):
    r = spawn.redis()
    node = spawn.node(r.url, REDIS_POLICY="degrade")
    with out_of_memory(r):
        assert wait_until(lambda: httpx.get(f"{node.url}/readyz", timeout=3).status_code == 503, 10, "503")
        assert httpx.get(f"{node.url}/readyz", timeout=3).json()["failed"] == "redis: OOM"


# --- the upstream ----------------------------------------------------------------------------------

def fail_upstream(url: str, **body: Any) -> None:
    assert httpx.post(f"{url}/admin/fail", json=body, timeout=3).status_code == 200


async def publish_once(node: Node) -> httpx.Response:
    async with api() as http:
        return await publish(http, node.url, HAPP, channel_name(), "e", "d")


def wait_cache_expired(r: Redis) -> None:
    client = admin(r)
    try:
        wait_until(lambda: client.exists(f"hx:app:id:{HAPP.id}") == 0, 10, "app cache entry to expire")
    finally:
        client.close()


@pytest.mark.parametrize("policy", ["strict", "degrade"])
def test_upstream_5xx_with_warm_and_cold_cache(spawn: Spawner, policy: str):
    upstream = spawn.upstream()
    r = spawn.redis()
    node = spawn.node(r.url, upstream_url=upstream, UPSTREAM_POLICY=policy, APP_CACHE_TTL_S="1")
    assert run(lambda: publish_once(node)).status_code == 200  # warm: in Redis and in the LRU
    fail_upstream(upstream, status=503)
    wait_cache_expired(r)  # Redis no longer has it: the lookup must go upstream
    warm = run(lambda: publish_once(node))
    if policy == "strict":
        assert warm.status_code == 503 and warm.json() == {"error": "upstream unavailable: 5xx"}
        assert metric(node, 'pubsub_degraded_total{reason="app_from_memory"}') == 0
    else:
        assert warm.status_code == 200, warm.text
        assert metric(node, 'pubsub_degraded_total{reason="app_from_memory"}') >= 1
    assert metric(node, 'pubsub_upstream_requests_total{result="error_5xx"}') >= 1

    cold = spawn.node(r.url, upstream_url=upstream, UPSTREAM_POLICY=policy, ready=False)
    wait_until(lambda: httpx.get(f"{cold.url}/healthz", timeout=1).status_code == 200, 10, "cold node up")
    response = run(lambda: publish_once(cold))
    assert response.status_code == 503 and response.json() == {"error": "upstream unavailable: 5xx"}

    assert httpx.post(f"{upstream}/admin/recover", timeout=3).json()["status"] is None
    assert run(lambda: publish_once(cold)).status_code == 200


@pytest.mark.parametrize("policy", ["strict", "degrade"])
def test_slow_upstream_times_out(spawn: Spawner, policy: str):
    upstream = spawn.upstream()
    r = spawn.redis()
    node = spawn.node(r.url, upstream_url=upstream, UPSTREAM_POLICY=policy, APP_CACHE_TTL_S="1")
    assert run(lambda: publish_once(node)).status_code == 200
    assert httpx.post(f"{upstream}/admin/latency", json={"ms": 3000}, timeout=3).status_code == 200
    wait_cache_expired(r)
    response = run(lambda: publish_once(node))
    assert metric(node, 'pubsub_upstream_requests_total{result="error_timeout"}') >= 1
    if policy == "strict":
        assert response.json() == {"error": "upstream unavailable: timeout"}
    else:
        assert response.status_code == 200


def test_upstream_fault_switch_expires_and_validates(spawn: Spawner):
    upstream = spawn.upstream()
    fail_upstream(upstream, status=502, for_s=0.5)
    assert httpx.get(f"{upstream}/healthz", timeout=3).status_code == 502
    wait_until(lambda: httpx.get(f"{upstream}/healthz", timeout=3).status_code == 200, 5, "fault to expire")
    for bad in ({"status": 404}, {"status": "503"}, {"status": 503, "for_s": -1}):
        response = httpx.post(f"{upstream}/admin/fail", json=bad, timeout=3)
        assert response.status_code == 400 and response.json()["error"], bad
    assert httpx.post(f"{upstream}/admin/latency", json={"ms": -5}, timeout=3).status_code == 400


def test_degraded_node_keeps_serving_sockets_and_channels_locally(spawn: Spawner):
    """Redis gone under REDIS_POLICY=degrade: handshakes from the LRU, local delivery, local occupancy."""
    r = spawn.redis()
    node = spawn.node(r.url, REDIS_POLICY="degrade")
    channel = channel_name()

    async def scenario() -> None:
        async with api() as http:
            assert (await publish(http, node.url, HAPP, channel, "warm", "up")).status_code == 200
            with refused(r):
                async with PusherSocket(node.ws, HAPP.key) as socket:  # handshake needs the app: LRU
                    await socket.subscribe(channel)
                    response = await get_signed(http, node.url, HAPP, f"/apps/{HAPP.id}/channels/{channel}",
                                                {"info": "subscription_count"})
                    assert response.json() == {"occupied": True, "subscription_count": 1}
                    assert (await publish(http, node.url, HAPP, channel, "e", "local")).status_code == 200
                    assert (await socket.next_event(5))["data"] == "local"

    run(scenario)
    assert metric(node, 'pubsub_degraded_total{reason="occupancy_local"}') >= 1
    assert metric(node, 'pubsub_degraded_total{reason="local_delivery"}') >= 1


def test_strict_node_refuses_handshakes_while_redis_is_gone(spawn: Spawner):
    r = spawn.redis()
    node = spawn.node(r.url)

    async def scenario() -> str:
        with refused(r):
            with pytest.raises(ConnectionError) as refused_by:
                async with PusherSocket(node.ws, HAPP.key):
                    pass
            return str(refused_by.value)

    message = run(scenario)
    assert "redis unavailable: refused" in message and "4100" in message


def test_app_memory_is_a_bounded_lru(spawn: Spawner):
    """APP_MEMORY_SIZE=2 holds one app (by id and by key): with Redis and the upstream both failing,
    the most recently used app is still served and the evicted one is not."""
    upstream = spawn.upstream()
    r = spawn.redis()
    node = spawn.node(r.url, upstream_url=upstream, REDIS_POLICY="degrade", UPSTREAM_POLICY="degrade",
                      APP_MEMORY_SIZE="2")

    async def publish_as(app: App) -> httpx.Response:
        async with api() as http:
            return await publish(http, node.url, app, channel_name(), "e", "d")

    assert run(lambda: publish_as(HAPP)).status_code == 200
    assert run(lambda: publish_as(LIMITED)).status_code == 200  # evicts HAPP
    fail_upstream(upstream, status=500)
    with refused(r):
        assert run(lambda: publish_as(LIMITED)).status_code == 200
        evicted = run(lambda: publish_as(HAPP))
    assert evicted.status_code == 503 and evicted.json() == {"error": "upstream unavailable: 5xx"}
