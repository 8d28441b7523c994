"""Stopping asyncio tasks for sure: a cancellation may be swallowed, so it is repeated until they end.

Python 3.11's `asyncio.wait_for` loses a cancellation that arrives as its inner awaitable completes, and
async_timeout (under aiohttp) turns one that meets its own timeout into a TimeoutError, which a load loop
takes for a failed request and goes on. Cancelled once, such a task then runs to its own bound (minutes
after an interrupt: seen in a Centrifugo run stopped mid-fault, which hung 108 s in cleanup).
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable

INSIST_S = 0.5  # how long to wait for the tasks before cancelling again


async def stop_tasks(tasks: list[asyncio.Future | None]) -> None:
    """Cancel the tasks (None entries are skipped) and wait until all have ended, cancelling again every
    INSIST_S; their results and exceptions are theirs (read here, so asyncio does not log them)."""
    started = [t for t in tasks if t is not None]
    pending = {t for t in started if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=INSIST_S)
    for task in started:
        if not task.cancelled():
            task.exception()


async def together(*steps: Awaitable) -> list:
    """Await independent steps at once; the first failure stops the others (stop_tasks) and is raised as
    itself, not as a group."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return await asyncio.gather(*tasks)
    finally:
        await stop_tasks(tasks)
