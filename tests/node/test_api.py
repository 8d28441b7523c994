"""The node's HTTP API, driven by the harness client: every route with valid and invalid auth, the
public vectors, each limit, malformed bodies."""
from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from drive import (DISABLED, HAPP, LIMITED, App, PusherSocket, api, channel_name, get_signed, post_signed,
                   presence_join, publish, publish_batch, run)
from harness.workload.signing import signed_params
from nodekit import PUBSUB_DIR, metric

pytestmark = pytest.mark.node

WRONG_SECRET = App(HAPP.id, HAPP.key, "0" * 20)
UNKNOWN = App("999999", HAPP.key, HAPP.secret)


def route_calls(app: App, channel: str) -> dict[str, tuple[str, str, dict | None, dict | None]]:
    """route -> (method, path, body, query) of a valid request to every API route."""
    return {
        "events": ("POST", f"/apps/{app.id}/events", {"name": "e", "channel": channel, "data": "d"}, None),
        "batch_events": ("POST", f"/apps/{app.id}/batch_events",
                         {"batch": [{"name": "e", "channel": channel, "data": "d"}]}, None),
        "channels": ("GET", f"/apps/{app.id}/channels", None, {"filter_by_prefix": "t-"}),
        "channel": ("GET", f"/apps/{app.id}/channels/{channel}", None, {"info": "subscription_count"}),
    }


async def call(http: httpx.AsyncClient, base: str, app: App, method: str, path: str, body: dict | None,
               query: dict | None) -> httpx.Response:
    if method == "POST":
        return await post_signed(http, base, app, path, body)
    return await get_signed(http, base, app, path, query)


@pytest.mark.parametrize("route", ["events", "batch_events", "channels", "channel"])
@pytest.mark.parametrize("app, status, needle", [
    (HAPP, 200, None), (WRONG_SECRET, 401, "signature"), (UNKNOWN, 404, "unknown app"),
    (DISABLED, 403, "disabled"),
])
def test_every_route_checks_auth(cluster, route, app, status, needle):
    base = cluster.nodes[0].url

    async def scenario() -> httpx.Response:
        async with api() as http:
            method, path, body, query = route_calls(app, channel_name())[route]
            return await call(http, base, app, method, path, body, query)

    response = run(scenario)
    assert response.status_code == status, response.text
    if needle:
        assert needle in response.json()["error"]


@pytest.mark.parametrize("route", ["events", "channels"])
@pytest.mark.parametrize("tamper, needle", [
    (lambda p: {k: v for k, v in p.items() if k != "auth_signature"}, "missing auth parameter"),
    (lambda p: {**p, "auth_timestamp": str(int(time.time()) - 700)}, "auth_timestamp"),
    (lambda p: {**p, "auth_timestamp": str(int(time.time()) + 700)}, "auth_timestamp"),
    (lambda p: {**p, "auth_version": "2.0"}, "auth_version"),
    (lambda p: {**p, "auth_key": "wrong"}, "auth_key"),
    (lambda p: {**p, "extra": "unsigned"}, "signature"),
])
def test_tampered_queries_get_401(cluster, route, tamper, needle):
    method, path, body, query = route_calls(HAPP, channel_name())[route]
    raw = json.dumps(body).encode() if body else b""
    params = tamper(signed_params(HAPP.key, HAPP.secret, method, path, raw, extra=query))
    response = httpx.request(method, cluster.nodes[0].url + path, params=params, content=raw or None, timeout=5)
    assert response.status_code == 401, response.text
    assert needle in response.json()["error"]


@pytest.mark.parametrize("offset", [-500, 500])
def test_timestamps_inside_the_window_are_accepted(cluster, offset):
    path = f"/apps/{HAPP.id}/channels"
    params = signed_params(HAPP.key, HAPP.secret, "GET", path, timestamp=int(time.time()) + offset)
    assert httpx.get(cluster.nodes[0].url + path, params=params, timeout=5).status_code == 200


def test_body_md5_must_match_the_body(cluster):
    path = f"/apps/{HAPP.id}/events"
    params = signed_params(HAPP.key, HAPP.secret, "POST", path, b'{"other":1}')
    response = httpx.post(cluster.nodes[0].url + path, params=params,
                          content=json.dumps({"name": "e", "channel": "c", "data": "d"}), timeout=5)
    assert response.status_code == 401 and "body_md5" in response.json()["error"]


