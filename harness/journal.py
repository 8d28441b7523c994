"""The journal: one append-only JSON-lines history of a run.

Every event is one line `{"t": <monotonic s since run start>, "wall": <unix s>, "kind": ..., ...}`.
The writer buffers in memory and flushes at least every `flush_interval` seconds and at phase
boundaries, so a run killed with SIGKILL leaves every event up to its last flush; the reader checks every
event against the schema and skips a truncated last line for the same reason. The lines may be stored
compressed (harness.journal_codec); the reader takes any form. A frame's receipts may be one batched
line (harness.journal_receipts), which the reader expands into the `ws_receive` events it stands for.
Schema: docs/journal.md.
"""
from __future__ import annotations

import asyncio
import heapq
import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

import ujson
import zstandard

from harness import journal_receipts
from harness.journal_codec import CODECS, SUFFIXES, encoder, lines
from harness.journal_schema import SchemaChecker

# The canary's publisher and subscriber name (`pub`/`sub` in the journal), accounted apart from the load.
CANARY = "canary"
JOURNAL_NAME = "journal.jsonl"
# Lines held before they are encoded and written even between flushes: bounds the writer's memory.
MAX_PENDING = 4096


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
        # Called with each event as it is appended (the game day's live view); must not block.
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def append(self, kind: str, t: float | None = None, **fields: Any) -> dict[str, Any]:
        """Record one event now (or at monotonic time `t`) and return it."""
        t = self.clock.now() if t is None else t
        event = {"t": round(t, 6), "wall": round(self.clock.wall(t), 6), "kind": kind, **fields}
        self._pending.append(json.dumps(event, separators=(",", ":")))
        self.count += 1
        for listener in self.listeners:
            listener(event)
        if len(self._pending) >= MAX_PENDING:
            self._write()
        return event

    def append_receipts(self, t: float, sub: str, batch: FrameReceipts, scope: str = "") -> None:
        """Record the receipts of one frame by `sub` at monotonic time `t` as one batched line; readers
        see one `ws_receive` event a receipt (harness.journal_receipts), as `count` and listeners do."""
        line = journal_receipts.line(round(t, 6), round(self.clock.wall(t), 6), sub, batch, scope)
        self._pending.append(line)
        self.count += len(batch.members)
        if self.listeners:
            for event in journal_receipts.expand(json.loads(line)):
                for listener in self.listeners:
                    listener(event)
        if len(self._pending) >= MAX_PENDING:
            self._write()

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


def iter_journal(path: Path, schema: bool = True) -> Iterator[dict[str, Any]]:
    """Yield the events of a journal, plain or compressed, each checked against the schema
    (harness/journal_schema.py).

    The first bad line raises JournalError naming it; a truncated (unparsable) last line is skipped,
    not an error: a killed writer leaves one. `schema=False` reads a fragment (one component's events,
    in its tests, or a shard) checking only that each line is an event.
    """
    checker = SchemaChecker() if schema else None
    for number, line, event in _parsed(path):
        if checker is None:
            if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
                raise JournalError(f"{path}:{number}: not a journal event: {line[:80]!r}")
        elif problem := checker.check(event):
            raise JournalError(f"{path}:{number}: {problem}")
        yield event
    if checker is not None and checker.count == 0:
        raise JournalError(f"{path}: no complete event; is this a harness journal?")


def _parsed(path: Path) -> Iterator[tuple[int, str, Any]]:
    """(line number, line, parsed JSON) of every complete line; a cut last line is left out."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise JournalError(f"{path}: cannot read journal: {exc.strerror}") from None
    fast_loads, loads = ujson.loads, json.loads  # locals: once per event
    with handle:
        pending: tuple[int, str] | None = None
        try:
            for number, line in enumerate(lines(handle, MAX_LINE_CHARS), 1):
                if pending is not None:
                    raise JournalError(f"{path}:{pending[0]}: corrupt journal line: {pending[1][:80]!r}")
                if len(line) > MAX_LINE_CHARS:
                    raise JournalError(f"{path}:{number}: a line longer than {MAX_LINE_CHARS >> 20} Mi characters; "
                                       "not a harness journal")
                try:
                    # ujson: the same objects as json on every journal line tried (a million), in two
                    # thirds of the time; json decides any line ujson refuses.
                    event = fast_loads(line)
                except ValueError:
                    try:
                        event = loads(line)
                    except (ValueError, RecursionError):  # bad JSON, or an integer of over 4300 digits
                        if line.isspace() or not line:
                            continue
                        # Only the last line may be cut short (a killed writer); decide once we know it is last.
                        pending = (number, line)
                        continue
                if type(event) is dict and event.get("kind") == journal_receipts.KIND:
                    try:
                        expanded = journal_receipts.expand(event)
                    except journal_receipts.RecordError as exc:
                        raise JournalError(f"{path}:{number}: {journal_receipts.KIND}: {exc}") from None
                    for receipt in expanded:
                        yield number, line, receipt
                    continue
                yield number, line, event
        except (zlib.error, zstandard.ZstdError) as exc:
            raise JournalError(f"{path}: corrupt compressed journal: {exc}") from None


def iter_run(path: Path) -> Iterator[dict[str, Any]]:
    """The events of a run: its main journal merged with its shards in time order (each is in time
    order as written; ties keep the main journal first), checked against the schema as one journal.
    Without shards, `iter_journal(path)`."""
    shards = shards_of(path)
    if not shards:
        yield from iter_journal(path)
        return
    checker = SchemaChecker()
    merged = heapq.merge(*(iter_journal(p, schema=False) for p in [Path(path), *shards]), key=lambda e: e["t"])
    for number, event in enumerate(merged, 1):
        if problem := checker.check(event):
            raise JournalError(f"{path} with its shards, event {number} in time order: {problem}")
        yield event


@dataclass
class Bounds:
    """What `harness report` needs before judging: the run's first `run_start`, its last `run_end`, the
    first `phase_start`'s time and the time of the last complete line (events are in time order)."""

    start: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    first_phase_s: float | None = None
    last_s: float = 0.0


def run_bounds(path: Path) -> Bounds:
    """A journal's Bounds without keeping it: only the lines that name run_start, run_end or
    phase_start, and the last line, are parsed (a full read, e.g. `iter_journal`, checks every line)."""
    bounds = Bounds()
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise JournalError(f"{path}: cannot read journal: {exc.strerror}") from None
    last = ""
    with handle:
        try:
            for line in lines(handle, MAX_LINE_CHARS):
                if line.strip():
                    last = line
                if "run_start" in line or "run_end" in line or "phase_start" in line:
                    event = _object(line)
                    kind = event.get("kind")
                    if kind == "run_start" and bounds.start is None:
                        bounds.start = event
                    elif kind == "run_end":
                        bounds.end = event
                    elif kind == "phase_start" and bounds.first_phase_s is None and _is_time(event.get("t")):
                        bounds.first_phase_s = event["t"]
        except (zlib.error, zstandard.ZstdError) as exc:
            raise JournalError(f"{path}: corrupt compressed journal: {exc}") from None
    t = _object(last).get("t")
    bounds.last_s = t if _is_time(t) else 0.0
    return bounds


def _object(line: str) -> dict[str, Any]:
    """A line's JSON object, or {} (a cut or corrupt line: the full read reports it)."""
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _is_time(t: Any) -> bool:
    return type(t) in (int, float)


def read_journal(path: Path, schema: bool = True) -> list[dict[str, Any]]:
    """All complete events of a journal, in file order, checked against the schema (see iter_journal)."""
    return list(iter_journal(path, schema))
