"""Every scheduled publish ends in exactly one journal line, whatever fails inside its request."""
import asyncio
from pathlib import Path

from harness.journal import JournalWriter, read_journal
from harness.workload.client import App
from harness.workload.publisher import PublishTarget, Publisher
from harness.workload.rate import Shape


def test_a_non_httpx_failure_inside_a_publish_is_journaled(tmp_path: Path):
    journal = JournalWriter(tmp_path / "journal.jsonl")
    # Port 99999 makes the socket layer raise OverflowError: not an httpx error, and no traffic leaves.
    publisher = Publisher("p1", "r", App("1", "key", "secret"), [PublishTarget("node1", "http://127.0.0.1:99999")],
                          ["c"], Shape("constant", 20.0), journal, max_count=5)

    async def run():
        await asyncio.wait_for(publisher.run(asyncio.Event(), max_seconds=5.0), 10)

    asyncio.run(run())
    journal.close()
    lines = [e for e in read_journal(tmp_path / "journal.jsonl", schema=False) if e["kind"] == "publish"]
    assert sorted(e["seq"] for e in lines) == list(range(publisher.sent)) and publisher.sent == 5
    assert {e["error"] for e in lines} == {"harness"} and "OverflowError" in lines[0]["detail"]
