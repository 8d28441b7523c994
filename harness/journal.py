"""The journal: one append-only JSON-lines history of a run.

Every event is one line `{"t": <monotonic s since run start>, "wall": <unix s>, "kind": ..., ...}`.
The writer buffers in memory and flushes at least every `flush_interval` seconds and at phase
boundaries, so a run killed with SIGKILL leaves every event up to its last flush; the reader checks every
event against the schema and skips a truncated last line for the same reason. Schema: docs/journal.md.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO

from harness.journal_schema import SchemaChecker

# The canary's publisher and subscriber name (`pub`/`sub` in the journal), accounted apart from the load.
CANARY = "canary"


MAX_LINE_CHARS = 16 << 20   # run_start carries the scenario (at most 1 MiB); no event comes near this


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


def iter_journal(path: Path, schema: bool = True) -> Iterator[dict[str, Any]]:
    """Yield the events of a journal, each checked against the schema (harness/journal_schema.py).

    The first bad line raises JournalError naming it; a truncated (unparsable) last line is skipped,
    not an error: a killed writer leaves one. `schema=False` reads a fragment (one component's events,
    in its tests) checking only that each line is an event.
    """
    try:
        handle = open(path, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise JournalError(f"{path}: cannot read journal: {exc.strerror}") from None
    checker = SchemaChecker() if schema else None
    with handle:
        pending: tuple[int, str] | None = None
        # Lines are read at most MAX_LINE_CHARS at a time: a file with no newline (/dev/zero) stays bounded.
        for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_CHARS + 1), ""), 1):
            if pending is not None:
                raise JournalError(f"{path}:{pending[0]}: corrupt journal line: {pending[1][:80]!r}")
            if len(line) > MAX_LINE_CHARS:
                raise JournalError(f"{path}:{number}: a line longer than {MAX_LINE_CHARS >> 20} Mi characters; "
                                   "not a harness journal")
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):  # ValueError: bad JSON, or an integer of over 4300 digits
                # Only the last line may be cut short (a killed writer); decide once we know it is last.
                pending = (number, line)
                continue
            if checker is None:
                if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
                    raise JournalError(f"{path}:{number}: not a journal event: {line[:80]!r}")
            elif problem := checker.check(event):
                raise JournalError(f"{path}:{number}: {problem}")
            yield event
    if checker is not None and checker.count == 0:
        raise JournalError(f"{path}: no complete event; is this a harness journal?")


def read_journal(path: Path, schema: bool = True) -> list[dict[str, Any]]:
    """All complete events of a journal, in file order, checked against the schema (see iter_journal)."""
    return list(iter_journal(path, schema))
