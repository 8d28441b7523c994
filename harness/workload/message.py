"""The payload every load message carries, so a receipt can be traced to its publish."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.journal_schema import SEQ_LIMIT


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


# A JSON string's text that needs no unescaping: no quote, backslash or control character (which JSON
# forbids raw), so the text between the quotes is the string itself.
PLAIN_TEXT = r'[^"\\\x00-\x1f]*'
# A stamp exactly as `encode` writes it, found without parsing JSON (a protocol's fast path over a frame),
# in two parts: the head (run and pub captured) and the tail, whose seq and sent members are captured as
# one text, `"seq":7,"sent":1.5`. Only what `decode` reads the same is matched: seq a canonical JSON
# integer of up to 9 digits (inside SEQ_LIMIT), sent a JSON number without an exponent (finite, and `float` of its text is
# what `decode` returns); anything else takes the full parse.
STAMP_HEAD = r'\{"run":"(' + PLAIN_TEXT + r')","pub":"(' + PLAIN_TEXT + r')",'
STAMP_TAIL = r'("seq":-?(?:0|[1-9][0-9]{0,8}),"sent":-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,17})?)(?:,"pad":"x*")?\}'
# The usual tail, matched several times faster (optional parts cost the regex engine most): seq from 1,
# sent from 1 s with a fraction, no padding. A subset of STAMP_TAIL.
STAMP_TAIL_USUAL = r'("seq":[1-9][0-9]{0,8},"sent":[1-9][0-9]{0,15}\.[0-9]{1,17})\}'


def decode(data: Any) -> Stamp | None:
    """The stamp in a received event's data (a JSON string), or None if it carries none (a seq out of
    the journal's range is none: the message is not one the harness sent)."""
    try:
        body = json.loads(data) if isinstance(data, str) else data
        stamp = Stamp(str(body["run"]), str(body["pub"]), int(body["seq"]), float(body["sent"]))
    except (ValueError, TypeError, KeyError):
        return None
    return stamp if -SEQ_LIMIT <= stamp.seq < SEQ_LIMIT else None