def test_public_vectors_verify_in_the_node():
    """docs/node.md ("HTTP API"): the Pusher docs' request and channel vectors, checked by the node's own code."""
    import sys
    sys.path.insert(0, str(PUBSUB_DIR))
    try:
        from pubsub.auth import channel_signature, verify_request
    finally:
        sys.path.remove(str(PUBSUB_DIR))
    body = b'{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}'
    params = {"auth_key": "278d425bdf160c739803", "auth_timestamp": "1353088179", "auth_version": "1.0",
              "body_md5": "ec365a775a4cd0599faeb73354201b6f",
              "auth_signature": "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"}
    verify_request("278d425bdf160c739803", "7ad3773142a6692b25b8", "POST", "/apps/3/events", params, body,
                   now=1353088179)
    assert channel_signature("278d425bdf160c739803", "7ad3773142a6692b25b8", "1234.1234", "private-foobar",
                             None) == ("278d425bdf160c739803:"
                                       "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4")
    # And the harness's signer produces the same query (the two implementations agree).
    assert signed_params("278d425bdf160c739803", "7ad3773142a6692b25b8", "POST", "/apps/3/events", body,
                         timestamp=1353088179) == params


ONE = {"name": "e", "channel": "c", "data": "d"}


@pytest.mark.parametrize("path, body, status, needle", [
    ("events", b"{not json", 400, "JSON"),
    ("events", [1, 2], 400, "object"),
    ("events", {"name": "e", "data": "d"}, 400, "channel"),
    ("events", {**ONE, "channels": ["a"]}, 400, "exactly one"),
    ("events", {**ONE, "data": {"not": "a string"}}, 400, "'data'"),
    ("events", {**ONE, "name": ""}, 400, "'name'"),
    ("events", {**ONE, "name": "n" * 201}, 400, "'name'"),
    ("events", {**ONE, "channel": "sp ace"}, 400, "channel name"),
    ("events", {**ONE, "channel": "c" * 165}, 400, "channel name"),
    ("events", {"name": "e", "data": "d", "channels": [f"c{i}" for i in range(101)]}, 400, "1 to 100"),
    ("events", {"name": "e", "data": "d", "channels": ["a", "a"]}, 400, "duplicates"),
    ("events", {**ONE, "socket_id": "abc"}, 400, "socket_id"),
    ("events", {**ONE, "info": "nonsense"}, 400, "info"),
    ("events", {**ONE, "info": "user_count"}, 400, "presence"),
    ("events", {**ONE, "data": "x" * (10 * 1024 + 1)}, 413, "10240"),
    ("events", {**ONE, "data": "x" * (300 * 1024)}, 413, "too large"),
    ("batch_events", {"batch": []}, 400, "1 to 10"),
    ("batch_events", {"batch": [ONE] * 11}, 400, "1 to 10"),
    ("batch_events", {"events": [ONE]}, 400, "'batch'"),
    ("batch_events", {"batch": [ONE, {"name": "e", "channels": ["c"], "data": "d"}]}, 400, "batch[1]"),
    ("batch_events", {"batch": [ONE, {**ONE, "data": "x" * (10 * 1024 + 1)}]}, 413, "10240"),
])
def test_malformed_and_oversized_bodies(cluster, path, body, status, needle):
    node = cluster.nodes[0]
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    api_path = f"/apps/{HAPP.id}/{path}"
    params = signed_params(HAPP.key, HAPP.secret, "POST", api_path, raw)
    response = httpx.post(node.url + api_path, params=params, content=raw, timeout=5)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert needle in response.json()["error"], response.text


@pytest.mark.parametrize("path, query, needle", [
    ("channels", {"info": "user_count"}, "presence-"),
    ("channels", {"info": "bogus"}, "unknown info"),
    ("channels/bad%20name", None, "channel name"),
    ("channels/public-x", {"info": "user_count"}, "presence-"),
])
def test_bad_channel_queries_get_400(cluster, path, query, needle):
    async def scenario() -> httpx.Response:
        async with api() as http:
            return await get_signed(http, cluster.nodes[0].url, HAPP, f"/apps/{HAPP.id}/{path}", query)

    response = run(scenario)
    assert response.status_code == 400 and needle in response.json()["error"], response.text


