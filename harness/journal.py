"""The journal: one append-only JSON-lines history of a run.

Every event is one line `{"t": <monotonic s since run start>, "wall": <unix s>, "kind": ..., ...}`.
The writer buffers in memory and flushes at least every `flush_interval` seconds and at phase
boundaries, so a run killed with SIGKILL leaves every event up to its last flush; the reader skips a
truncated last line for the same reason. The lines may be stored compressed (harness.journal_codec);
the reader takes any form. Schema: docs/journal.md.
"""
from __future__ import annotations

import asyncio
import heapq
import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import ujson
import zstandard

from harness.journal_codec import CODECS, SUFFIXES, encoder, lines

JOURNAL_NAME = "journal.jsonl"
# Lines held before they are encoded and written even between flushes: bounds the writer's memory.
MAX_PENDING = 4096

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


def journal_path(directory: Path, codec: str = "plain", shard: str | None = None) -> Path:
    """Where a run's journal goes: journal.jsonl, or journal.jsonl.zst / .gz when compressed; a shard
    written by another process of the same run is journal.<shard>.jsonl beside it."""
    name = JOURNAL_NAME if shard is None else JOURNAL_NAME.replace(".jsonl", f".{shard}.jsonl")
    return Path(directory) / (name + SUFFIXES[codec])


def shards_of(path: Path) -> list[Path]:
    """The shards beside a run's main journal (journal.<shard>.jsonl[.zst|.gz]), in name order."""
    path = Path(path)
    return sorted(p for p in path.parent.glob("journal.*.jsonl*")
                  if p.name != path.name and not p.name.startswith(JOURNAL_NAME))


def iter_run(path: Path) -> Iterator[dict[str, Any]]:
    """The events of a run: its main journal merged with its shards in time order (each shard is in
    time order as written; ties keep the main journal first). Without shards, `iter_journal(path)`."""
    shards = shards_of(path)
    if not shards:
        return iter_journal(path)
    return heapq.merge(*(iter_journal(p) for p in [Path(path), *shards]), key=lambda e: e["t"])


class JournalWriter:
    """Appends events to a JSON-lines file (compressed with `codec`); `append` never blocks on I/O,
    flushing is periodic."""

    def __init__(self, path: Path, clock: Clock | None = None, flush_interval: float = 0.2,
                 codec: str = "plain") -> None:
        if codec not in CODECS:
            raise ValueError(f"journal codec must be one of {', '.join(CODECS)}, got {codec!r}")
        self.path = Path(path)
        self.clock = clock or Clock()
        self.flush_interval = flush_interval
        self.codec = codec
        # "x": a journal is never appended to another run's (FileExistsError if one is there).
        self._file: BinaryIO = open(self.path, "xb")
        self._encoder = encoder(codec)
        self._pending: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self.count = 0

    def append(self, kind: str, t: float | None = None, **fields: Any) -> dict[str, Any]:
        """Record one event now (or at monotonic time `t`) and return it."""
        t = self.clock.now() if t is None else t
        event = {"t": round(t, 6), "wall": round(self.clock.wall(t), 6), "kind": kind, **fields}
        self._pending.append(json.dumps(event, separators=(",", ":")))
        self.count += 1
        if len(self._pending) >= MAX_PENDING:
            self._write()
        return event

    def _write(self) -> None:
        if self._pending:
            self._pending.append("")  # the last line's newline
            self._file.write(self._encoder.encode("\n".join(self._pending).encode()))
            self._pending = []

    def flush(self) -> None:
        """Everything appended so far to the file (decodable, when compressed)."""
        if not self._file.closed:
            self._write()
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
            self._write()
            self._file.write(self._encoder.finish())
            self._file.close()


def iter_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the events of a journal, plain or compressed; a truncated (unparsable) last line is
    skipped, not an error."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise JournalError(f"{path}: cannot read journal: {exc.strerror}") from None
    fast_loads, loads, decode_error = ujson.loads, json.loads, json.JSONDecodeError  # locals: once per event
    with handle:
        pending: tuple[int, str] | None = None
        try:
            for number, line in enumerate(lines(handle), 1):
                if pending is not None:
                    raise JournalError(f"{path}:{pending[0]}: corrupt journal line: {pending[1][:80]!r}")
                try:
                    # ujson: the same objects as json on every journal line tried (a million), in two
                    # thirds of the time; json decides any line ujson refuses.
                    event = fast_loads(line)
                except ValueError:
                    try:
                        event = loads(line)
                    except decode_error:
                        if line.isspace() or not line:
                            continue
                        # Only the last line may be cut short (a killed writer); decide once we know it is last.
                        pending = (number, line)
                        continue
                if not (type(event) is dict and type(event.get("kind")) is str
                        and type(event.get("t")) in (float, int)):
                    raise JournalError(f"{path}:{number}: not a journal event (an object with t and kind): {line[:80]!r}")
                yield event
        except (zlib.error, zstandard.ZstdError) as exc:
            raise JournalError(f"{path}: corrupt compressed journal: {exc}") from None


def run_bounds(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The first `run_start` and the last `run_end` event of a journal, without keeping the rest: only
    lines that name them are parsed (a full read, e.g. `iter_journal`, still checks every line)."""
    start = end = None
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise JournalError(f"{path}: cannot read journal: {exc.strerror}") from None
    with handle:
        try:
            for line in lines(handle):
                if "run_start" in line or "run_end" in line:
                    try:
                        event = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a cut last line, or a corrupt one that the full read reports
                    if isinstance(event, dict) and event.get("kind") == "run_start" and start is None:
                        start = event
                    elif isinstance(event, dict) and event.get("kind") == "run_end":
                        end = event
        except (zlib.error, zstandard.ZstdError) as exc:
            raise JournalError(f"{path}: corrupt compressed journal: {exc}") from None
    return start, end


def read_journal(path: Path) -> list[dict[str, Any]]:
    """All complete events of a journal, in file order."""
    return list(iter_journal(path))
