"""SIGINT/SIGTERM reach a run even when a library lies about or swallows the cancellation."""
import asyncio
import os
import signal
import time

import async_timeout
import pytest

from harness import cli


class SwallowingRun:
    """A run whose first cancellation a library swallows, after a library timeout left the task's
    `cancelling()` count at 1 (async_timeout never uncancels): both broke Ctrl-C before."""

    interrupt_requested = False
    stopping = False

    def __init__(self, sig: int) -> None:
        self.sig = sig

    async def run(self) -> str:
        try:
            async with async_timeout.timeout(0.01):
                await asyncio.sleep(1)  # poll: work that the library's own timeout cuts short
        except asyncio.TimeoutError:
            pass
        assert asyncio.current_task().cancelling() == 1
        os.kill(os.getpid(), self.sig)
        try:
            await asyncio.sleep(5)  # poll: work that the signal's cancellation cuts short
        except asyncio.CancelledError:
            pass                          # swallowed, as async_timeout does when it meets its own timeout
        try:
            await asyncio.sleep(5)  # poll: work that the repeated cancellation cuts short
        except asyncio.CancelledError:
            self.stopping = True
            return "interrupted"
        return "ran on"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_interrupts_even_after_a_swallowed_cancellation(sig):
    run = SwallowingRun(sig)
    started = time.monotonic()
    assert asyncio.run(cli._run_interruptible(run.run(), run)) == "interrupted"
    assert run.interrupt_requested and time.monotonic() - started < 4


class CleanupRun:
    """A run that gets a second signal while cleaning up: the cleanup must not be cancelled."""

    interrupt_requested = False
    stopping = False

    async def run(self) -> str:
        os.kill(os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(5)  # poll: work that the first signal cuts short
        except asyncio.CancelledError:
            self.stopping = True
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.6)  # poll: cleanup longer than the CLI's insisting period; nothing cancels it
        return "cleaned up"


def test_a_second_signal_does_not_cut_the_cleanup(capsys):
    assert asyncio.run(cli._run_interruptible((r := CleanupRun()).run(), r)) == "cleaned up"
    assert "still reverting faults" in capsys.readouterr().err
