"""Centrifugo's protocols (v6): the client protocol as JSON over WebSocket, and the HTTP server API.

Client side: connect with a connection token (an HS256 JWT signed with the server's HMAC key, not
insecure mode), subscribe by command, receive publications as pushes. The server may put several
replies and pushes in one WebSocket frame, one JSON object a line; an empty object `{}` is a ping,
answered with `{}`. A frame of nothing but publications of stamped load messages (the common case
under load: many to a frame) is read by one scan for the stamps instead of a JSON parse a line, and
handed over as one batch. A server-side unsubscribe with code >= 2500 (e.g. 2500 "insufficient state" after
a broker hiccup) asks the client to subscribe again, as Centrifugo's SDKs do.

Server API: POST /api/publish (or /api/batch) with the `X-API-Key` header. Errors come back as
`{"error": {"code", "message"}}` with HTTP 200: such a publish is failed, error class `api_error`.
"""
from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import itertools
import json
import re
import socket
import time
from collections import deque
from contextlib import asynccontextmanager
from json.encoder import encode_basestring_ascii as _json_text  # json.dumps of a str, without the call
from typing import Any, AsyncIterator

import httpx
import websockets

from harness.journal_receipts import FrameReceipts
from harness.workload.client import App, ProtocolError, json_object
from harness.workload.message import PLAIN_TEXT, STAMP_HEAD, STAMP_TAIL, STAMP_TAIL_USUAL
from harness.workload.protocols.base import Answer, Incoming, status_class

TOKEN_TTL_S = 3600
RESUBSCRIBE_FROM = 2500   # unsubscribe codes from here on ask the client to resubscribe
# One line of a frame that is a publication push carrying a stamp, exactly as Centrifugo writes it (the
# data as published, then the history offset and the stream epoch when the channel keeps history). A
# line that differs in any way (another push, escapes, spacing, more fields) does not match.
_PUBLICATION_HEAD = r'\{"push":\{"channel":"(' + PLAIN_TEXT + r')","pub":\{"data":' + STAMP_HEAD
_PUBLICATION = re.compile(r'^' + _PUBLICATION_HEAD + STAMP_TAIL + r'(?:,"offset":(?:0|[1-9][0-9]*))?(?:,"epoch":"'
                          + PLAIN_TEXT + r'")?\}\}\}$', re.M)
_HEAD = re.compile(_PUBLICATION_HEAD)
# What follows the head in the usual line: the usual stamp tail, then the offset.
_USUAL_TAIL = STAMP_TAIL_USUAL + r',"offset":[1-9][0-9]*\}\}\}$'


@functools.lru_cache(maxsize=256)
def _usual_lines(head: str) -> tuple[tuple[str, str, str], re.Pattern[str]] | None:
    """For a publication line's head (up to its stamp's seq): its (channel, run, pub) and the pattern of
    the usual lines that start with it, the head as a literal (cheaper to match than its parts); None
    for anything that is not such a head."""
    shared = _HEAD.fullmatch(head)
    if shared is None:
        return None
    literal = re.escape(head)
    # At a line's start: `^` would be the same, but a pattern that opens with a literal is found by a fast
    # search for it; the lookbehind (no character but a newline, or none, before the head) then anchors it.
    return shared.groups(), re.compile(literal + r"(?<![^\n]" + literal + ")" + _USUAL_TAIL, re.M)

def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256_jwt(claims: dict[str, Any], secret: str) -> str:
    """A JWT signed with HMAC-SHA256 (header {"alg":"HS256","typ":"JWT"}, compact JSON in claim order)."""
    compact = lambda doc: _b64url(json.dumps(doc, separators=(",", ":")).encode())
    signing_input = f"{compact({'alg': 'HS256', 'typ': 'JWT'})}.{compact(claims)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def connection_token(secret: str, user: str, now: float | None = None, ttl_s: int = TOKEN_TTL_S) -> str:
    """A Centrifugo connection token: user id in `sub`, expiry in `exp` (Unix seconds)."""
    issued = int(time.time() if now is None else now)
    return hs256_jwt({"sub": user, "exp": issued + ttl_s}, secret)


def parse_frame(raw: str | bytes) -> list[dict[str, Any]]:
    """The JSON objects of one WebSocket frame: one a line (pure). ProtocolError names a bad line."""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return [json_object(line, "line") for line in text.split("\n") if line.strip()]


