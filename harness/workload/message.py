"""The payload every load message carries, so a receipt can be traced to its publish."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stamp:
    run: str       # run id: messages of another run are unexpected
    pub: str       # publisher id
    seq: int       # per-publisher sequence number, from 0
    sent: float    # send time on the run's monotonic clock (seconds)


def encode(stamp: Stamp, padding: int = 0) -> str:
    """The event's `data` string: the stamp as JSON, padded to a payload size."""
    body: dict[str, Any] = {"run": stamp.run, "pub": stamp.pub, "seq": stamp.seq, "sent": round(stamp.sent, 6)}
    if padding:
        body["pad"] = "x" * padding
    return json.dumps(body, separators=(",", ":"))


def decode(data: Any) -> Stamp | None:
    """The stamp in a received event's data (a JSON string), or None if it carries none."""
    try:
        body = json.loads(data) if isinstance(data, str) else data
        return Stamp(str(body["run"]), str(body["pub"]), int(body["seq"]), float(body["sent"]))
    except (ValueError, TypeError, KeyError):
        return None
