"""What every bench shares: the machine it ran on, and its output as text or as one JSON object.

A bench prints its figures as it goes; with `--json` those lines go to stderr and stdout carries one
JSON object (the figure names are listed in docs/performance.md). Every figure stands beside a baseline
measured in the same run, since this machine kind is shared and absolute numbers drift with the load.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import sys
import time
from multiprocessing.connection import Connection
from typing import Any, Callable, Iterator


def machine() -> dict[str, Any]:
    """The machine kind and how busy it was when the bench started (load average over 1 minute)."""
    memory_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {"cores": os.cpu_count(), "memory_gib": round(memory_kb / 2**20, 1), "python": platform.python_version(),
            "load_1m": round(os.getloadavg()[0], 2)}


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object of the figures on stdout (the text goes to stderr)")


@contextlib.contextmanager
def output(as_json: bool, figures: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Collect `figures` while the bench runs; on exit print them as one JSON object when asked.

    With `as_json` the bench's own prints are sent to stderr, so stdout holds only the object.
    """
    figures.setdefault("machine", machine())
    if not as_json:
        yield figures
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield figures
    print(json.dumps(_finite(figures), indent=1, sort_keys=True))


def _finite(value: Any) -> Any:
    """NaN and infinities as null: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline rounded to 3 places, or None when either is missing or the baseline is 0."""
    if value is None or not baseline:
        return None
    return round(value / baseline, 3)


async def reader_window(conn: Connection, counted: Callable[[], int], tasks: list, journal: Any = None) -> None:
    """A reader process's side of a measured window: say "ready", then on "go" start counting its CPU
    and `counted()`, and on "stop" answer (CPU seconds, how many were counted) over the window; then
    end the readers' tasks and close their journal."""
    conn.send("ready")
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)                                   # "go"
    cpu0, count0 = time.process_time(), counted()
    await loop.run_in_executor(None, conn.recv)                                   # "stop"
    conn.send((time.process_time() - cpu0, counted() - count0))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if journal is not None:
        journal.close()


async def harness_subscribers(make: Callable[[int, Any], Any], count: int, path: Any, codec: str) -> tuple[Any, list]:
    """`count` harness subscribers made by `make(i, journal)`, journaling to `path`, running and (within
    20 s) subscribed; returns (the journal, their tasks)."""
    from harness.journal import Clock, JournalWriter
    journal = JournalWriter(path, Clock(), codec=codec)
    journal.start()
    subs = [make(i, journal) for i in range(count)]
    tasks = [asyncio.create_task(s.run(600)) for s in subs]
    deadline = time.monotonic() + 20
    while any(s.subscribed < 1 for s in subs) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # poll until every subscription is confirmed
    return journal, tasks
