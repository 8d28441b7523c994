"""The pub/sub node against real host processes: Redis, the upstream registry, two nodes."""
from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import time
import uuid
from typing import Any, AsyncIterator

import httpx
import pytest
import redis
import websockets

from nodekit import APP, DISABLED_APP, free_port, metric, wait_until
from harness.workload.signing import channel_auth, signed_params

pytestmark = pytest.mark.node

RECV_TIMEOUT_S = 5.0


# --- helpers ---------------------------------------------------------------------------------------

def publish(base: str, body: Any, app: dict[str, str] = APP, app_id: str | None = None,
            sign_body: bytes | None = None, timestamp: int | None = None,
            secret: str | None = None) -> httpx.Response:
    """POST a signed publish; the knobs let a test break exactly one thing about the request."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    path = f"/apps/{app_id or app['id']}/events"
    params = signed_params(app["key"], secret or app["secret"], "POST", path,
                           raw if sign_body is None else sign_body, timestamp=timestamp)
    return httpx.post(base + path, params=params, content=raw,
                      headers={"Content-Type": "application/json"}, timeout=5.0)


def channel_name(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


async def recv(ws: Any) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S))


@contextlib.asynccontextmanager
async def connect(ws_base: str, key: str = APP["key"]) -> AsyncIterator[tuple[Any, str]]:
    """An established Pusher connection and its socket_id; closed on exit."""
    async with websockets.connect(f"{ws_base}/app/{key}?protocol=7&client=test&version=1.0") as ws:
        hello = await recv(ws)
        assert hello["event"] == "pusher:connection_established", hello
        data = json.loads(hello["data"])  # data is a JSON-encoded string
        assert data["activity_timeout"] == 120
        yield ws, data["socket_id"]


async def subscribe(ws: Any, channel: str, **extra: str) -> dict[str, Any]:
    await ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel, **extra}}))
    return await recv(ws)


async def closed_code(ws: Any) -> int:
    """Read until the server closes; return the close code."""
    with pytest.raises(websockets.ConnectionClosed) as info:
        while True:
            await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S)
    return info.value.code


# --- fan-out ---------------------------------------------------------------------------------------

def test_publish_on_node1_reaches_subscriber_on_node2_exactly_once(cluster):
    node1, node2 = cluster.nodes[:2]
    channel = channel_name()

    async def scenario() -> None:
        async with connect(node2.ws) as (ws, _):
            ok = await subscribe(ws, channel)
            assert ok == {"event": "pusher_internal:subscription_succeeded", "channel": channel, "data": "{}"}
            response = await asyncio.to_thread(
                publish, node1.url, {"name": "greet", "channel": channel, "data": "hello"})
            assert response.status_code == 200, response.text
            assert response.json() == {}
            assert await recv(ws) == {"event": "greet", "channel": channel, "data": "hello"}
            # A marker published afterwards must be the very next frame: a duplicate would come first.
            await asyncio.to_thread(publish, node1.url, {"name": "marker", "channel": channel, "data": "m"})
            assert (await recv(ws))["event"] == "marker"

    run(scenario())


def test_publisher_socket_is_excluded(cluster):
    node1, node2 = cluster.nodes[:2]
    channel = channel_name()

    async def scenario() -> None:
        async with connect(node1.ws) as (a, a_id), connect(node2.ws) as (b, _):
            for ws in (a, b):
                assert (await subscribe(ws, channel))["event"] == "pusher_internal:subscription_succeeded"
            response = await asyncio.to_thread(
                publish, node1.url, {"name": "excluded", "channels": [channel], "data": "x", "socket_id": a_id})
            assert response.status_code == 200, response.text
            assert (await recv(b))["event"] == "excluded"
            await asyncio.to_thread(publish, node1.url, {"name": "marker", "channel": channel, "data": "m"})
            assert (await recv(a))["event"] == "marker"  # `excluded` never reached a
            assert (await recv(b))["event"] == "marker"

    run(scenario())


def test_a_paused_reader_is_closed_with_4100_once_a_mebibyte_waits_at_the_node(cluster):
    """The slow-consumer limit is the node's 1 MiB of unsent bytes, not whatever the kernel buffers: a
    reader that stops reading is served until about 1 MiB (plus the node's fixed 128 KiB send buffer and
    the reader's small receive buffer) waits, then closed with 4100; every frame accepted before arrives."""
    node = cluster.nodes[0]
    slow_channel, fast_channel = channel_name("slow"), channel_name("fast")
    data = "x" * 10_000
    frame_bytes = len(json.dumps({"event": "big", "channel": slow_channel, "data": data}, separators=(",", ":")))

    async def scenario() -> tuple[int, int, int]:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 10)
        sock.connect(("127.0.0.1", node.port))
        # One queued message and 4 KiB of read buffer: the client library holds almost nothing either.
        async with websockets.connect(f"{node.ws}/app/{APP['key']}?protocol=7&client=test&version=1.0", sock=sock,
                                      max_queue=1, read_limit=4096) as slow, connect(node.ws) as (fast, _):
            assert (await recv(slow))["event"] == "pusher:connection_established"
            assert (await subscribe(slow, slow_channel))["event"] == "pusher_internal:subscription_succeeded"
            assert (await subscribe(fast, fast_channel))["event"] == "pusher_internal:subscription_succeeded"
            sent_before = metric(node, "pubsub_ws_messages_sent_total")

            def publish_all() -> None:
                path = f"/apps/{APP['id']}/batch_events"
                raw = json.dumps({"batch": [{"name": "big", "channel": slow_channel, "data": data}] * 10}).encode()
                with httpx.Client(base_url=node.url, timeout=10.0) as http:
                    for _ in range(30):   # 3 MB, twice what the limit and the buffers can hold
                        response = http.post(path, params=signed_params(APP["key"], APP["secret"], "POST", path, raw),
                                             content=raw, headers={"Content-Type": "application/json"})
                        assert response.status_code == 200, response.text
                # The node fans out in order: once the marker is delivered, every big one was handled.
                publish(node.url, {"name": "marker", "channel": fast_channel, "data": "m"})
            await asyncio.to_thread(publish_all)
            assert (await recv(fast))["event"] == "marker"
            accepted = int(metric(node, "pubsub_ws_messages_sent_total") - sent_before) - 1
            received, code = 0, None
            try:
                while True:
                    received += json.loads(await asyncio.wait_for(slow.recv(), RECV_TIMEOUT_S))["event"] == "big"
            except websockets.ConnectionClosed as closed:
                code = closed.code
            except asyncio.TimeoutError:
                pass   # everything read and the socket still open: never closed
            return accepted, received, code

    # Its own bound: 3 MB through a node on a loaded 2-core machine takes longer than run()'s 20 s.
    accepted, received, code = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert code == 4100 and received == accepted, f"close code {code}, {received} of {accepted} frames received " \
                                                   f"({accepted * frame_bytes} bytes accepted)"
    assert 1 << 20 < accepted * frame_bytes < 2 << 20, f"closed after {accepted} frames ({accepted * frame_bytes} bytes)"


