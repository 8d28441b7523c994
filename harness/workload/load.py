"""The whole load of a run: subscribers, publishers and the canary, started and stopped together."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from harness.cluster.cluster import Endpoints
from harness.journal import CANARY, JournalWriter
from harness.workload import protocols
from harness.workload.publisher import PublishTarget, Publisher
from harness.workload.rate import Shape
from harness.workload.subscriber import Subscriber
from harness.workload.workers import Remote, Workers

CANARY_CHANNEL = "hx-canary"


class LoadError(Exception):
    """The load could not start (e.g. subscribers never confirmed their subscriptions)."""


@dataclass
class Load:
    subscribers: list[Subscriber | Remote]           # Remote: run by a worker process (`workers`)
    publishers: list[Publisher]
    bound_s: float                                   # every loop stops by itself after this
    workers: Workers | None = None
    worker_count: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _sub_tasks: list[asyncio.Task] = field(default_factory=list)
    _pub_tasks: list[asyncio.Task] = field(default_factory=list)

    async def start(self, subscribe_timeout: float = 20.0) -> None:
        """Connect every subscriber, wait until each confirmed all its channels, then start publishing."""
        self._sub_tasks = [asyncio.create_task(s.run(self.bound_s)) for s in self.subscribers
                           if isinstance(s, Subscriber)]
        if self.workers:
            self.workers.start([s for s in self.subscribers if isinstance(s, Remote)], self.worker_count)
        deadline = time.monotonic() + subscribe_timeout
        while missing := [s.sub_id for s in self.subscribers if s.subscribed < len(s.channels)]:
            if time.monotonic() > deadline:
                raise LoadError(f"subscribers not subscribed after {subscribe_timeout:.0f} s: {', '.join(missing)}")
            await asyncio.sleep(0.05)  # poll interval
        self._pub_tasks = [asyncio.create_task(p.run(self._stop, self.bound_s)) for p in self.publishers]

    async def stop_publishing(self) -> None:
        """Stop the publishers and wait for their requests in flight."""
        self._stop.set()
        await asyncio.gather(*self._pub_tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop everything (idempotent; also the cleanup path)."""
        self._stop.set()
        tasks = self._sub_tasks + self._pub_tasks
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.workers:
            await self.workers.stop()


def build_load(workload, endpoints: Endpoints, journal: JournalWriter, bound_s: float,
               on_publish: Callable[[bool], None] | None = None,
               on_receive: Callable[[float], None] | None = None, workers: int = 0) -> Load:
    """The subscribers and publishers a scenario's workload asks for, on a running cluster; with
    `workers`, the load's subscribers run in that many processes, each journaling to its own shard
    (the canary stays here)."""
    w = workload
    app = endpoints.apps[0]
    driver = protocols.driver(endpoints.protocol, endpoints.ws_path)
    channels = [f"hx-load-{i}" for i in range(w.publish.channels)]
    subscribers = []
    for node in endpoints.nodes:
        for i in range(w.subscribe.per_node):
            mine = [channels[(len(subscribers)) % len(channels)]] if w.subscribe.spread else channels
            spec = (f"s{node.name.removeprefix('node')}-{i}", node.name, node.ws, app, mine)
            subscribers.append(Remote(*spec) if workers else Subscriber(*spec, journal, driver, on_receive))
    nodes = [PublishTarget(n.name, n.http) for n in endpoints.nodes]
    targets = nodes if w.publish.target == "round-robin" else [t for t in nodes if t.name == w.publish.target]
    share = w.publish.shape
    n = w.publish.publishers
    share = replace(share, rate=share.rate / n, steps=tuple(r / n for r in share.steps),
                    burst_size=max(0, round(share.burst_size / n)))
    max_rate = max((share.rate, *share.steps)) + share.burst_size / share.burst_every_s
    publishers = [Publisher(f"p{k + 1}", endpoints.run_id, app, targets[k % len(targets):] + targets[:k % len(targets)],
                            channels, share, journal, driver, w.publish.timeout_s, w.publish.payload_bytes, w.publish.batch,
                            max_count=int(max_rate * bound_s) + 10, on_result=on_publish)
                  for k in range(n)]
    if w.canary:
        # Through the first node, received on the last: the canary always crosses Redis fan-out.
        first, last = endpoints.nodes[0], endpoints.nodes[-1]
        subscribers.append(Subscriber(CANARY, last.name, last.ws, app, [CANARY_CHANNEL], journal, driver))
        publishers.append(Publisher(CANARY, endpoints.run_id, app, [PublishTarget(first.name, first.http)],
                                    [CANARY_CHANNEL], Shape("constant", 1.0), journal, driver, w.publish.timeout_s,
                                    max_count=int(bound_s) + 2))
    pool = (Workers(journal.path.parent, journal.codec, journal.clock, bound_s, endpoints.protocol, endpoints.ws_path,
                    on_receive) if workers else None)
    return Load(subscribers, publishers, bound_s, pool, workers)
