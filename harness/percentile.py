"""The one percentile of the harness: nearest rank, used by the analysis, live progress and benchmarks.

`Latencies` holds the latencies of one window or timeline bucket in bounded memory: the values
themselves up to `exact` of them (percentiles exact), beyond that a log-bucketed histogram (DDSketch's
mapping) whose nearest-rank percentiles are within RELATIVE_ERROR of the exact ones; `max` stays exact.
"""
from __future__ import annotations

import math
from array import array
from typing import Any, Iterable, Sequence

QUANTILES = ("p50", "p90", "p99", "max")
# A histogram bin spans (γ^(k-1), γ^k] and answers 2γ^k/(γ+1): at most RELATIVE_ERROR from any value in it.
RELATIVE_ERROR = 0.005
_GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
_LOG_GAMMA = math.log(_GAMMA)
# Values nearer 0 than this (ms) share one bin answering 0: an absolute error of at most this.
TINY = 1e-9


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile of unsorted values (q in 0..1); None for no values."""
    ordered = sorted(values)
    return _rank(ordered, q) if ordered else None


def _rank(ordered: list[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class Latencies:
    """Values kept exactly up to `exact` of them, then in a histogram with relative error RELATIVE_ERROR."""

    __slots__ = ("exact", "limit", "bins", "count", "low", "high")

    def __init__(self, exact: int) -> None:
        self.exact: array | None = array("d")
        self.limit = exact
        self.bins: dict[int, int] = {}          # bin → count; positive bins k ≥ 1, 0 the TINY bin, negatives < 0
        self.count = 0
        self.low, self.high = math.inf, -math.inf

    def __len__(self) -> int:
        return self.count

    def append(self, value: float) -> None:
        self.count += 1
        if value > self.high:
            self.high = value
        if value < self.low:
            self.low = value
        if self.exact is None:
            key = bins_of((value,))[0]
            self.bins[key] = self.bins.get(key, 0) + 1
        else:
            self.exact.append(value)
            if len(self.exact) > self.limit:
                self._to_bins()

    def extend(self, values: Sequence[float]) -> None:
        """Add values."""
        if not values:
            return
        self.count += len(values)
        self.high = max(self.high, max(values))
        self.low = min(self.low, min(values))
        if self.exact is not None:
            self.exact.extend(values)
            if len(self.exact) > self.limit:
                self._to_bins()
            return
        bins = self.bins
        for key in bins_of(values):
            bins[key] = bins.get(key, 0) + 1

    def merge(self, other: Latencies) -> None:
        """Add another's values (exact ones as values; binned ones as bins: these are then binned too)."""
        if other.exact is not None and (self.exact is not None or not other.exact):
            self.extend(other.exact)
            return
        if other.exact is not None:   # into a histogram: as other's bins, computed once for every merge
            other._to_bins()
        self.count += other.count
        self.high, self.low = max(self.high, other.high), min(self.low, other.low)
        if self.exact is not None:
            self._to_bins()
        for key, n in other.bins.items():
            self.bins[key] = self.bins.get(key, 0) + n

    def _to_bins(self) -> None:
        bins = self.bins
        for key in bins_of(self.exact):
            bins[key] = bins.get(key, 0) + 1
        self.exact = None

    def quantile(self, q: float) -> float | None:
        """The nearest-rank percentile (exact while the values are kept; else within RELATIVE_ERROR)."""
        if not self.count:
            return None
        if q >= 1.0:
            return self.high
        if self.exact is not None:
            return _rank(sorted(self.exact), q)
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for key in sorted(self.bins):
            seen += self.bins[key]
            if seen >= rank:
                return min(self.high, max(self.low, _value(key)))
        return self.high


class Unkept(Latencies):
    """Latencies nobody reports (a timeline bucket's publish latencies): not kept."""

    def append(self, value: float) -> None:
        pass

    def extend(self, values: Sequence[float]) -> None:
        pass

    def merge(self, other: Latencies) -> None:
        pass


UNKEPT = Unkept(0)

# Bins in value order: negatives (-k for -γ^k), 0 for |v| < TINY, positives offset by _SHIFT so every
# value from TINY up has a key ≥ 1.
_SHIFT = 1 - math.ceil(math.log(TINY) / _LOG_GAMMA)


def bins_of(values: Iterable[float]) -> list[int]:
    """The histogram bins of values."""
    log, ceil, scale, shift = math.log, math.ceil, 1 / _LOG_GAMMA, _SHIFT
    return [ceil(log(v) * scale) + shift if v >= TINY else -(ceil(log(-v) * scale) + shift) if v <= -TINY else 0
            for v in values]


def _value(key: int) -> float:
    if key == 0:
        return 0.0
    magnitude = 2 * _GAMMA ** (abs(key) - _SHIFT) / (_GAMMA + 1)
    return magnitude if key > 0 else -magnitude


def summarise(prefix: str, values: Iterable[float] | Latencies, out: dict[str, Any],
              quantiles: Iterable[str] = QUANTILES) -> None:
    """`<prefix>.p50|p90|p99|max` (those asked for) into `out`, rounded to the millisecond's thousandth."""
    if not isinstance(values, Latencies):
        kept = Latencies(math.inf)  # type: ignore[arg-type]
        kept.extend(list(values))
        values = kept
    for name in quantiles:
        value = values.quantile(1.0 if name == "max" else int(name[1:]) / 100)
        out[f"{prefix}.{name}"] = None if value is None else round(value, 3)
