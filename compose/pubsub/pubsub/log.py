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
