"""The one percentile of the harness: nearest rank, used by the analysis, live progress and benchmarks."""
from __future__ import annotations

import math
from typing import Any, Iterable

QUANTILES = ("p50", "p90", "p99", "max")


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile of unsorted values (q in 0..1); None for no values."""
    ordered = sorted(values)
    return _rank(ordered, q) if ordered else None


def _rank(ordered: list[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarise(prefix: str, values: list[float], out: dict[str, Any], quantiles: Iterable[str] = QUANTILES) -> None:
    """`<prefix>.p50|p90|p99|max` (those asked for) into `out`, rounded to the millisecond's thousandth."""
    ordered = sorted(values)
    for name in quantiles:
        q = 1.0 if name == "max" else int(name[1:]) / 100
        out[f"{prefix}.{name}"] = round(_rank(ordered, q), 3) if ordered else None