# --- publish API errors ----------------------------------------------------------------------------

GOOD = {"name": "e", "channel": "errors", "data": "d"}


@pytest.mark.parametrize("case, kwargs, status, needle", [
    ("bad signature", {"secret": "not-the-secret"}, 401, "signature"),
    ("stale timestamp", {"timestamp": int(time.time()) - 3600}, 401, "auth_timestamp"),
    ("bad body_md5", {"sign_body": b'{"something": "else"}'}, 401, "body_md5"),
    ("unknown app", {"app_id": "999999"}, 404, "unknown app"),
    ("disabled app", {"app": DISABLED_APP}, 403, "disabled"),
    ("bad JSON", {"body": b"{not json"}, 400, "JSON"),
    ("no channel", {"body": {"name": "e", "data": "d"}}, 400, "channel"),
    ("bad channel name", {"body": {"name": "e", "channel": "sp ace", "data": "d"}}, 400, "channel"),
    ("data too large", {"body": {**GOOD, "data": "x" * (10 * 1024 + 1)}}, 413, "data"),
])
def test_publish_rejects(cluster, case, kwargs, status, needle):
    kwargs = dict(kwargs)
    body = kwargs.pop("body", GOOD)
    response = publish(cluster.nodes[0].url, body, **kwargs)
    assert response.status_code == status, (case, response.text)
    assert needle in response.json()["error"], (case, response.text)


