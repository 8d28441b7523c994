"""Cross-node fan-out through one Redis pub/sub channel.

Every node, the publishing one included, SUBSCRIBEs to FANOUT_CHANNEL and delivers what it receives
to its local sockets. So every delivery crosses Redis: a Redis latency fault slows delivery and a
Redis outage stops it, which is what the chaos scenarios need to observe. Under REDIS_POLICY=degrade a
failed PUBLISH is delivered to this node's own sockets instead (other nodes miss it, and it is counted).
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from . import degrade
from .degrade import Policy
from .errors import DependencyError, classify_redis
from .hub import Hub
from .log import log
from .metrics import Metrics
from .protocol import frame
from .store import Store, make_client

FANOUT_CHANNEL = "hx:fanout"
BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 2.0
PING_INTERVAL_S = 1.0
POLL_S = 0.2


def encode(app_id: str, channel: str, event: str, data: str, socket_id: str | None, origin: str,
           user_id: str | None = None) -> str:
    """The message put on FANOUT_CHANNEL (app_id scopes channels to their app)."""
    message = {"app_id": app_id, "channel": channel, "event": event, "data": data, "socket_id": socket_id,
               "origin": origin}
    if user_id is not None:
        message["user_id"] = user_id
    return json.dumps(message, separators=(",", ":"))


def to_frame(message: dict[str, Any]) -> str:
    """The client frame of a fan-out message; KeyError / TypeError if it lacks a field."""
    return frame(str(message["event"]), str(message["data"]), str(message["channel"]), message.get("user_id"))


class Broadcaster:
    """Publishes events to every node, or under the degrade policy to this node alone when Redis fails."""

    def __init__(self, store: Store, hub: Hub, metrics: Metrics, policy: Policy, node_name: str) -> None:
        self.store = store
        self.hub = hub
        self.metrics = metrics
        self.policy = policy
        self.node_name = node_name

    async def send(self, app_id: str, channel: str, event: str, data: str, socket_id: str | None = None,
                   user_id: str | None = None) -> None:
        """Fan one event out; DependencyError if Redis fails and the policy is strict."""
        message = encode(app_id, channel, event, data, socket_id, self.node_name, user_id)
        try:
            await self.store.publish(FANOUT_CHANNEL, message)
        except DependencyError as exc:
            self.policy.absorb(exc, degrade.LOCAL_DELIVERY)
            decoded = json.loads(message)
            self.hub.deliver(decoded, to_frame(decoded))
            return
        self.metrics.fanout_published.inc()


class Subscriber:
    """The long-running subscription loop. It never dies: errors mean back off and resubscribe."""

    def __init__(self, redis_url: str, timeout_s: float, hub: Hub, metrics: Metrics) -> None:
        self.redis_url = redis_url
        self.timeout_s = timeout_s
        self.hub = hub
        self.metrics = metrics
        self.subscribed = False
        # A silent link (blackhole, paused Redis) raises nothing, so we PING on the subscription and
        # treat a missing PONG as a failure. The allowance covers a slow-but-working link.
        self.stale_after_s = PING_INTERVAL_S + 3 * timeout_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fanout-subscriber")

    async def stop(self) -> None:
        # The flag as well as the cancel: redis-py 4.3's timeouts can swallow a CancelledError that lands
        # mid-command, and the loops then end at their next turn instead of running on.
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._set_subscribed(False)

    def _set_subscribed(self, value: bool) -> None:
        self.subscribed = value
        self.metrics.fanout_subscribed.set(1 if value else 0)

    async def _run(self) -> None:
        backoff = BACKOFF_START_S
        attempt = 0
        while not self._stopping:
            client = make_client(self.redis_url, self.timeout_s)
            pubsub = client.pubsub()
            try:
                await self._subscribe_and_listen(pubsub)
            except asyncio.CancelledError:
                await self._close(pubsub, client)
                raise
            except Exception as exc:  # noqa: BLE001 - the loop must survive anything
                kind = "timeout" if isinstance(exc, _Stale) else classify_redis(exc)
                if self.subscribed:
                    backoff, attempt = BACKOFF_START_S, 0  # it worked for a while: start over
                self._set_subscribed(False)
                self.metrics.fanout_errors.inc(kind=kind)
                attempt += 1
                log("fanout_reconnect", level="error", kind=kind, error=f"{type(exc).__name__}: {exc}",
                    attempt=attempt, backoff_s=backoff)
            await self._close(pubsub, client)
            if self._stopping:
                return
            await asyncio.sleep(backoff)  # backoff between resubscribe attempts, not synchronisation
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _subscribe_and_listen(self, pubsub: Any) -> None:
        loop = asyncio.get_running_loop()
        await pubsub.subscribe(FANOUT_CHANNEL)
        last_heard = last_ping = loop.time()
        while not self._stopping:
            try:
                message = await pubsub.get_message(timeout=POLL_S)
            except ResponseError as exc:
                if not self.subscribed:
                    raise
                # An error reply still proves the link alive: a Redis in MISCONF answers our PING with
                # an error while PUBLISH and delivery go on. Count it; do not tear the subscription down.
                self.metrics.fanout_errors.inc(kind=classify_redis(exc))
                message, last_heard = None, loop.time()
            now = loop.time()
            if message is not None:
                last_heard = now
                kind = message.get("type")
                if kind == "subscribe":
                    self._set_subscribed(True)
                    log("fanout_subscribed", channel=FANOUT_CHANNEL)
                elif kind == "message":
                    self._handle(message.get("data"))
            if now - last_ping >= PING_INTERVAL_S:
                await pubsub.ping()
                last_ping = now
            if now - last_heard > self.stale_after_s:
                raise _Stale(f"nothing from Redis for {now - last_heard:.1f} s")

    def _handle(self, raw: Any) -> None:
        self.metrics.fanout_received.inc()
        try:
            message = json.loads(raw)
            text = to_frame(message)
        except (ValueError, KeyError, TypeError) as exc:
            log("fanout_bad_message", level="warning", error=str(exc))
            return
        self.hub.deliver(message, text)

    @staticmethod
    async def _close(pubsub: Any, client: aioredis.Redis) -> None:
        """Release the connection; errors here are irrelevant (the link is already broken)."""
        for closer in (pubsub.reset, lambda: client.close(close_connection_pool=True)):
            try:
                await asyncio.wait_for(closer(), timeout=1.0)
            except Exception:  # noqa: BLE001
                pass


class _Stale(Exception):
    """The subscription connection went silent (no PONG within the allowance)."""


