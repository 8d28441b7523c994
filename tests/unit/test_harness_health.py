"""The harness watching itself: loop-lag samples, and an alert watcher that dies is said, not swallowed."""
import asyncio
from pathlib import Path

from harness.journal import JournalWriter, read_journal
from harness.loop_lag import sample_loop_lag
from harness.observe.watcher import AlertWatcher


def test_loop_lag_is_sampled_with_cpu(tmp_path: Path):
    journal = JournalWriter(tmp_path / "journal.jsonl")
    asyncio.run(sample_loop_lag(journal, bound_s=0.25, interval_s=0.05))
    journal.close()
    samples = [e for e in read_journal(tmp_path / "journal.jsonl", schema=False) if e["kind"] == "loop_lag"]
    # Not a count of samples (a loaded CI host wakes the loop late, so fewer fit in the bound): each
    # sample is a sleep plus its lag, and the sampler started a new one only while the bound was not reached.
    assert samples and all(e["lag_ms"] >= 0 and e["cpu_s"] >= 0 for e in samples)
    slept = [0.05 + e["lag_ms"] / 1000 for e in samples]
    assert sum(slept[:-1]) < 0.25


def test_a_blocked_loop_shows_as_lag(tmp_path: Path):
    journal = JournalWriter(tmp_path / "journal.jsonl")

    async def main():
        sampler = asyncio.create_task(sample_loop_lag(journal, bound_s=0.5, interval_s=0.05))
        await asyncio.sleep(0.01)  # poll: the loop ticking as a run's does
        import time
        time.sleep(0.3)  # poll: the harness's loop blocked: exactly what the sampler must see
        await sampler

    asyncio.run(main())
    journal.close()
    lags = [e["lag_ms"] for e in read_journal(tmp_path / "journal.jsonl", schema=False) if e["kind"] == "loop_lag"]
    assert max(lags) >= 200


def test_a_watcher_whose_poll_loop_dies_is_journaled_and_errors(tmp_path: Path):
    journal = JournalWriter(tmp_path / "journal.jsonl")
    watcher = AlertWatcher("http://127.0.0.1:1", "http://127.0.0.1:1", journal)

    async def main():
        async def boom():
            raise RuntimeError("poll bug")
        task = asyncio.create_task(boom())
        task.add_done_callback(watcher._died)
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)  # poll: done callbacks run on the next loop iteration

    asyncio.run(main())
    journal.close()
    kinds = [(e["kind"], e.get("error")) for e in read_journal(tmp_path / "journal.jsonl", schema=False)]
    assert ("alert_watch_dead", "RuntimeError: poll bug") in kinds
    assert watcher.error and "stopped polling" in watcher.error
