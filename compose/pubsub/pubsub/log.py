"""Structured logs: one JSON object per line on stdout, so the harness can parse node output."""
from __future__ import annotations

import json
import sys
import time
from typing import Any

_node = "unknown"


def set_node(name: str) -> None:
    """Remember the node name so every line says which node wrote it."""
    global _node
    _node = name


def log(event: str, level: str = "info", **fields: Any) -> None:
    """Write one event line; never raises (a log failure must not break request handling)."""
    record = {"ts": round(time.time(), 6), "level": level, "node": _node, "event": event, **fields}
    try:
        sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - stdout closed or unserialisable: drop the line
        pass


class ThrottledLog:
    """Under a fault every request fails the same way: one line per key per interval, carrying the
    number of lines suppressed since the last one, keeps logs readable without hiding how many there were."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._last: dict[tuple[str, ...], float] = {}
        self._suppressed: dict[tuple[str, ...], int] = {}

    def log(self, key: tuple[str, ...], event: str, level: str = "error", **fields: Any) -> None:
        now = time.monotonic()
        if now - self._last.get(key, float("-inf")) < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._last[key] = now
        log(event, level=level, suppressed_since_last=self._suppressed.pop(key, 0), **fields)
