"""A publisher: signed REST publishes at a fixed rate, open loop, each outcome journaled.

Open loop means a slow answer does not slow the schedule: each publish runs as its own task (up to
`max_in_flight`), so a degraded cluster sees the offered load it would see from real customers.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx

from harness.journal import JournalWriter
from harness.workload.client import App, publish
from harness.workload.message import Stamp, encode


def classify(status: int | None, exc: BaseException | None) -> str | None:
    """Error class of one publish outcome (None: success), as in docs/metrics.md."""
    if exc is not None:
        if isinstance(exc, httpx.TimeoutException):
            return "timeout"
        if isinstance(exc, httpx.ConnectError):
            return "connect"
        return "transport"
    if status is None or 200 <= status < 300:
        return None
    return "http_4xx" if 400 <= status < 500 else "http_5xx" if status >= 500 else "http_other"


@dataclass
class PublishTarget:
    name: str          # node name
    http: str          # base URL


@dataclass
class Publisher:
    pub_id: str
    run_id: str
    app: App
    targets: list[PublishTarget]           # round-robin over these
    channels: list[str]                    # round-robin over these
    rate: float                            # publishes per second
    journal: JournalWriter
    timeout_s: float = 2.0
    padding: int = 0
    max_in_flight: int = 256
    max_count: int = 1_000_000             # a hard bound whatever the duration
    on_result: Callable[[bool], None] | None = None
    sent: int = 0
    skipped: int = 0
    _tasks: set[asyncio.Task] = field(default_factory=set)

    async def run(self, stop: asyncio.Event, max_seconds: float) -> None:
        """Publish until `stop` is set, `max_seconds` pass or `max_count` are sent; then await in-flight."""
        limits = httpx.Limits(max_connections=self.max_in_flight, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s), trust_env=False, limits=limits) as http:
            start = time.monotonic()
            interval = 1.0 / self.rate
            while not stop.is_set() and self.sent < self.max_count:
                due = start + self.sent * interval
                now = time.monotonic()
                if now - start > max_seconds:
                    break
                if due > now:
                    try:
                        await asyncio.wait_for(stop.wait(), due - now)
                        break
                    except asyncio.TimeoutError:
                        pass
                seq = self.sent
                self.sent += 1
                if len(self._tasks) >= self.max_in_flight:
                    # The cluster is so slow the in-flight bound is reached: record, do not queue.
                    self.skipped += 1
                    self.journal.append("publish_skipped", pub=self.pub_id, seq=seq, reason="max_in_flight")
                    continue
                target = self.targets[seq % len(self.targets)]
                channel = self.channels[seq % len(self.channels)]
                task = asyncio.create_task(self._publish_one(http, target, channel, seq))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _publish_one(self, http: httpx.AsyncClient, target: PublishTarget, channel: str, seq: int) -> None:
        sent = self.journal.clock.now()
        data = encode(Stamp(self.run_id, self.pub_id, seq, sent), self.padding)
        status: int | None = None
        error: BaseException | None = None
        detail = None
        try:
            response = await publish(http, target.http, self.app, channel, "hx-load", data)
            status = response.status_code
            if status >= 300:
                detail = response.text[:200]
        except httpx.HTTPError as exc:
            error = exc
            detail = f"{type(exc).__name__}: {exc}"[:200]
        cls = classify(status, error)
        self.journal.append("publish", pub=self.pub_id, seq=seq, channel=channel, node=target.name, sent=round(sent, 6),
                            ok=cls is None, status=status, error=cls, **({"detail": detail} if detail else {}))
        if self.on_result:
            self.on_result(cls is None)