# --- WebSocket protocol ----------------------------------------------------------------------------

def test_ws_unknown_key_gets_4001(cluster):
    async def scenario() -> None:
        async with websockets.connect(f"{cluster.nodes[0].ws}/app/nosuchkey?protocol=7") as ws:
            error = await recv(ws)
            assert error["event"] == "pusher:error" and error["data"]["code"] == 4001
            assert await closed_code(ws) == 4001

    run(scenario())


@pytest.mark.parametrize("query", ["", "?protocol=6", "?protocol=abc"])
def test_ws_bad_protocol_gets_4007(cluster, query):
    async def scenario() -> None:
        async with websockets.connect(f"{cluster.nodes[0].ws}/app/{APP['key']}{query}") as ws:
            assert await closed_code(ws) == 4007

    run(scenario())


def test_ws_bad_frames_get_errors_and_connection_survives(cluster):
    async def scenario() -> None:
        async with connect(cluster.nodes[0].ws) as (ws, _):
            for bad in ["{not json", "[1, 2]", json.dumps({"event": "pusher:nonsense"}),
                        json.dumps({"event": "pusher:subscribe", "data": {"channel": "bad channel!"}}), b"\x00\x01"]:
                await ws.send(bad)
                error = await recv(ws)
                assert error["event"] == "pusher:error", (bad, error)
                assert error["data"]["message"]
            await ws.send(json.dumps({"event": "pusher:ping", "data": {}}))
            assert (await recv(ws))["event"] == "pusher:pong"

    run(scenario())


def test_subscribe_data_may_be_a_json_string(cluster):
    channel = channel_name()

    async def scenario() -> None:
        async with connect(cluster.nodes[0].ws) as (ws, _):
            await ws.send(json.dumps({"event": "pusher:subscribe", "data": json.dumps({"channel": channel})}))
            assert (await recv(ws))["event"] == "pusher_internal:subscription_succeeded"

    run(scenario())


def test_private_channel_needs_valid_auth(cluster):
    channel = channel_name("private-t")

    async def scenario() -> None:
        async with connect(cluster.nodes[0].ws) as (ws, socket_id):
            bad = await subscribe(ws, channel, auth=f"{APP['key']}:{'0' * 64}")
            assert bad["event"] == "pusher:error" and bad["data"]["code"] == 4009, bad
            missing = await subscribe(ws, channel)
            assert missing["event"] == "pusher:error" and missing["data"]["code"] == 4009, missing
            good = await subscribe(ws, channel, auth=channel_auth(APP["key"], APP["secret"], socket_id, channel))
            assert good == {"event": "pusher_internal:subscription_succeeded", "channel": channel, "data": "{}"}

    run(scenario())


# --- probes and metrics ----------------------------------------------------------------------------

def test_metrics_count_a_publish(cluster):
    node = cluster.nodes[0]
    assert publish(node.url, {**GOOD, "channel": channel_name()}).status_code == 200
    text = httpx.get(f"{node.url}/metrics", timeout=5).text
    lines = text.splitlines()

    def value(prefix: str) -> float:
        matches = [float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix)]
        assert matches, f"no series {prefix} in /metrics:\n{text}"
        return sum(matches)

    assert value('pubsub_publish_total{result="ok"}') >= 1
    assert value('pubsub_http_requests_total{route="/apps/{app_id}/events",status="200"}') >= 1
    assert value("pubsub_fanout_published_total") >= 1
    assert value('pubsub_cache_operations_total{op="incr",result="ok"}') >= 1
    assert value("pubsub_fanout_subscribed") == 1
    for name in ("pubsub_fanout_received_total", "pubsub_ws_connections ", "pubsub_ws_connections_total",
                 "pubsub_ws_subscriptions", "pubsub_ws_messages_sent_total",
                 "pubsub_upstream_requests_total", "pubsub_cache_operations_total"):
        value(name)
    assert "# TYPE pubsub_ws_connections gauge" in lines


