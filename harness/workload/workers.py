"""Subscribers spread over worker processes, for rates one event loop cannot journal alone.

Each worker runs its share of the subscribers on its own event loop and journals their events to its
own shard (journal.w<N>.jsonl beside the run's journal, same clock, same codec); the reader merges the
shards in time order (harness.journal.iter_run). The parent sees each subscriber as a `Remote`: how
many of its channels are confirmed, as the worker reports them, so `Load.start` waits as it does for
local subscribers. Small runs keep the single-process mode (no workers).
"""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

from harness.journal import Clock, JournalWriter, journal_path
from harness.tasks import stop_tasks
from harness.workload import protocols
from harness.workload.client import App
from harness.workload.protocols.base import Driver
from harness.workload.subscriber import Subscriber

REPORT_EVERY_S = 0.1        # how often a worker tells the parent its subscriptions and receipts
STOP_TIMEOUT_S = 10.0


@dataclass
class Remote:
    """A subscriber running in a worker: what the parent knows of it."""

    sub_id: str
    node: str
    ws_url: str
    app: App
    channels: list[str]
    connected: bool = False
    subscribed: int = 0


@dataclass
class Worker:
    process: Any
    conn: Connection
    subscribers: dict[str, Remote]
    done: bool = False
    died: bool = False      # gone before it said "done": its subscribers' receipts stop where it died


@dataclass
class Workers:
    """The worker processes of one run and the subscribers they hold."""

    directory: Path
    codec: str
    clock: Clock
    bound_s: float
    protocol: str                            # the system's client protocol and WebSocket path (its driver)
    ws_path: str
    on_receive: Callable[[float], None] | None = None
    workers: list[Worker] = field(default_factory=list)

    def start(self, remotes: list[Remote], count: int) -> None:
        """Spread the subscribers over `count` workers (round robin) and start them."""
        ctx = mp.get_context("spawn")  # a clean child: no inherited event loop, sockets or threads
        loop = asyncio.get_running_loop()
        for n in range(count):
            mine = remotes[n::count]
            if not mine:
                continue
            parent, child = ctx.Pipe()
            specs = [(r.sub_id, r.node, r.ws_url, r.app, r.channels) for r in mine]
            path = journal_path(self.directory, self.codec, f"w{n + 1}")
            process = ctx.Process(target=worker_main, daemon=True, name=f"hx-subscribers-w{n + 1}",
                                  args=(specs, str(path), self.codec, self.clock.mono0, self.clock.wall0,
                                        self.bound_s, self.protocol, self.ws_path, child))
            process.start()
            child.close()
            worker = Worker(process, parent, {r.sub_id: r for r in mine})
            self.workers.append(worker)
            loop.add_reader(parent.fileno(), self._read, worker)

    def _read(self, worker: Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            worker.died = True
            message = ("done",)  # the worker is gone: nothing more will come
        if message[0] == "status":
            for sub_id, (connected, subscribed) in message[1].items():
                remote = worker.subscribers[sub_id]
                remote.connected, remote.subscribed = connected, subscribed
            if self.on_receive:
                for latency in message[2]:
                    self.on_receive(latency)
        if message[0] == "done":
            worker.done = True
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())

    def dead(self) -> str | None:
        """Why the run cannot be judged when a worker died mid-run (its deliveries would read as lost)."""
        gone = [w for w in self.workers if w.died]
        if not gone:
            return None
        return "; ".join(f"subscriber worker {w.process.name} died mid-run (exit code {w.process.exitcode}): its "
                         f"{len(w.subscribers)} subscribers' receipts are missing from the journal" for w in gone)

    async def stop(self) -> None:
        """Stop every worker: its subscribers disconnect, its shard is closed; then the process ends."""
        for worker in self.workers:
            if not worker.done:
                try:
                    worker.conn.send("stop")
                except (BrokenPipeError, OSError):
                    worker.done = True
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while any(not w.done and w.process.is_alive() for w in self.workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # poll interval for the workers' "done"
        for worker in self.workers:
            if not worker.done:
                asyncio.get_running_loop().remove_reader(worker.conn.fileno())
                worker.done = True
            await asyncio.to_thread(worker.process.join, 2)
            if worker.process.is_alive():
                worker.process.kill()
            worker.conn.close()


def worker_main(specs: list[tuple], path: str, codec: str, mono0: float, wall0: float, bound_s: float,
                protocol: str, ws_path: str, conn: Connection) -> None:
    """A worker process: its subscribers, journaled to its shard, until told to stop or `bound_s` pass."""
    asyncio.run(_worker(specs, Path(path), codec, Clock(mono0, wall0), bound_s, protocols.driver(protocol, ws_path),
                        conn))


async def _worker(specs: list[tuple], path: Path, codec: str, clock: Clock, bound_s: float, driver: Driver,
                  conn: Connection) -> None:
    journal = JournalWriter(path, clock, codec=codec)
    journal.start()
    latencies: list[float] = []
    subscribers = [Subscriber(*spec, journal, driver, latencies.append) for spec in specs]
    tasks = [asyncio.create_task(s.run(bound_s)) for s in subscribers]
    deadline = time.monotonic() + bound_s
    try:
        while time.monotonic() < deadline and not conn.poll(0):
            conn.send(("status", {s.sub_id: (s.connected, s.subscribed) for s in subscribers}, latencies[:]))
            latencies.clear()
            await asyncio.sleep(REPORT_EVERY_S)  # the report interval
    finally:
        await stop_tasks(tasks)
        journal.close()
        try:
            conn.send(("done",))
        except (BrokenPipeError, OSError):
            pass
