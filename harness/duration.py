"""The one duration grammar of the harness: scenario fields and expectation lines alike.

`10` / `2.5` (seconds), `"10s"`, `"500ms"`, `"2m"`, `"1h"`.
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