def readyz_failure(node: Any) -> str | None:
    """The `failed` field of a 503 /readyz, None while the node is ready."""
    response = httpx.get(f"{node.url}/readyz", timeout=3)
    return response.json()["failed"] if response.status_code == 503 else None


def test_redis_death_is_reported_and_survived(spawn):
    r = spawn.redis()
    node = spawn.node(r.url)
    r.proc.kill()

    assert wait_until(lambda: readyz_failure(node), 10, "/readyz 503 after redis died") == "redis: refused"
    assert httpx.get(f"{node.url}/healthz", timeout=3).json() == {"status": "ok"}
    response = publish(node.url, GOOD)
    assert response.status_code == 503
    assert response.json() == {"error": "redis unavailable: refused"}

    async def handshake_code() -> int:
        async with websockets.connect(f"{node.ws}/app/{APP['key']}?protocol=7") as ws:
            error = await recv(ws)
            assert error["event"] == "pusher:error" and error["data"]["code"] == 4100, error
            return await closed_code(ws)

    assert run(handshake_code()) == 4100  # "come back after a backoff", not "app does not exist"
    assert node.proc.popen.poll() is None, "the node must survive its Redis dying"

    # Redis comes back on the same port: the subscriber resubscribes and delivery works again.
    spawn.redis(port=r.port)
    wait_until(lambda: httpx.get(f"{node.url}/readyz", timeout=3).status_code == 200, 15, "ready again")
    channel = channel_name()

    async def delivery() -> None:
        async with connect(node.ws) as (ws, _):
            await subscribe(ws, channel)
            response = await asyncio.to_thread(publish, node.url, {"name": "back", "channel": channel, "data": "1"})
            assert response.status_code == 200, response.text
            assert (await recv(ws))["event"] == "back"

    run(delivery())
    metrics = httpx.get(f"{node.url}/metrics", timeout=3).text
    assert 'pubsub_fanout_errors_total{kind="refused"}' in metrics
    assert 'pubsub_cache_operations_total{op="set",result="error_refused"}' in metrics


def test_paused_redis_is_detected_as_timeout(spawn):
    """A paused Redis (like `docker pause`) accepts TCP but answers nothing: only timeouts reveal it."""
    r = spawn.redis()
    node = spawn.node(r.url)
    r.proc.popen.send_signal(signal.SIGSTOP)
    try:
        assert wait_until(lambda: readyz_failure(node), 10, "readyz 503 while paused") == "redis: timeout"
        # The subscription raises no error on a silent link; the PING/PONG watchdog must notice.
        wait_until(lambda: metric(node, "pubsub_fanout_subscribed") == 0, 10, "fan-out marked unsubscribed")
    finally:
        r.proc.popen.send_signal(signal.SIGCONT)
    wait_until(lambda: readyz_failure(node) is None, 15, "ready after resume")
    assert metric(node, "pubsub_fanout_subscribed") == 1


def test_publish_writes_cache_and_counter(spawn):
    r = spawn.redis()
    node = spawn.node(r.url)
    assert publish(node.url, GOOD).status_code == 200
    client = redis.Redis(port=r.port, decode_responses=True)
    try:
        for key in (f"hx:app:id:{APP['id']}", f"hx:app:key:{APP['key']}"):
            assert json.loads(client.get(key))["secret"] == APP["secret"]
            assert 0 < client.ttl(key) <= 30
        counters = client.keys(f"hx:app:{APP['id']}:published:*")
        assert len(counters) == 1 and client.get(counters[0]) == "1"
        assert 0 < client.ttl(counters[0]) <= 120
    finally:
        client.close()


def test_redis_misconfiguration_is_named(spawn):
    """OOM and NOAUTH: the failures that a TCP or exporter check does not see (docs/node.md, "Failure policy")."""
    r = spawn.redis()
    node = spawn.node(r.url)
    admin = redis.Redis(port=r.port, decode_responses=True)
    try:
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", "1")
        assert wait_until(lambda: readyz_failure(node), 10, "readyz OOM") == "redis: OOM"
        assert publish(node.url, GOOD).json() == {"error": "redis unavailable: OOM"}
        admin.config_set("maxmemory", "0")
        wait_until(lambda: readyz_failure(node) is None, 10, "ready after OOM cleared")

        admin.config_set("requirepass", "changed")
        admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")  # force reconnects
        assert wait_until(lambda: readyz_failure(node) == "redis: NOAUTH", 10, "readyz NOAUTH")
        assert publish(node.url, GOOD).json() == {"error": "redis unavailable: NOAUTH"}
    finally:
        admin.close()


