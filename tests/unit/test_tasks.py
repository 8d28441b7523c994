"""stop_tasks ends tasks that swallow a cancellation (as 3.11's wait_for and async_timeout can)."""
from __future__ import annotations

import asyncio
import time

from harness.tasks import stop_tasks


async def swallows_once(swallowed: list[bool]) -> None:
    """Takes the first cancellation for an ordinary error and goes on, like a load loop would."""
    while True:
        try:
            await asyncio.sleep(60)  # poll: a loop's wait, cut short by the cancellation
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(True)


def test_a_task_that_swallows_a_cancellation_is_stopped_all_the_same():
    async def main() -> float:
        swallowed: list[bool] = []
        task = asyncio.create_task(swallows_once(swallowed))
        await asyncio.sleep(0)  # poll: one loop turn lets it start
        started = time.monotonic()
        await stop_tasks([task, None])
        assert swallowed == [True] and task.cancelled()
        return time.monotonic() - started

    # One insist interval, not the minute it would sleep on after swallowing the first cancellation.
    assert asyncio.run(main()) < 30


def test_finished_and_failed_tasks_are_taken_as_they_are():
    async def fails() -> None:
        raise ValueError("the task's own failure")

    async def finishes() -> None:
        return None

    async def main() -> None:
        failed = asyncio.create_task(fails())
        done = asyncio.create_task(finishes())
        await asyncio.wait([failed, done])
        await stop_tasks([failed, done])
        assert isinstance(failed.exception(), ValueError) and done.result() is None

    asyncio.run(main())


def test_together_gives_results_in_order_and_a_failure_as_itself_with_the_others_stopped():
    from harness.tasks import together

    async def value(v, delay):
        await asyncio.sleep(delay)  # poll: a result that takes this long, so the order is not arrival order
        return v

    async def fails():
        await asyncio.sleep(0.01)  # poll: fails once the other has started
        raise ValueError("the first failure")

    async def main() -> None:
        assert await together(value(1, 0.02), value(2, 0)) == [1, 2]
        swallowed: list[bool] = []
        slow = asyncio.ensure_future(swallows_once(swallowed))
        try:
            await together(fails(), slow)
        except ValueError as exc:   # itself, not an ExceptionGroup
            assert str(exc) == "the first failure"
        else:
            raise AssertionError("together() swallowed the failure")
        assert slow.cancelled() and swallowed == [True]

    asyncio.run(main())
