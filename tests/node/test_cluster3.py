"""Three nodes on one Redis, driven by the harness client: fan-out exactly once, client events,
presence across nodes, occupancy of a dead node expiring."""
from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from drive import HAPP, PusherSocket, api, channel_auth, channel_name, get_signed, no_event, presence_join, publish, run
from nodekit import metric

pytestmark = pytest.mark.node


def test_fanout_across_three_nodes_exactly_once(cluster):
    channel = channel_name()
    count = 20

    async def scenario() -> None:
        async with api() as http, PusherSocket(cluster.nodes[0].ws, HAPP.key) as s1, \
                PusherSocket(cluster.nodes[1].ws, HAPP.key) as s2, PusherSocket(cluster.nodes[2].ws, HAPP.key) as s3:
            sockets = [s1, s2, s3]
            for s in sockets:
                await s.subscribe(channel)
            for i in range(count):  # published round-robin over the three nodes
                response = await publish(http, cluster.nodes[i % 3].url, HAPP, channel, "n", str(i))
                assert response.status_code == 200, response.text
            await publish(http, cluster.nodes[0].url, HAPP, channel, "marker", "end")
            for s in sockets:
                got = []
                while True:
                    event = await s.next_event(5)
                    if event["event"] == "marker":
                        break
                    got.append(event["data"])
                assert got == [str(i) for i in range(count)]  # each once, in order, none missing

    run(scenario)


def private(socket: PusherSocket, channel: str) -> str:
    return channel_auth(HAPP.key, HAPP.secret, socket.socket_id, channel)


def test_client_events_reach_other_nodes_not_the_sender(cluster):
    channel = channel_name("private-t")

    async def scenario() -> None:
        async with PusherSocket(cluster.nodes[0].ws, HAPP.key) as sender, \
                PusherSocket(cluster.nodes[1].ws, HAPP.key) as other, \
                PusherSocket(cluster.nodes[0].ws, HAPP.key) as neighbour:
            for s in (sender, other, neighbour):
                await s.subscribe(channel, auth=private(s, channel))
            await sender.send("client-typing", {"who": "ada"}, channel)
            for receiver in (other, neighbour):
                event = await receiver.next_event(5)
                assert event["event"] == "client-typing" and json.loads(event["data"]) == {"who": "ada"}
            assert await no_event(sender, 0.5) is None  # never echoed

    run(scenario)


@pytest.mark.parametrize("frame, needle", [
    ({"event": "client-x", "channel": "public-c", "data": {}}, "private- or presence-"),
    ({"event": "client-x", "channel": "private-not-subscribed", "data": {}}, "not subscribed"),
    ({"event": "client-x", "data": {}}, "private- or presence-"),
    ({"event": "client-x", "channel": "private-c", "data": "x" * 10_241}, None),
])
def test_client_events_are_checked(cluster, frame, needle):
    async def scenario() -> dict:
        async with PusherSocket(cluster.nodes[0].ws, HAPP.key) as s:
            if frame.get("channel") == "private-c":
                await s.subscribe("private-c", auth=private(s, "private-c"))
            await s.send(frame["event"], frame["data"], frame.get("channel"))
            return await s.next_frame(5)

    error = run(scenario)
    assert error["event"] == "pusher:error", error
    assert needle is None or needle in error["data"]["message"]


def test_client_event_flood_closes_with_4301(spawn):
    node = spawn.node(spawn.redis().url, CLIENT_EVENTS_PER_S="3")
    channel = channel_name("private-t")

    async def scenario() -> int:
        async with PusherSocket(node.ws, HAPP.key) as s:
            await s.subscribe(channel, auth=private(s, channel))
            for _ in range(10):
                try:
                    await s.send("client-flood", "{}", channel)
                except websockets.ConnectionClosed:
                    break
            try:
                for _ in range(100):  # bounded: the server must close long before this
                    await s.next_frame(5)
            except websockets.ConnectionClosed as closed:
                return closed.code
            return None

    assert run(scenario) == 4301
    assert metric(node, 'pubsub_ws_client_events_total{result="rate_limited"}') == 1


def test_idle_client_is_pinged_then_closed_with_4201(spawn):
    node = spawn.node(spawn.redis().url, ACTIVITY_TIMEOUT_S="1", PONG_TIMEOUT_S="0.5")

    async def scenario() -> tuple[str, int]:
        # A bare WebSocket that never answers: the harness client would answer the ping.
        async with websockets.connect(f"{node.ws}/app/{HAPP.key}?protocol=7") as ws:
            hello = json.loads(await ws.recv())
            assert json.loads(hello["data"])["activity_timeout"] == 1
            ping = json.loads(await asyncio.wait_for(ws.recv(), 5))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            return ping["event"], closed.value.code

    assert run(scenario) == ("pusher:ping", 4201)
    assert metric(node, "pubsub_ws_missed_pongs_total") == 1


def test_answering_pings_keeps_the_connection(spawn):
    node = spawn.node(spawn.redis().url, ACTIVITY_TIMEOUT_S="1", PONG_TIMEOUT_S="0.5")

    async def scenario() -> None:
        async with PusherSocket(node.ws, HAPP.key) as s, api() as http:  # next_frame answers pings
            channel = channel_name()
            await s.subscribe(channel)
            assert await no_event(s, 3.0) is None  # three activity periods, pinged and answered
            await publish(http, node.url, HAPP, channel, "still", "here")
            assert (await s.next_event(5))["event"] == "still"

    run(scenario)
    assert metric(node, "pubsub_ws_missed_pongs_total") == 0


