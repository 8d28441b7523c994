"""Output directories of runs, game days and hunts: made new, never written over (docs/promises.md)."""
from __future__ import annotations

from pathlib import Path


def claim(directory: Path, what: str, *taken: Path) -> str | None:
    """Make `directory` for a new `what` (a run, a hunt); the problem, in one line, when one of `taken`
    (an earlier output's files) is there already or the directory cannot be made; None when it is ours."""
    for path in taken:
        if path.exists():
            return f"{path} already holds {what}; choose another --out ({what.split()[-1]}s are never overwritten)"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot write to --out {directory}: {exc.strerror}"
    return None
