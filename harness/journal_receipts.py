"""The batched receipt record: one journal line for the stamped messages one subscriber received in one
WebSocket frame, read back as the `ws_receive` events it stands for (docs/journal.md, "ws_receipts").

At tens of thousands of deliveries a second, one JSON object a receipt costs the subscriber more than
receiving it; a frame's receipts share the subscriber and the arrival time, so they are written as one
line, from the texts a protocol's fast scan found (FrameReceipts), without parsing or formatting a
number:

    {"t":…,"wall":…,"kind":"ws_receipts","sub":"s1","channel":"c","run":"r","pub":"p1",
     "receipts":[{"seq":7,"sent":1.5},{"seq":8,"sent":1.6}]}

`channel`, `run` and `pub` are one text when every receipt shares it, else a list of one text a
receipt. Every reader sees the same events as from one `ws_receive` line a receipt: `expand` is applied
by the journal reader itself, so a journal in either form, or both, is judged the same (tested).
"""
from __future__ import annotations

import functools
import math
from json.encoder import encode_basestring_ascii as _text  # the C encoder json.dumps uses for a str
from typing import Any, NamedTuple

from harness.strict_yaml import shown

KIND = "ws_receipts"
RECEIPT = "ws_receive"


class FrameReceipts(NamedTuple):  # a tuple: cheaper to make, one a frame
    """The stamped messages of one received frame, as text a protocol's fast scan found (the workload's
    message.STAMP_HEAD and STAMP_TAIL): message i arrived on channel `channels[i]` carrying run
    `runs[i]`, pub `pubs[i]`, and its stamp's seq and sent members `members[i]` (JSON text:
    `"seq":7,"sent":1.5`); `channels`, `runs` and `pubs` are one text when every message shares it.
    Texts, not one object a message: what the journal writes from them costs a join, not a call per
    message."""

    channels: str | tuple[str, ...]
    runs: str | tuple[str, ...]
    pubs: str | tuple[str, ...]
    members: list[str] | tuple[str, ...]


def line(t: float, wall: float, sub: str, batch: FrameReceipts, scope: str = "") -> str:
    """The record's JSON line (pure): `t`, `wall` already rounded as the writer rounds them, `scope`
    prefixed to every channel as the subscriber journals it."""
    return (f'{{"t":{t!r},"wall":{wall!r},{_named(sub, batch.channels, batch.runs, batch.pubs, scope)}'
            f'"receipts":[{{{"},{".join(batch.members)}}}]}}')


def _named(sub: str, channels: str | tuple[str, ...], runs: str | tuple[str, ...], pubs: str | tuple[str, ...],
           scope: str) -> str:
    """The record's fields from `kind` to `pub`, with the comma after them."""
    if type(channels) is str and type(runs) is str and type(pubs) is str:
        return _shared_names(sub, channels, runs, pubs, scope)
    channels = channels if not scope else scope + channels if type(channels) is str else tuple(scope + c for c in channels)
    return (f'"kind":"{KIND}","sub":{_text(sub)},"channel":{_column(channels)},"run":{_column(runs)},'
            f'"pub":{_column(pubs)},')


@functools.lru_cache(maxsize=1024)
def _shared_names(sub: str, channel: str, run: str, pub: str, scope: str) -> str:
    # The usual frame: a subscriber's receipts of one publisher on one channel, the same text every frame.
    return f'"kind":"{KIND}","sub":{_text(sub)},"channel":{_text(scope + channel)},"run":{_text(run)},"pub":{_text(pub)},'


def _column(values: str | tuple[str, ...]) -> str:
    if type(values) is str:
        return _text(values)
    first = values[0]
    if values.count(first) == len(values):
        return _text(first)
    return f'[{",".join(map(_text, values))}]'


class RecordError(ValueError):
    """A `ws_receipts` record that does not hold receipts (the reader names its line)."""


def expand(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The `ws_receive` events a `ws_receipts` record stands for, in its order, each as the writer would
    have written it alone (same fields, same order, `sent` a float). RecordError says what is wrong."""
    receipts = record.get("receipts")
    if type(receipts) is not list or not receipts:
        raise RecordError("receipts must be a non-empty list of {seq, sent} objects")
    n = len(receipts)
    for receipt in receipts:
        if (type(receipt) is not dict or len(receipt) != 2 or type(receipt.get("seq")) is not int
                or type(sent := receipt.get("sent")) not in (int, float) or not math.isfinite(sent)):
            raise RecordError(f"each receipt must be {{seq: an integer, sent: a finite number}}, got {shown(receipt, 60)}")
    channels, runs, pubs = (_shared(record, name, n) for name in ("channel", "run", "pub"))
    t, wall, sub = record.get("t"), record.get("wall"), record.get("sub")
    return [{"t": t, "wall": wall, "kind": RECEIPT, "sub": sub, "channel": c, "run": r, "pub": p, "seq": receipt["seq"],
             "sent": float(receipt["sent"])}
            for c, r, p, receipt in zip(channels, runs, pubs, receipts)]


def _shared(record: dict[str, Any], name: str, n: int) -> list[str]:
    value = record.get(name)
    if type(value) is str:
        return [value] * n
    if type(value) is list and len(value) == n and all(type(v) is str for v in value):
        return value
    raise RecordError(f"{name} must be text, or a list of {n} texts (one a receipt), got {shown(value, 40)}")
