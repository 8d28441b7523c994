"""A slow reader (subscribe.slow_readers) reads nothing during its pause, once, and journals it."""
import asyncio
import time
from contextlib import asynccontextmanager
from pathlib import Path

from harness.journal import JournalWriter, read_journal
from harness.workload.client import App
from harness.workload.protocols.base import Incoming
from harness.workload.subscriber import Subscriber


class Frames:
    """A connection that always has a message ready, recording when each was read."""

    socket_id = "1.1"

    def __init__(self) -> None:
        self.reads: list[float] = []

    async def request_subscribe(self, channel: str) -> None:
        pass

    async def next_incoming(self, timeout: float) -> Incoming:
        await asyncio.sleep(0.01)   # poll: a frame every 10 ms
        self.reads.append(time.monotonic())
        return Incoming("message", "c", "{}")


class Driver:
    name = "fake"

    def __init__(self) -> None:
        self.connection = Frames()

    @asynccontextmanager
    async def connect(self, ws_url: str, app: App, client: str, sock=None):
        yield self.connection


def test_a_slow_reader_pauses_once_from_the_load_start(tmp_path: Path):
    journal = JournalWriter(tmp_path / "journal.jsonl")
    journal.append("run_start", run_id="r", grace_s=1.0)   # the schema checks the new kinds in a run
    driver = Driver()
    reader = Subscriber("slow1-0", "node1", "ws://x", App("1", "k", "s"), ["c"], journal, driver, pause=(0.1, 0.3))
    reader.origin = time.monotonic()
    asyncio.run(reader.run(max_seconds=0.6))
    journal.close()
    reads = driver.connection.reads
    gaps = [(b - a, a - reader.origin) for a, b in zip(reads, reads[1:])]
    long = [g for g in gaps if g[0] >= 0.25]
    assert len(long) == 1 and 0.09 <= long[0][1] <= 0.2, gaps   # one pause, when it was due
    kinds = [e for e in read_journal(tmp_path / "journal.jsonl", schema=True) if e["kind"].startswith("ws_")]
    paused = [e for e in kinds if e["kind"] in ("ws_paused", "ws_resumed")]
    assert [(e["kind"], e["sub"]) for e in paused] == [("ws_paused", "slow1-0"), ("ws_resumed", "slow1-0")]
    assert paused[0]["seconds"] == 0.3 and 0.28 <= paused[1]["t"] - paused[0]["t"] <= 0.4
