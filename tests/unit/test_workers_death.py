"""A subscriber worker that dies mid-run makes the run unjudgeable (exit 3), not its receipts 'lost'.

A real worker process, subscribed to nothing that answers (127.0.0.1:9, nobody listens), is killed; no
cluster is needed to see the parent notice.
"""
from __future__ import annotations

import asyncio
import time

from harness.journal import Clock
from harness.workload.client import App
from harness.workload.workers import Remote, Workers


def test_a_killed_worker_is_reported_dead_and_a_stopped_one_is_not(tmp_path):
    async def main() -> tuple[str | None, str | None]:
        def workers() -> Workers:
            w = Workers(tmp_path, "plain", Clock(), 30.0, "pusher", "/app/key")
            w.start([Remote("s1", "node1", "ws://127.0.0.1:9", App("1", "key", "secret"), ["c"])], 1)
            return w

        killed, stopped = workers(), workers()
        killed.workers[0].process.kill()
        deadline = time.monotonic() + 30
        while killed.dead() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # poll: the parent reads the worker's end of the pipe
        said = killed.dead()
        await killed.stop()
        await stopped.stop()
        return said, stopped.dead()

    dead, alive = asyncio.run(main())
    assert dead and "died mid-run" in dead and "1 subscribers' receipts are missing" in dead
    assert alive is None