def stamped_publications(frame: str) -> FrameReceipts | None:
    """The stamped publications of a frame when every line of it is one (pure); else None, and the frame
    takes the full parse (`parse_frame`, `interpret`, message.decode), which reads such lines the same."""
    lines = frame.count("\n") + 1
    # The usual frame: every line a usual one with the first line's head (one channel, run and pub).
    usual = _usual_lines(frame[:frame.find('"seq":')])
    if usual is not None:
        members = usual[1].findall(frame)
        if len(members) == lines:
            return FrameReceipts(*usual[0], members)
    found = _PUBLICATION.findall(frame)
    if len(found) != lines:
        return None
    return FrameReceipts(*zip(*found))


def api_error(doc: Any, commands: int = 1) -> str | None:
    """The error of a server API answer (`error`, or the first failed reply of a batch of `commands`, or a
    batch answered with fewer replies than it had commands), or None (pure)."""
    if not isinstance(doc, dict):
        return "answer is not a JSON object"
    replies = doc.get("replies")
    if commands > 1 and not doc.get("error") and (not isinstance(replies, list) or len(replies) != commands):
        return f"batch of {commands} answered with {len(replies) if isinstance(replies, list) else 'no'} replies"
    errors = [doc.get("error")] + [r.get("error") for r in doc.get("replies") or () if isinstance(r, dict)]
    first = next((e for e in errors if e), None)
    if first is None:
        return None
    if isinstance(first, dict):
        return f"code {first.get('code')}: {first.get('message')}"
    return str(first)


class CentrifugoConnection:
    """One client connection; `request_subscribe` and `next_incoming` as the workload needs them."""

    def __init__(self, ws: Any, open_timeout: float) -> None:
        self.ws = ws
        self.open_timeout = open_timeout
        self.socket_id = ""
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, str | None]] = {}     # command id → (method, channel)
        self._queue: deque[dict[str, Any]] = deque()              # lines received, not yet handed over
        self._held: str | bytes | None = None                    # a frame read, not yet handed over

    async def handshake(self, token: str, name: str) -> None:
        """Send connect and wait for its reply; ConnectionError if refused."""
        command_id = await self._send("connect", {"token": token, "name": name})
        deadline = asyncio.get_running_loop().time() + self.open_timeout
        early: list[dict[str, Any]] = []      # what came before the reply, handed over after it
        while True:
            doc = await self._next_doc(deadline)
            if doc.get("id") != command_id:
                early.append(doc)
                continue
            self._queue.extendleft(reversed(early))
            if "error" in doc:
                raise ConnectionError(f"connect refused: {_describe(doc['error'])}")
            self.socket_id = str((doc.get("connect") or {}).get("client", ""))
            return

    async def request_subscribe(self, channel: str) -> None:
        await self._send("subscribe", {"channel": channel}, channel)

    async def next_incoming(self, timeout: float | None) -> Incoming:
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while True:
            if not self._queue:
                raw = await self._frame(deadline)
                if type(raw) is str and (batch := stamped_publications(raw)) is not None:
                    return Incoming("messages", data=await self._with_received(batch))
                self._enqueue(raw)
            doc = self._queue.popleft()
            if not doc:                       # ping: answer with an empty object
                await self.ws.send("{}")
                continue
            found = await self.interpret(doc)
            if found is not None:
                return found

    async def interpret(self, doc: dict[str, Any]) -> Incoming | None:
        """What one reply or push means to the workload (None: nothing to hand over)."""
        if "id" in doc:
            method, channel = self._pending.pop(doc["id"], ("?", None))
            if "error" in doc:
                return Incoming("error", channel, f"{method} {channel or ''}: {_describe(doc['error'])}".strip())
            return Incoming("subscribed", channel) if method == "subscribe" else Incoming("other", channel, method)
        push = doc.get("push")
        if not isinstance(push, dict):
            raise ProtocolError(f"neither a reply, a push nor a ping: {json.dumps(doc)[:80]}")
        channel = push.get("channel")
        if isinstance(push.get("pub"), dict):
            return Incoming("message", channel, push["pub"].get("data"))
        if isinstance(push.get("unsubscribe"), dict):
            code = int(push["unsubscribe"].get("code", 0))
            if code >= RESUBSCRIBE_FROM and channel:
                await self.request_subscribe(channel)
            return Incoming("unsubscribed", channel, _describe(push["unsubscribe"]))
        if isinstance(push.get("disconnect"), dict):
            return Incoming("error", channel, f"disconnect {_describe(push['disconnect'])}")
        return Incoming("other", channel, next(iter(push.keys() - {"channel"}), None))

    async def _send(self, method: str, params: dict[str, Any], channel: str | None = None) -> int:
        command_id = next(self._ids)
        self._pending[command_id] = (method, channel)
        await self.ws.send(json.dumps({"id": command_id, method: params}, separators=(",", ":")))
        return command_id

    async def _next_doc(self, deadline: float) -> dict[str, Any]:
        if not self._queue:
            self._enqueue(await self._frame(deadline))
        return self._queue.popleft()

    def _enqueue(self, raw: str | bytes) -> None:
        self._queue.extend(parse_frame(raw))
        if not self._queue:
            raise ProtocolError("an empty frame")

    async def _with_received(self, batch: FrameReceipts) -> FrameReceipts:
        """`batch` with the publications of the frames already received behind it (the WebSocket
        library's queue), while they are usual frames of the same channel, run and pub: under load, fewer
        and longer journal lines, one clock read for them all. The first other frame is held for the
        next read."""
        received = getattr(self.ws, "messages", None)   # websockets' frames received, not yet read
        if not received or not (type(batch.channels) is type(batch.runs) is type(batch.pubs) is str):
            return batch
        members = list(batch.members)
        while received and self._held is None:
            raw = await self.ws.recv()                    # at once: it is there
            more = stamped_publications(raw) if type(raw) is str else None
            if more is None or more[:3] != batch[:3]:
                self._held = raw
            else:
                members += more.members
        return batch._replace(members=members)

    async def _frame(self, deadline: float | None) -> str | bytes:
        """The next frame (the one held back first), by `deadline` (loop time; None: the caller bounds
        the wait)."""
        if self._held is not None:
            raw, self._held = self._held, None
            return raw
        if deadline is None:  # no timer a frame: under load, it cost more than reading the frame's stamps
            return await self.ws.recv()
        async with asyncio.timeout_at(deadline):
            return await self.ws.recv()


