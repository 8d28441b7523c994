"""The journal: one append-only JSON-lines history of a run.

Every event is one line `{"t": <monotonic s since run start>, "wall": <unix s>, "kind": ..., ...}`.
The writer buffers in memory and flushes at least every `flush_interval` seconds and at phase
boundaries, so a run killed with SIGKILL leaves every event up to its last flush; the reader skips a
truncated last line for the same reason. Schema: docs/journal.md.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO

# The canary's publisher and subscriber name (`pub`/`sub` in the journal), accounted apart from the load.
CANARY = "canary"


class JournalError(Exception):
    """A journal that cannot be read: missing, or corrupt before its last line."""


@dataclass
class Clock:
    """The run's clock: monotonic seconds since the run started, and the matching wall time."""

    mono0: float = field(default_factory=time.monotonic)
    wall0: float = field(default_factory=time.time)

    def now(self) -> float:
        return time.monotonic() - self.mono0

    def wall(self, t: float) -> float:
        return self.wall0 + t


class JournalWriter:
    """Appends events to a JSONL file; `append` never blocks on I/O, flushing is periodic."""

    def __init__(self, path: Path, clock: Clock | None = None, flush_interval: float = 0.2) -> None:
        self.path = Path(path)
        self.clock = clock or Clock()
        self.flush_interval = flush_interval
        # "x": a journal is never appended to another run's (FileExistsError if one is there).
        self._file: TextIO = open(self.path, "x", encoding="utf-8", buffering=1 << 16)
        self._task: asyncio.Task[None] | None = None
        self.count = 0

    def append(self, kind: str, t: float | None = None, **fields: Any) -> dict[str, Any]:
        """Record one event now (or at monotonic time `t`) and return it."""
        t = self.clock.now() if t is None else t
        event = {"t": round(t, 6), "wall": round(self.clock.wall(t), 6), "kind": kind, **fields}
        self._file.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.count += 1
        return event

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self.flush()

    def start(self) -> None:
        """Start the periodic flusher on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush_periodically())

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if not self._file.closed:
            self._file.flush()
            self._file.close()


def iter_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the events of a journal; a truncated (unparsable) last line is skipped, not an error."""
    try:
        handle = open(path, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise JournalError(f"{path}: cannot read journal: {exc.strerror}") from None
    with handle:
        pending: tuple[int, str] | None = None
        for number, line in enumerate(handle, 1):
            if pending is not None:
                raise JournalError(f"{path}:{pending[0]}: corrupt journal line: {pending[1][:80]!r}")
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                # Only the last line may be cut short (a killed writer); decide once we know it is last.
                pending = (number, line)
                continue
            if not (isinstance(event, dict) and isinstance(event.get("kind"), str)
                    and isinstance(event.get("t"), (int, float))):
                raise JournalError(f"{path}:{number}: not a journal event (an object with t and kind): {line[:80]!r}")
            yield event


def read_journal(path: Path) -> list[dict[str, Any]]:
    """All complete events of a journal, in file order."""
    return list(iter_journal(path))
