"""The harness watching itself: loop-lag samples, an alert watcher that dies is said, not swallowed, and
one that starts watching only once Prometheus has a fresh view of the ready cluster."""
import asyncio
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from harness.journal import JournalWriter, read_journal
from harness.loop_lag import sample_loop_lag
from harness.observe.watcher import AlertWatcher, WatchError


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


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def _prometheus(fresh_after: int, evaluated_after: int):
    """Prometheus's targets and rules APIs over successive polls: the target's last scrape predates the
    watcher's start until poll `fresh_after`, then is the newest one; the rule's last evaluation predates
    the first fresh scrape until poll `evaluated_after`, then comes just before the newest scrape."""
    polls = {"n": 0}
    started = time.time()

    def answer(request: httpx.Request) -> httpx.Response:
        now = time.time()
        if request.url.path == "/api/v1/targets":
            polls["n"] += 1
            scraped = now if polls["n"] >= fresh_after else started - 10
            return httpx.Response(200, json={"data": {"activeTargets": [
                {"lastScrape": _rfc3339(scraped), "lastScrapeDuration": 0.01}]}})
        # Evaluations and scrapes keep alternating: the last evaluation always precedes the newest scrape.
        evaluated = now - 0.05 if polls["n"] >= evaluated_after else started - 5
        return httpx.Response(200, json={"data": {"groups": [{"name": "g", "rules": [
            {"name": "ClientPathDown", "type": "alerting", "health": "ok", "lastEvaluation": _rfc3339(evaluated)}]}]}})
    return polls, httpx.MockTransport(answer)


def test_the_rule_set_counts_as_loaded_only_once_evaluated_on_a_fresh_scrape(tmp_path: Path):
    # An alert left over from the cluster's start (a node scraped before it answered) must be re-evaluated
    # on a scrape of the ready cluster before the first phase, or steady inherits it.
    polls, transport = _prometheus(fresh_after=3, evaluated_after=5)
    journal = JournalWriter(tmp_path / "journal.jsonl")
    watcher = AlertWatcher("http://prometheus", "http://sink", journal, "hardened")

    async def main():
        async with httpx.AsyncClient(transport=transport) as http:
            await watcher.wait_loaded(http, timeout=10)
    asyncio.run(main())
    journal.close()
    assert polls["n"] >= 5
    assert [e["kind"] for e in read_journal(tmp_path / "journal.jsonl", schema=False)] == ["alert_rules_loaded"]


def test_a_target_never_scraped_again_is_a_watch_error_naming_it(tmp_path: Path):
    _, transport = _prometheus(fresh_after=10**6, evaluated_after=0)
    watcher = AlertWatcher("http://prometheus", "http://sink", JournalWriter(tmp_path / "journal.jsonl"), "hardened")

    async def main():
        async with httpx.AsyncClient(transport=transport) as http:
            await watcher.wait_loaded(http, timeout=0.6)
    with pytest.raises(WatchError, match="1 not scraped since the cluster was ready"):
        asyncio.run(main())
