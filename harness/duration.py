"""The one duration grammar of the harness: scenario fields and expectation lines alike.

`10` / `2.5` (seconds), `"10s"`, `"500ms"`, `"2m"`, `"1h"`; ranges `"5s..15s"`.
"""
from __future__ import annotations

import math
import re
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
EXAMPLES = "10s, 500ms, 2m, 1h (or plain seconds)"


def parse_duration(value: Any) -> float | None:
    """Seconds from 10, 2.5, "10s", "500ms", "2m", "1h"; None when it is not a finite duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT[match.group(2)]   # 400 digits: inf
    else:
        return None
    return seconds if math.isfinite(seconds) else None


def parse_range(value: Any) -> tuple[float, float] | None:
    """(low, high) seconds from "5s..15s" (or one duration: low == high); None when it is not one."""
    low_text, sep, high_text = value.partition("..") if isinstance(value, str) else (value, "", None)
    low = parse_duration(low_text)
    high = parse_duration(high_text) if sep else low
    if low is None or high is None or high < low:
        return None
    return low, high
