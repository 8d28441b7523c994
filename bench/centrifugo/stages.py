"""What the harness's receive path costs by stage: frames recorded from a real Centrifugo replayed
through each stage in this process, with no network, so the figures are CPU per receipt that the
machine's other load hardly moves (the best of three runs of each).

Stages: `count` (what the bare reader does to a frame), `scan` (the Centrifugo driver's fast path over
a frame), `journal` (the batched record appended, zstd included), `subscriber` (the whole path: the
subscriber's loop, the driver, the scan, the journal), and `full_parse` (the same path with the scan
off: a JSON parse, an event and a journal line a publication, as before the scan).
"""
from __future__ import annotations

import asyncio
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable
from unittest import mock

import httpx

from harness.journal import Clock, JournalWriter
from harness.workload.client import App
from harness.workload.message import Stamp, encode
from harness.workload.protocols import centrifugo
from harness.workload.protocols.centrifugo import CentrifugoConnection, CentrifugoDriver, stamped_publications
from harness.workload.subscriber import Subscriber

RUNS = 3


async def record(ws_url: str, api: str, app: App, channel: str, publications: int = 20_000,
                 batch: int = 200, rate: float = 10_000.0) -> list[str]:
    """The frames one subscriber receives of `publications` published at `rate` in batches."""
    driver = CentrifugoDriver()
    frames: list[str] = []
    async with driver.connect(ws_url, app, "recorder") as connection, \
            httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        await connection.request_subscribe(channel)
        while (await connection.next_incoming(10)).kind != "subscribed":
            pass

        async def read() -> None:
            while True:
                frames.append(await connection.ws.recv())
        reader = asyncio.create_task(read())
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(publications // batch):
            await asyncio.sleep(max(0.0, start + i * batch / rate - loop.time()))  # the schedule
            await driver.publish(http, api, app, [(channel, encode(Stamp("bench", "p1", i * batch + k, time.monotonic())))
                                                  for k in range(batch)])
        deadline = loop.time() + 10
        while sum(f.count('"pub":{') for f in frames) < publications and loop.time() < deadline:
            await asyncio.sleep(0.05)  # poll until every publication arrived
        reader.cancel()
    return frames


class _Replay:
    """A connected socket that hands over recorded frames, then ends the session."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = iter(frames)

    async def recv(self) -> str:
        for frame in self.frames:
            return frame
        raise EOFError

    async def send(self, text: str) -> None:
        pass


def _session(frames: list[str], directory: Path) -> Callable[[], None]:
    """One subscriber's session over the frames, journaling (zstd) to a new file in `directory`."""
    def run() -> None:
        @asynccontextmanager
        async def connect(ws_url: str, app: App, client: str, sock=None):
            yield CentrifugoConnection(_Replay(frames), 1.0)
        driver = mock.Mock(connect=connect)
        journal = JournalWriter(Path(tempfile.mktemp(dir=directory, suffix=".zst")), Clock(), codec="zstd")
        subscriber = Subscriber("s1", "node1", "ws://replay", App("a", "k", "s"), ["bench"], journal, driver)

        async def session() -> None:
            try:
                await subscriber._session(time.monotonic() + 3600)
            except EOFError:
                pass
        asyncio.run(session())
        journal.close()
    return run


def _best(work: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(RUNS):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def stages(frames: list[str]) -> dict:
    """µs of CPU per receipt of each stage over the recorded frames (module docstring)."""
    receipts = sum(f.count('"pub":{') for f in frames)
    batches = [stamped_publications(f) for f in frames]
    per = lambda seconds: round(1e6 * seconds / receipts, 3)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="hx-stages-") as tmp:
        def journal() -> None:
            writer = JournalWriter(Path(tempfile.mktemp(dir=tmp, suffix=".zst")), Clock(), codec="zstd")
            for batch in batches:
                if batch is not None:
                    writer.append_receipts(writer.clock.now(), "s1", batch)
            writer.close()
        figures = {"count": per(_best(lambda: [f.count('"pub":{') for f in frames])),
                   "scan": per(_best(lambda: [stamped_publications(f) for f in frames])),
                   "journal": per(_best(journal)),
                   "subscriber": per(_best(_session(frames, Path(tmp))))}
        with mock.patch.object(centrifugo, "stamped_publications", lambda frame: None):
            figures["full_parse"] = per(_best(_session(frames, Path(tmp))))
    figures.update(frames=len(frames), receipts=receipts, scanned=sum(b is not None for b in batches),
                   publications_per_frame=round(receipts / len(frames), 1))
    return figures
