"""A publisher: publishes through a node's server API (its protocol's driver) on a schedule, open loop,
each outcome journaled.

Open loop means a slow answer does not slow the schedule: each request runs as its own task (up to
`max_in_flight`), so a degraded cluster sees the offered load it would see from real customers. With
`batch` > 1 each request is a batch call carrying that many messages.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx

from harness.journal import JournalWriter
from harness.workload.client import App
from harness.workload.message import Stamp, encode
from harness.workload.protocols.base import Driver, status_class
from harness.workload.protocols.pusher import PusherDriver
from harness.workload.rate import Shape, due_times


def classify(status: int | None, exc: BaseException | None) -> str | None:
    """Error class of one publish outcome (None: success), as in docs/metrics.md."""
    if exc is not None:
        if isinstance(exc, httpx.TimeoutException):
            return "timeout"
        if isinstance(exc, httpx.ConnectError):
            return "connect"
        if isinstance(exc, httpx.HTTPError):
            return "transport"
        return "harness"  # not the cluster's answer: the harness failed to make the request
    return None if status is None else status_class(status)


@dataclass
class PublishTarget:
    name: str          # node name
    http: str          # base URL


@dataclass
class Publisher:
    pub_id: str
    run_id: str
    app: App
    targets: list[PublishTarget]           # round-robin over these (one target: pinned)
    channels: list[str]                    # round-robin over these
    shape: Shape
    journal: JournalWriter
    driver: Driver = field(default_factory=PusherDriver)   # the system's protocol (default: the project's node)
    timeout_s: float = 2.0
    padding: int = 0
    batch: int = 1
    max_in_flight: int = 256
    max_count: int = 1_000_000             # a hard bound whatever the duration
    on_result: Callable[[bool], None] | None = None
    scope: str = ""                        # prefix of journaled channels: tells apps apart
    sent: int = 0
    _tasks: set[asyncio.Task] = field(default_factory=set)

    async def run(self, stop: asyncio.Event, max_seconds: float) -> None:
        """Publish until `stop` is set, `max_seconds` pass or `max_count` are sent; then await in-flight."""
        limits = httpx.Limits(max_connections=self.max_in_flight, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s), trust_env=False, limits=limits) as http:
            start = time.monotonic()
            # Every `batch` consecutive due times make one request, sent at the first of them.
            schedule = itertools.islice(due_times(self.shape), 0, None, self.batch)
            for request, due in enumerate(schedule):
                if stop.is_set() or self.sent >= self.max_count or due > max_seconds:
                    break
                wait = start + due - time.monotonic()
                if wait > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), wait)
                        break
                    except asyncio.TimeoutError:
                        pass
                seqs = list(range(self.sent, self.sent + self.batch))
                self.sent += self.batch
                if len(self._tasks) >= self.max_in_flight:
                    # The cluster is so slow the in-flight bound is reached: record, do not queue.
                    for seq in seqs:
                        self.journal.append("publish_skipped", pub=self.pub_id, seq=seq, reason="max_in_flight")
                    continue
                target = self.targets[request % len(self.targets)]
                task = asyncio.create_task(self._request(http, target, seqs))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _request(self, http: httpx.AsyncClient, target: PublishTarget, seqs: list[int]) -> None:
        sent = self.journal.clock.now()
        messages = [(seq, self.channels[seq % len(self.channels)],
                     encode(Stamp(self.run_id, self.pub_id, seq, sent), self.padding)) for seq in seqs]
        try:
            answer = await self.driver.publish(http, target.http, self.app, [(c, d) for _, c, d in messages])
        except asyncio.CancelledError as exc:
            # Cancelled in flight (the run is stopping): still one journal line per scheduled publish.
            self._journal(target, messages, sent, None, "harness", f"cancelled in flight: {exc}"[:200])
            raise
        except Exception as exc:  # httpx errors, and any other: every scheduled publish ends journaled
            self._journal(target, messages, sent, None, classify(None, exc), f"{type(exc).__name__}: {exc}"[:200])
            return
        self._journal(target, messages, sent, answer.status, answer.error, answer.detail)

    def _journal(self, target: PublishTarget, messages: list[tuple[int, str, str]], sent: float,
                 status: int | None, cls: str | None, detail: str | None) -> None:
        """Exactly one `publish` line per message of the request."""
        t = self.journal.clock.now()
        for seq, channel, _ in messages:
            self.journal.append("publish", t=t, pub=self.pub_id, seq=seq, channel=self.scope + channel, node=target.name,
                                sent=round(sent, 6), ok=cls is None, status=status, error=cls,
                                **({"batch": len(messages)} if len(messages) > 1 else {}),
                                **({"detail": detail} if detail else {}))
            if self.on_result:
                self.on_result(cls is None)