def test_oversize_and_binary_frames_get_errors(cluster):
    async def scenario() -> None:
        async with PusherSocket(cluster.nodes[0].ws, HAPP.key) as s:
            assert s.ws is not None
            await s.ws.send("x" * 20_000)
            assert "larger than" in (await s.next_frame(5))["data"]["message"]
            await s.ws.send(b"\x00\x01")
            assert "binary" in (await s.next_frame(5))["data"]["message"]
            await s.send("pusher:ping", {})
            assert (await s.next_frame(5))["event"] == "pusher:pong"

    run(scenario)


async def wait_user_count(http, node, channel: str, count: int) -> None:
    """Poll node's channel API until the presence channel shows `count` users (snapshots propagated)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        response = await get_signed(http, node.url, HAPP, f"/apps/{HAPP.id}/channels/{channel}", {"info": "user_count"})
        if response.json().get("user_count") == count:
            return
        assert loop.time() < deadline, f"user_count never reached {count}: {response.json()}"
        await asyncio.sleep(0.05)  # poll


def test_presence_members_across_nodes(cluster):
    channel = channel_name("presence-t")
    n1, n2, n3 = cluster.nodes

    async def scenario() -> None:
        async with api() as http, PusherSocket(n1.ws, HAPP.key) as ada:
            assert (await presence_join(ada, channel, "ada", {"name": "Ada"}))["ids"] == ["ada"]
            await wait_user_count(http, n2, channel, 1)  # node1's snapshot is visible to node2
            async with PusherSocket(n2.ws, HAPP.key) as bob:
                presence = await presence_join(bob, channel, "bob")
                assert sorted(presence["ids"]) == ["ada", "bob"] and presence["hash"]["ada"] == {"name": "Ada"}
                added = await ada.next_frame(5)
                assert added["event"] == "pusher_internal:member_added"
                assert json.loads(added["data"]) == {"user_id": "bob", "user_info": None}
                await wait_user_count(http, n3, channel, 2)  # node2's snapshot is visible to node3
                async with PusherSocket(n3.ws, HAPP.key) as bob_again:
                    await presence_join(bob_again, channel, "bob")  # same user on another node: no news
                # bob still present through node2: neither member_added nor member_removed went out
                assert await no_frame(ada, 0.5) is None
            removed = await ada.next_frame(5)
            assert removed["event"] == "pusher_internal:member_removed"
            assert json.loads(removed["data"]) == {"user_id": "bob"}

    run(scenario)


async def no_frame(socket: PusherSocket, within: float) -> dict | None:
    """Any frame (presence events included) within `within` seconds, or None."""
    try:
        return await socket.next_frame(within)
    except asyncio.TimeoutError:
        return None


async def wait_occupied(http, node, channel: str, want: bool, timeout: float) -> None:
    """Poll node's channel API until `occupied` is `want`, or fail saying so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        response = await get_signed(http, node.url, HAPP, f"/apps/{HAPP.id}/channels/{channel}")
        if response.json()["occupied"] is want:
            return
        assert loop.time() < deadline, f"occupied never became {want} within {timeout:g} s"
        await asyncio.sleep(0.05)  # poll


def test_dead_nodes_channels_expire(spawn):
    redis = spawn.redis()
    a = spawn.node(redis.url, OCCUPANCY_TTL_S="1")
    b = spawn.node(redis.url, OCCUPANCY_TTL_S="1")
    channel = channel_name()

    async def scenario() -> None:
        async with api() as http, PusherSocket(b.ws, HAPP.key) as socket:
            await socket.subscribe(channel)
            await wait_occupied(http, a, channel, True, 5)
            b.proc.kill()  # no goodbye: only the expiry can clear its entry
            await wait_occupied(http, a, channel, False, 5)

    run(scenario)


def test_stopped_node_withdraws_its_channels_at_once(spawn):
    redis = spawn.redis()
    a, b = spawn.node(redis.url), spawn.node(redis.url)  # default OCCUPANCY_TTL_S=15: expiry would be slow
    channel = channel_name()

    async def scenario() -> None:
        async with api() as http:
            async with PusherSocket(b.ws, HAPP.key) as socket:
                await socket.subscribe(channel)
                await wait_occupied(http, a, channel, True, 5)
                b.proc.popen.terminate()
                await asyncio.get_running_loop().run_in_executor(None, b.proc.popen.wait, 10)
            # At once (checked once, no waiting): the stopping node removed its own entry itself.
            await wait_occupied(http, a, channel, False, 0)

    run(scenario)


def test_presence_client_events_carry_user_id(cluster):
    channel = channel_name("presence-t")

    async def scenario() -> None:
        async with PusherSocket(cluster.nodes[0].ws, HAPP.key) as ada, \
                PusherSocket(cluster.nodes[2].ws, HAPP.key) as bob:
            await presence_join(ada, channel, "ada")
            await presence_join(bob, channel, "bob")
            await ada.send("client-hello", "hi", channel)
            event = await bob.next_event(5)
            assert (event["event"], event["data"], event["user_id"]) == ("client-hello", "hi", "ada")

    run(scenario)
