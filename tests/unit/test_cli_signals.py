"""Ctrl-C reaches the run even when a library already cancelled and caught a cancel of its own."""
import asyncio
import os
import signal

from harness import cli


def test_ctrl_c_cancels_even_after_a_library_swallowed_a_cancel():
    async def run():
        task = asyncio.current_task()
        task.cancel()
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            pass  # as anyio's timeouts (under httpx) do, without uncancel()
        assert task.cancelling() == 1
        os.kill(os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "cancelled by Ctrl-C"
        return "Ctrl-C ignored"

    assert asyncio.run(cli._run_cancellable(run())) == "cancelled by Ctrl-C"
