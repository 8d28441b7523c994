"""A game day's desk over a journal in a temporary directory, without a cluster (unit tests)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from harness.cluster.cluster import Endpoints
from harness.faults.factory import FaultContext
from harness.faults.toxiproxy import ToxiproxyClient
from harness.gameday.desk import FaultDesk
from harness.journal import JournalWriter, read_journal


@asynccontextmanager
async def desk_on(tmp: Path, menu=None) -> AsyncIterator[FaultDesk]:
    """A desk whose cluster does not exist: validation, notes and the catalogue work; faults that pass
    validation fail to reach their (absent) Toxiproxy."""
    journal = JournalWriter(tmp / "journal.jsonl")
    journal.append("run_start", run_id="unit", grace_s=2.0)
    async with ToxiproxyClient("http://127.0.0.1:1", timeout=0.5, retries=0) as toxiproxy:
        yield FaultDesk(FaultContext(Endpoints("hx-unit", "unit", [], []), toxiproxy, 2), journal, [], menu or {})
    journal.close()


def kinds(tmp: Path) -> list[str]:
    """The kinds the desk journaled (after the run_start the kit writes)."""
    return [e["kind"] for e in read_journal(tmp / "journal.jsonl")][1:]