def test_publish_quota_from_the_app_record_gives_403(cluster):
    """apps.json gives app 100003 publish_per_minute=5, counted in Redis across nodes."""
    nodes = cluster.nodes

    async def scenario() -> list[httpx.Response]:
        async with api() as http:
            # Alternate nodes: the counter is per app in Redis, not per node. A minute boundary can reset
            # it once, so up to 2 * 5 successes may precede the first 403.
            out = []
            for i in range(12):
                out.append(await publish(http, nodes[i % 3].url, LIMITED, "quota", "e", "d"))
                if out[-1].status_code == 403:
                    break
            return out

    before = metric(nodes[0], 'pubsub_publish_total{result="over_quota"}')
    responses = run(scenario)
    assert responses[-1].status_code == 403, [r.status_code for r in responses]
    assert "quota of 5 events per minute" in responses[-1].json()["error"]
    assert all(r.status_code == 200 for r in responses[:-1])
    assert 5 <= len(responses) - 1 <= 10
    over = sum(metric(n, 'pubsub_publish_total{result="over_quota"}') for n in nodes)
    assert over >= before + 1


def test_batch_events_deliver_in_order_with_info(cluster):
    node1, node2 = cluster.nodes[:2]
    a, b = channel_name(), channel_name()

    async def scenario() -> None:
        async with PusherSocket(node2.ws, HAPP.key) as socket, api() as http:
            await socket.subscribe(a)
            await socket.subscribe(b)
            response = await publish_batch(http, node1.url, HAPP, [
                {"name": "one", "channel": a, "data": "1", "info": "subscription_count"},
                {"name": "two", "channel": b, "data": "2"},
                {"name": "three", "channel": a, "data": "3"},
            ])
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["batch"][1] == {} and body["batch"][2] == {}
            assert body["batch"][0]["subscription_count"] >= 0
            got = [await socket.next_event(5) for _ in range(3)]
            assert [(e["event"], e["channel"], e["data"]) for e in got] == [("one", a, "1"), ("two", b, "2"),
                                                                           ("three", a, "3")]
            plain = await publish_batch(http, node1.url, HAPP, [{"name": "x", "channel": a, "data": "x"}])
            assert plain.json() == {}

    run(scenario)


def test_channels_api_is_cluster_wide(cluster):
    """Subscribers on node2 and node3, queries on node1: occupancy travels through Redis."""
    node1, node2, node3 = cluster.nodes
    public, presence = channel_name("t"), channel_name("presence-t")

    async def scenario() -> None:
        async with api() as http, PusherSocket(node2.ws, HAPP.key) as s2, PusherSocket(node3.ws, HAPP.key) as s3:
            await s2.subscribe(public)
            await s3.subscribe(public)
            await presence_join(s2, presence, "ada")
            await presence_join(s3, presence, "bob")

            async def query(path: str, q: dict | None = None) -> dict:
                response = await get_signed(http, node1.url, HAPP, f"/apps/{HAPP.id}/{path}", q)
                assert response.status_code == 200, response.text
                return response.json()

            deadline = asyncio.get_running_loop().time() + 5
            while True:
                one = await query(f"channels/{public}", {"info": "subscription_count"})
                if one == {"occupied": True, "subscription_count": 2} or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.05)  # poll
            assert one == {"occupied": True, "subscription_count": 2}
            assert await query(f"channels/{presence}", {"info": "user_count,subscription_count"}) == {
                "occupied": True, "user_count": 2, "subscription_count": 2}
            listed = await query("channels", {"filter_by_prefix": "presence-", "info": "user_count"})
            assert listed["channels"][presence] == {"user_count": 2}
            assert public not in listed["channels"]
            everything = await query("channels")
            assert everything["channels"][public] == {} and presence in everything["channels"]
            assert await query(f"channels/{channel_name()}") == {"occupied": False}
            # events with info answer with the cluster-wide count too
            response = await post_signed(http, node1.url, HAPP, f"/apps/{HAPP.id}/events", {
                "name": "e", "channels": [public], "data": "d", "info": "subscription_count"})
            assert response.json() == {"channels": {public: {"subscription_count": 2}}}

    run(scenario)
