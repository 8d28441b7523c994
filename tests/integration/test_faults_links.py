"""Toxiproxy faults on real clusters: the client API, client-facing links, dependency links, the upstream."""
from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from harness.faults.catalog import FAULT_KINDS
from harness.faults.toxiproxy import ToxiproxyClient, ToxiproxyError
from tests.integration.steady import faults_on, publish_answer, readyz, steady, until_readyz

pytestmark = pytest.mark.integration

# One example of every toxic kind's parameters.
TOXICS = {"latency": {"latency": 10, "jitter": 5}, "bandwidth": {"rate": 1000}, "timeout": {"timeout": 60000},
          "reset_peer": {"timeout": 60000}, "slow_close": {"delay": 10},
          "slicer": {"average_size": 100, "size_variation": 10, "delay": 10}, "limit_data": {"bytes": 1_000_000}}


async def _healthz_ms(url: str) -> float:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        started = time.monotonic()
        response = await http.get(url + "/healthz")
        assert response.status_code == 200
        return (time.monotonic() - started) * 1000


def test_toxiproxy_client_covers_the_api(cluster):
    """Every call of the client against the cluster's real Toxiproxy, errors included; every toxic kind."""
    _, e = cluster
    assert set(TOXICS) == {name for name, kind in FAULT_KINDS.items() if kind.family == "toxic"}

    async def scenario():
        async with ToxiproxyClient(e.toxiproxy) as tp:
            assert await tp.version()  # "git": `go install` builds without the release ldflags
            proxies = await tp.proxies()
            assert {f"node{i}_{link}" for i in (1, 2) for link in ("redis", "upstream", "client")} <= set(proxies)
            assert proxies["node1_client"].upstream == "node1:8080"
            made = await tp.create_proxy("hx_test", "127.0.0.1:0", "redis:6379")
            assert made.enabled and made.listen.startswith("127.0.0.1:")
            with pytest.raises(ToxiproxyError) as exists:
                await tp.create_proxy("hx_test", "127.0.0.1:0", "redis:6379")
            assert exists.value.status == 409 and "exists" in str(exists.value)
            populated = await tp.populate([{"name": "hx_test2", "listen": "127.0.0.1:0", "upstream": "upstream:8080"}])
            assert [p.name for p in populated] == ["hx_test2"]
            assert not (await tp.update_proxy("hx_test", enabled=False)).enabled
            toxic = await tp.add_toxic("hx_test", "slow", "latency", {"latency": 50}, "upstream", 0.5)
            assert (toxic.type, toxic.stream, toxic.toxicity) == ("latency", "upstream", 0.5)
            updated = await tp.update_toxic("hx_test", "slow", {"latency": 80}, toxicity=1.0)
            assert updated.attributes["latency"] == 80 and updated.toxicity == 1.0
            assert [t.name for t in await tp.toxics("hx_test")] == ["slow"]
            assert (await tp.toxic("hx_test", "slow")).attributes["latency"] == 80
            await tp.reset()
            after = await tp.proxy("hx_test")
            assert after.enabled and after.toxics == ()
            await tp.delete_proxy("hx_test")
            await tp.delete_proxy("hx_test2")
            with pytest.raises(ToxiproxyError) as missing:
                await tp.proxy("hx_test")
            assert missing.value.status == 404 and "not found" in str(missing.value)
            with pytest.raises(ToxiproxyError, match="400"):
                await tp.add_toxic("node1_redis", "bad", "no-such-toxic", {})

        # Every toxic kind, on the upstream stream with a toxicity: Toxiproxy answers with the
        # attributes it understood, so a misspelt attribute name would show here.
        async with faults_on(e) as fault:
            for kind, params in TOXICS.items():
                spec = (await fault(kind=kind, target="node1.upstream", stream="upstream", toxicity=0.5,
                                    **params)).spec
                async with ToxiproxyClient(e.toxiproxy) as tp:
                    toxic = await tp.toxic("node1_upstream", f"hx-{kind}")
                assert (toxic.type, toxic.stream, toxic.toxicity) == (kind, "upstream", 0.5)
                assert toxic.attributes == spec.params, kind
        async with ToxiproxyClient(e.toxiproxy) as tp:
            assert await tp.toxics("node1_upstream") == []

    asyncio.run(scenario())


def test_client_link_faults_hit_one_node_and_dependency_links_show_in_readyz(cluster):
    """node1's clients get slow, node2's get reset, node1's vanish; nodes name a cut Redis link and an
    upstream answering 5xx in /readyz and publishes; every revert gives the steady state back."""
    _, e = cluster
    node1, node2 = e.nodes

    async def scenario():
        await steady(e)
        async with faults_on(e) as fault:
            await fault(kind="latency", target="node1.client", latency=300)
            assert await _healthz_ms(node1.http) >= 300          # through the slowed proxy
            assert await _healthz_ms(node1.direct) < 200          # the node itself is fine
            assert await _healthz_ms(node2.http) < 200            # and the other node's clients too

            await fault(kind="reset_peer", target="node2.client", timeout=0)
            with pytest.raises(httpx.TransportError):
                await _healthz_ms(node2.http)

            down = await fault(kind="down", target="node1.client")
            assert "node1_client" in down.evidence
            # docker-proxy accepts on 127.0.0.1, then finds the listener closed: the client is cut off.
            with pytest.raises((httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)):
                await _healthz_ms(node1.http)
        await steady(e)

        async with faults_on(e) as fault:
            await fault(kind="down", target="node2.redis")        # node2 cut off from Redis only
            await until_readyz(node2.http, "redis: refused")
            assert (await readyz(node1.http))[0] == 200
            assert await publish_answer(e, 1) == (503, "redis unavailable: refused")

            await fault(kind="timeout", target="node1.upstream", timeout=0)   # blackholed
            await until_readyz(node1.http, "upstream: timeout")
        await steady(e)

        async with faults_on(e) as fault:
            failing = await fault(kind="upstream-5xx", status=503)
            assert "-> 503" in failing.evidence
            for node in e.nodes:
                await until_readyz(node.http, "upstream: 5xx")
            # The second app was never looked up: its credentials must come from the failing upstream.
            assert await publish_answer(e, 0, app=1) == (503, "upstream unavailable: 5xx")
        await steady(e)

    asyncio.run(scenario())
