"""Output directories of runs, game days and hunts: made new, never written over (docs/promises.md)."""
from __future__ import annotations

from pathlib import Path


def claim(directory: Path, what: str, *taken: str) -> str | None:
    """Make `directory` for a new `what` (a run, a hunt); the problem, in one line, when a file matching
    one of the `taken` patterns (an earlier output's, e.g. `journal.jsonl*`, compressed or not) is there
    already or the directory cannot be made; None when it is ours."""
    for pattern in taken:
        found = next(directory.glob(pattern), None) if directory.is_dir() else None
        if found is not None:
            return f"{found} already holds {what}; choose another --out ({what.split()[-1]}s are never overwritten)"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot write to --out {directory}: {exc.strerror}"
    return None
