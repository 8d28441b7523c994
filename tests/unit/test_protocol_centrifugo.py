"""Centrifugo driver: connection tokens, frames of several lines, pings, resubscribes, API errors."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading

import httpx
import pytest

from harness.workload.client import App, ProtocolError
from harness.workload.protocols import driver
from harness.workload.protocols.base import Incoming
from harness.workload.protocols.centrifugo import (CentrifugoConnection, CentrifugoDriver, api_error, connection_token,
                                                   hs256_jwt, parse_frame)

APP = App("hx", "api-key", "token-secret")


def test_hs256_jwt_matches_the_published_example_token():
    # The HS256 example of RFC 7519's ecosystem (jwt.io): same header, claims and secret, same token.
    token = hs256_jwt({"sub": "1234567890", "name": "John Doe", "iat": 1516239022}, "your-256-bit-secret")
    assert token == ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2"
                     "MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")


def _segment(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_connection_token_carries_user_and_expiry_and_verifies_with_the_secret():
    token = connection_token("s3cret", "hx-s1-0", now=1_700_000_000, ttl_s=60)
    header, claims, signature = token.split(".")
    assert _segment(header) == {"alg": "HS256", "typ": "JWT"}
    assert _segment(claims) == {"sub": "hx-s1-0", "exp": 1_700_000_060}
    expected = hmac.new(b"s3cret", f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected
    assert connection_token("other", "hx-s1-0", now=1_700_000_000, ttl_s=60) != token


def test_parse_frame_splits_batched_replies_one_a_line():
    raw = '{"id":2,"subscribe":{}}\n{"push":{"channel":"c","pub":{"data":{"seq":1}}}}\n{}'
    assert parse_frame(raw) == [{"id": 2, "subscribe": {}}, {"push": {"channel": "c", "pub": {"data": {"seq": 1}}}}, {}]
    assert parse_frame(b'{"id":1,"connect":{}}\n') == [{"id": 1, "connect": {}}]


@pytest.mark.parametrize("raw", ['{"id":1}\nnot json', '[1, 2]', '"text"'])
def test_parse_frame_refuses_lines_that_are_not_json_objects(raw):
    with pytest.raises(ProtocolError):
        parse_frame(raw)


class Socket:
    """A WebSocket's two directions in memory: frames to receive, frames sent."""

    def __init__(self, *frames: str) -> None:
        self.inbox = list(frames)
        self.sent: list[dict] = []

    async def recv(self) -> str:
        if not self.inbox:
            await asyncio.Event().wait()   # nothing more comes: waits until cancelled
        return self.inbox.pop(0)

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    def receive(self, *frames: str) -> None:
        self.inbox.extend(frames)


async def _connected(*frames: str) -> tuple[CentrifugoConnection, Socket]:
    socket = Socket('{"id":1,"connect":{"client":"c-42","version":"6.9.1","ping":25,"pong":true}}', *frames)
    connection = CentrifugoConnection(socket, open_timeout=1.0)
    await connection.handshake("tok", "hx")
    return connection, socket


def test_handshake_sends_the_token_and_keeps_the_client_id():
    async def main():
        connection, socket = await _connected()
        assert socket.sent == [{"id": 1, "connect": {"token": "tok", "name": "hx"}}]
        assert connection.socket_id == "c-42"
    asyncio.run(main())


def test_handshake_refused_raises_connection_error():
    async def main():
        connection = CentrifugoConnection(Socket('{"id":1,"error":{"code":109,"message":"token expired"}}'), 1.0)
        with pytest.raises(ConnectionError, match="109 token expired"):
            await connection.handshake("tok", "hx")
    asyncio.run(main())


def test_one_frame_with_a_reply_a_push_and_a_ping_yields_each_in_order_and_answers_the_ping():
    async def main():
        connection, socket = await _connected()
        await connection.request_subscribe("hx-load-0")
        await connection.request_subscribe("hx-load-1")
        socket.receive('{"id":2,"subscribe":{"recoverable":true}}\n'
                       '{"push":{"channel":"hx-load-0","pub":{"data":{"run":"r","pub":"p1","seq":0,"sent":1.5},"offset":1}}}\n'
                       '{}\n{"id":3,"error":{"code":103,"message":"permission denied"}}')
        got = [await connection.next_incoming(1.0) for _ in range(3)]
        assert got == [Incoming("subscribed", "hx-load-0"),
                       Incoming("message", "hx-load-0", {"run": "r", "pub": "p1", "seq": 0, "sent": 1.5}),
                       Incoming("error", "hx-load-1", "subscribe hx-load-1: 103 permission denied")]
        assert socket.sent[-1] == {}      # the pong, sent when the ping was read
    asyncio.run(main())


def test_unsubscribe_with_insufficient_state_resubscribes_but_a_final_one_does_not():
    async def main():
        connection, socket = await _connected()
        socket.receive('{"push":{"channel":"hx-load-0","unsubscribe":{"code":2500,"reason":"insufficient state"}}}',
                       '{"push":{"channel":"hx-load-1","unsubscribe":{"code":2000,"reason":"server unsubscribe"}}}')
        first = await connection.next_incoming(1.0)
        assert first == Incoming("unsubscribed", "hx-load-0", "2500 insufficient state")
        assert socket.sent[-1] == {"id": 2, "subscribe": {"channel": "hx-load-0"}}
        second = await connection.next_incoming(1.0)
        assert second.kind == "unsubscribed" and len(socket.sent) == 2
    asyncio.run(main())


