"""The harness's own health: how late its event loop runs, journaled every second as `loop_lag`.

A sampler sleeps one second and journals by how much the wake-up was late (`lag_ms`) and the process's
CPU seconds over that second (`cpu_s`). A loop late by hundreds of milliseconds means the harness
could not keep its own schedule: its latencies and rates are then its own, not the cluster's
(harness/judge.py turns that into exit 3).
"""
from __future__ import annotations

import asyncio
import time

from harness.journal import JournalWriter

INTERVAL_S = 1.0


async def sample_loop_lag(journal: JournalWriter, bound_s: float, interval_s: float = INTERVAL_S) -> None:
    """Journal `loop_lag` every `interval_s` until cancelled or `bound_s` passed."""
    deadline = time.monotonic() + bound_s
    cpu = time.process_time()
    while time.monotonic() < deadline:
        before = time.monotonic()
        await asyncio.sleep(interval_s)  # the measurement itself: how late does this wake up
        lag_ms = max(0.0, (time.monotonic() - before - interval_s) * 1000)
        now_cpu = time.process_time()
        journal.append("loop_lag", lag_ms=round(lag_ms, 3), cpu_s=round(now_cpu - cpu, 4))
        cpu = now_cpu
