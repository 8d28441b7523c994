"""The whole load of a run: subscribers, publishers and the canary, started and stopped together."""
from __future__ import annotations

import asyncio
import itertools
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from harness.cluster.cluster import Endpoints
from harness.journal import CANARY, JournalWriter
from harness.tasks import stop_tasks
from harness.workload import protocols
from harness.workload.presence import PresenceProbe
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
    churn_per_s: float = 0.0                         # load subscribers closed and reconnected per second
    probes: list[PresenceProbe] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _sub_tasks: list[asyncio.Task] = field(default_factory=list)
    _pub_tasks: list[asyncio.Task] = field(default_factory=list)

    async def subscribe(self, timeout: float = 20.0) -> None:
        """Connect every subscriber and wait until each confirmed all its channels (LoadError if not)."""
        self._sub_tasks = [asyncio.create_task(s.run(self.bound_s)) for s in self.subscribers
                           if isinstance(s, Subscriber)]
        if self.workers:
            self.workers.start([s for s in self.subscribers if isinstance(s, Remote)], self.worker_count)
        deadline = time.monotonic() + timeout
        while missing := [s.sub_id for s in self.subscribers if s.subscribed < len(s.channels)]:
            if time.monotonic() > deadline:
                raise LoadError(f"subscribers not subscribed after {timeout:.0f} s: {', '.join(missing)}")
            await asyncio.sleep(0.05)  # poll interval

    def publish(self) -> None:
        """Start the publishers (and churn, presence probes); once subscribed, so no publish goes unseen."""
        self._pub_tasks = [asyncio.create_task(p.run(self._stop, self.bound_s)) for p in self.publishers]
        started = time.monotonic()
        for s in self.subscribers:
            if isinstance(s, Subscriber) and s.pause is not None:
                s.origin = started  # slow readers' pauses count from the start of publishing
        if self.churn_per_s:
            self._pub_tasks.append(asyncio.create_task(self._churn()))
        self._pub_tasks += [asyncio.create_task(p.run(self._stop, self.bound_s)) for p in self.probes]

    async def _churn(self) -> None:
        """Close one load subscriber after another (never the canary's), at the churn rate, until stopped."""
        churned = [s for s in self.subscribers if s.sub_id != CANARY and isinstance(s, Subscriber)]
        started = time.monotonic()
        for k in itertools.count():
            if not churned or time.monotonic() - started > self.bound_s:
                return
            try:
                await asyncio.wait_for(self._stop.wait(), 1.0 / self.churn_per_s)
                return
            except asyncio.TimeoutError:
                pass
            await churned[k % len(churned)].churn()

    async def stop_publishing(self) -> None:
        """Stop the publishers and wait for their requests in flight."""
        self._stop.set()
        await asyncio.gather(*self._pub_tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop everything (idempotent; also the cleanup path)."""
        self._stop.set()
        await stop_tasks(self._sub_tasks + self._pub_tasks)
        if self.workers:
            await self.workers.stop()


def build_load(workload, endpoints: Endpoints, journal: JournalWriter, bound_s: float,
               on_publish: Callable[[bool], None] | None = None,
               on_receive: Callable[[float], None] | None = None, workers: int = 0,
               inside: dict[str, tuple[str, Callable[[], socket.socket]]] | None = None) -> Load:
    """The subscribers and publishers a scenario's workload asks for, on a running cluster; with
    `workers`, the first app's plain subscribers run in that many processes, each journaling to its own
    shard (the canary, other apps' and client-event senders stay here).

    With several apps, each app gets the same publishers, subscribers and channel names; its journaled
    channels carry the app id (`100004/hx-load-0`), so a message crossing tenants is unexpected.

    Slow readers (the first app's, on every load channel) connect through `inside[node]`: the node's URL
    as seen inside its container and what makes a socket to it there (127.0.0.1 in the container), so that what they leave unread piles up at the node, not in
    the buffers of a proxy."""
    w = workload
    driver = protocols.driver(endpoints.protocol, endpoints.ws_path)
    prefix = "" if w.subscribe.channel_type == "public" else f"{w.subscribe.channel_type}-"
    channels = [f"{prefix}hx-load-{i}" for i in range(w.publish.channels)]
    subscribers: list[Subscriber] = []
    publishers: list[Publisher] = []
    probes: list[PresenceProbe] = []
    nodes = [PublishTarget(n.name, n.http) for n in endpoints.nodes]
    targets = nodes if w.publish.target == "round-robin" else [t for t in nodes if t.name == w.publish.target]
    n = w.publish.publishers
    share = replace(w.publish.shape, segments=w.phase_rates)
    share = replace(share, rate=share.rate / n, steps=tuple(r / n for r in share.steps),
                    burst_size=max(0, round(share.burst_size / n)),
                    segments=tuple((t, r / n) for t, r in share.segments))
    max_rate = max((share.rate, *share.steps, *(r for _, r in share.segments))) + share.burst_size / share.burst_every_s
    for index, app in enumerate(endpoints.apps[:w.apps]):
        tag, scope = ("", "") if index == 0 else (f"a{index + 1}", f"{app.id}/")
        mine_start = len(subscribers)
        for node in endpoints.nodes:
            for i in range(w.subscribe.per_node):
                k = len(subscribers) - mine_start
                mine = [channels[k % len(channels)]] if w.subscribe.spread else channels
                spec = (f"{tag}s{node.name.removeprefix('node')}-{i}", node.name, node.ws, app, mine)
                if workers and not scope and not w.subscribe.client_events_per_s:
                    subscribers.append(Remote(*spec))
                else:
                    subscribers.append(Subscriber(*spec, journal, driver, on_receive, scope=scope,
                                                  run_id=endpoints.run_id,
                                                  client_events_per_s=w.subscribe.client_events_per_s))
        readers = w.subscribe.slow_readers if not scope else ()
        for k, reader in enumerate(readers):
            index = sum(r.node == reader.node for r in readers[:k])   # slow1-0, slow1-1 … per node
            url, connect = (inside or {})[reader.node]
            subscribers.append(Subscriber(f"slow{reader.node.removeprefix('node')}-{index}", reader.node, url, app,
                                          channels, journal, driver, on_receive, run_id=endpoints.run_id,
                                          pause=(reader.at_s, reader.for_s), connect_socket=connect))
        publishers += [Publisher(f"{tag}p{k + 1}", endpoints.run_id, app,
                                 targets[k % len(targets):] + targets[:k % len(targets)], channels, share, journal,
                                 driver, w.publish.timeout_s, w.publish.payload_bytes, w.publish.batch,
                                 max_count=int(max_rate * bound_s) + 10, on_result=on_publish, scope=scope)
                       for k in range(n)]
        if w.subscribe.channel_type == "presence":
            probes.append(PresenceProbe(app, nodes, channels, journal, scope))
    if w.canary:
        # Through the first node, received on the last: the canary always crosses Redis fan-out.
        app = endpoints.apps[0]
        first, last = endpoints.nodes[0], endpoints.nodes[-1]
        subscribers.append(Subscriber(CANARY, last.name, last.ws, app, [CANARY_CHANNEL], journal, driver))
        publishers.append(Publisher(CANARY, endpoints.run_id, app, [PublishTarget(first.name, first.http)],
                                    [CANARY_CHANNEL], Shape("constant", 1.0), journal, driver, w.publish.timeout_s,
                                    max_count=int(bound_s) + 2))
    pool = (Workers(journal.path.parent, journal.codec, journal.clock, bound_s, endpoints.protocol, endpoints.ws_path,
                    on_receive) if workers else None)
    return Load(subscribers, publishers, bound_s, pool, workers, w.subscribe.churn_per_s, probes)