def test_a_push_of_no_known_kind_and_a_stray_document():
    async def main():
        connection, socket = await _connected()
        socket.receive('{"push":{"channel":"c","join":{"info":{}}}}', '{"result":1}')
        assert await connection.next_incoming(1.0) == Incoming("other", "c", "join")
        with pytest.raises(ProtocolError):
            await connection.next_incoming(1.0)
        with pytest.raises(asyncio.TimeoutError):
            await connection.next_incoming(0.05)
    asyncio.run(main())


@pytest.mark.parametrize("doc, expected", [
    ({"result": {}}, None),
    ({"error": {"code": 100, "message": "internal server error"}}, "code 100: internal server error"),
    ({"replies": [{"publish": {}}, {"error": {"code": 100, "message": "internal server error"}}]},
     "code 100: internal server error"),
    ({"replies": [{"publish": {}}, {"publish": {}}]}, None),
    ([1], "answer is not a JSON object"),
])
def test_api_error_reads_errors_answered_with_http_200(doc, expected):
    assert api_error(doc) == expected


@pytest.mark.parametrize("doc, expected", [
    ({"replies": [{"publish": {}}, {"publish": {}}]}, None),
    ({"replies": []}, "batch of 2 answered with 0 replies"),
    ({"replies": [{"publish": {}}]}, "batch of 2 answered with 1 replies"),
    ({"result": {}}, "batch of 2 answered with no replies"),
    ({"error": {"code": 107, "message": "bad request"}}, "code 107: bad request"),
])
def test_a_batch_counts_as_published_only_with_a_reply_per_command(doc, expected):
    assert api_error(doc, commands=2) == expected


def _answering(status: int, body: dict, seen: list[httpx.Request]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("status, body, error", [
    (200, {"result": {}}, None),
    (200, {"error": {"code": 100, "message": "internal server error"}}, "api_error"),
    (503, {}, "http_5xx"),
])
def test_publish_posts_to_the_server_api_with_the_key_and_classifies_the_answer(status, body, error):
    async def main():
        seen: list[httpx.Request] = []
        async with _answering(status, body, seen) as http:
            answer = await CentrifugoDriver().publish(http, "http://node", APP, [("hx-load-0", '{"seq":1}')])
        assert (answer.status, answer.error) == (status, error)
        assert seen[0].url.path == "/api/publish" and seen[0].headers["X-API-Key"] == "api-key"
        assert json.loads(seen[0].content) == {"channel": "hx-load-0", "data": {"seq": 1}}
    asyncio.run(main())


def test_a_batch_goes_to_api_batch_and_fails_whole_when_one_reply_fails():
    async def main():
        seen: list[httpx.Request] = []
        body = {"replies": [{"publish": {}}, {"error": {"code": 100, "message": "internal server error"}}]}
        async with _answering(200, body, seen) as http:
            answer = await CentrifugoDriver().publish(http, "http://node", APP, [("a", "{}"), ("b", "{}")])
        assert seen[0].url.path == "/api/batch"
        assert json.loads(seen[0].content) == {"commands": [{"publish": {"channel": "a", "data": {}}},
                                                            {"publish": {"channel": "b", "data": {}}}]}
        assert answer.error == "api_error" and "code 100" in answer.detail
    asyncio.run(main())


def test_driver_lookup():
    assert driver("centrifugo", "/ws").ws_path == "/ws"
    assert driver("pusher").name == "pusher"
    with pytest.raises(ValueError, match="unknown protocol"):
        driver("mqtt")


def test_what_arrives_before_the_connect_reply_is_handed_over_after_it():
    # It was put back at the head of the queue and read again, forever, without yielding to the event
    # loop: hence a thread with a deadline, so such a bug fails the test instead of hanging it.
    async def main():
        socket = Socket('{"push":{"channel":"c","join":{"info":{}}}}', '{"id":1,"connect":{"client":"c-7"}}')
        connection = CentrifugoConnection(socket, open_timeout=1.0)
        await connection.handshake("tok", "hx")
        return connection.socket_id, await connection.next_incoming(1.0)
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(asyncio.run(main())), daemon=True)
    worker.start()
    worker.join(10)
    assert outcome == [("c-7", Incoming("other", "c", "join"))], "the handshake did not end"


def test_a_binary_frame_behind_a_usual_one_is_held_and_read_next():
    async def main():
        connection, socket = await _connected()
        usual = '{"push":{"channel":"c","pub":{"data":{"run":"r","pub":"p1","seq":%d,"sent":1.5},"offset":%d}}}'
        socket.receive(usual % (1, 1), b'{"push":{"channel":"c","join":{"info":{}}}}', usual % (2, 2))
        socket.messages = socket.inbox          # all three already received
        first = await connection.next_incoming(1.0)
        assert first.kind == "messages" and first.data.members == ['"seq":1,"sent":1.5']
        assert await connection.next_incoming(1.0) == Incoming("other", "c", "join")
        assert (await connection.next_incoming(1.0)).data.members == ['"seq":2,"sent":1.5']
    asyncio.run(main())