def _describe(detail: Any) -> str:
    if isinstance(detail, dict):
        return f"{detail.get('code')} {detail.get('message') or detail.get('reason') or ''}".strip()
    return str(detail)


class CentrifugoDriver:
    name = "centrifugo"

    def __init__(self, ws_path: str = "/connection/websocket", open_timeout: float = 5.0) -> None:
        self.ws_path = ws_path
        self.open_timeout = open_timeout

    async def publish(self, http: httpx.AsyncClient, base_url: str, app: App,
                      messages: list[tuple[str, str]]) -> Answer:
        # The data is JSON text already (message.encode): put in as it is, not parsed and written again
        # (that cost more than the rest of a batch's publish).
        commands = [f'{{"channel":{_json_text(channel)},"data":{data}}}' for channel, data in messages]
        path, body = (("/api/publish", commands[0]) if len(commands) == 1
                      else ("/api/batch", '{"commands":[{"publish":' + '},{"publish":'.join(commands) + "}]}"))
        response = await http.post(base_url + path, content=body,
                                   headers={"X-API-Key": app.key, "Content-Type": "application/json"})
        error = status_class(response.status_code)
        if error:
            return Answer(response.status_code, error, response.text[:200])
        try:
            refused = api_error(response.json(), len(commands))
        except ValueError:
            refused = "answer is not JSON"
        return Answer(response.status_code, "api_error" if refused else None, refused)

    @asynccontextmanager
    async def connect(self, ws_url: str, app: App, client: str,
                      sock: socket.socket | None = None) -> AsyncIterator[CentrifugoConnection]:
        ws = await websockets.connect(ws_url + self.ws_path, open_timeout=self.open_timeout, close_timeout=1,
                                      max_size=1 << 20, sock=sock)
        try:
            connection = CentrifugoConnection(ws, self.open_timeout)
            await connection.handshake(connection_token(app.secret, f"{app.id}-{client}"), "hx-harness")
            yield connection
        finally:
            await ws.close()