def test_unreachable_upstream_is_named(spawn):
    r = spawn.redis()
    node = spawn.node(r.url, upstream_url=f"http://127.0.0.1:{free_port()}", ready=False)
    assert wait_until(lambda: readyz_failure(node), 10, "readyz naming upstream") == "upstream: refused"
    response = publish(node.url, GOOD)  # cold cache: the lookup has to ask the upstream
    assert response.status_code == 503
    assert response.json() == {"error": "upstream unavailable: refused"}


def test_sigterm_closes_sockets_with_4200(spawn):
    node = spawn.node(spawn.redis().url)

    async def scenario() -> int:
        async with connect(node.ws) as (ws, _):
            node.proc.popen.terminate()
            return await closed_code(ws)

    assert run(scenario()) == 4200
    node.proc.popen.wait(timeout=10)
    assert '"event":"shutdown"' in node.proc.output()


def test_presence_channel(cluster):
    channel = channel_name("presence-t")
    member = json.dumps({"user_id": "u1", "user_info": {"name": "Ada"}})

    async def scenario() -> None:
        async with connect(cluster.nodes[0].ws) as (ws, socket_id):
            bad = await subscribe(ws, channel, auth=channel_auth(APP["key"], APP["secret"], socket_id, channel),
                                  channel_data=member)  # signature without channel_data
            assert bad["event"] == "pusher:error" and bad["data"]["code"] == 4009
            auth = channel_auth(APP["key"], APP["secret"], socket_id, channel, member)
            good = await subscribe(ws, channel, auth=auth, channel_data=member)
            assert good["event"] == "pusher_internal:subscription_succeeded", good
            assert json.loads(good["data"])["presence"]["ids"] == ["u1"]

    run(scenario())


def test_redis_error_classes():
    """redis-py 4.3 raises plain ResponseError for OOM/MISCONF/WRONGPASS: the node names them by prefix."""
    import sys

    from nodekit import PUBSUB_DIR
    sys.path.insert(0, str(PUBSUB_DIR))
    try:
        from pubsub.errors import classify_redis
    finally:
        sys.path.remove(str(PUBSUB_DIR))
    rex = redis.exceptions
    cases = {
        "OOM": rex.ResponseError("OOM command not allowed when used memory > 'maxmemory'."),
        "MISCONF": rex.ResponseError("MISCONF Redis is configured to save RDB snapshots, but ..."),
        "NOAUTH": rex.ResponseError("WRONGPASS invalid username-password pair or user is disabled."),
        "timeout": rex.TimeoutError("Timeout reading from socket"),
        "refused": rex.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused."),
        "other": rex.ResponseError("ERR unknown command"),
    }
    cases_extra = [("NOAUTH", rex.AuthenticationError("Authentication required.")),
                   ("OOM", rex.ResponseError("Command # 1 (INCR k) of pipeline caused error: OOM command"))]
    for expected, exc in [*cases.items(), *cases_extra]:
        assert classify_redis(exc) == expected, exc


@pytest.mark.parametrize("env, needle", [
    ({"REDIS_POLICY": "lenient"}, "REDIS_POLICY='lenient'; allowed: strict, degrade"),
    ({"PONG_TIMEOUT_S": "soon"}, "PONG_TIMEOUT_S='soon' is not a valid float"),
    ({"APP_MEMORY_SIZE": "0"}, "APP_MEMORY_SIZE must be >= 1"),
])
def test_invalid_config_stops_the_node_with_status_2(spawn, env, needle):
    node = spawn.node(spawn.redis().url, ready=False, **env)
    assert node.proc.popen.wait(timeout=10) == 2
    lines = [json.loads(line) for line in node.proc.output().splitlines() if line.startswith("{")]
    assert any(line["event"] == "config_invalid" and needle in line["error"] for line in lines), lines
