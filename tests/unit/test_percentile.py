"""Latencies: exact percentiles while the values are kept; beyond, every nearest-rank percentile within
RELATIVE_ERROR of the exact one (TINY absolute near 0), and the maximum exact."""
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.percentile import RELATIVE_ERROR, TINY, Latencies, percentile

latency = st.one_of(st.floats(0.001, 600_000.0), st.floats(-50.0, 50.0), st.just(0.0))
QS = (0.5, 0.9, 0.99, 0.999, 1.0, 0.0001)


@settings(max_examples=200, deadline=None)
@given(st.lists(latency, min_size=1, max_size=400), st.integers(1, 500), st.integers(1, 4))
def test_percentiles_are_exact_while_kept_and_within_the_bound_beyond(values, limit, chunks):
    kept = Latencies(limit)
    step = max(1, len(values) // chunks)
    for i in range(0, len(values), step):   # in pieces, as windows receive them: added, or merged
        if i % 2:
            kept.extend(values[i:i + step])
        else:
            piece = Latencies(limit // 2 + 1)
            piece.extend(values[i:i + step])
            kept.merge(piece)
    assert len(kept) == len(values)
    if len(values) > limit:
        assert kept.exact is None, "more values than the limit are binned"
    for q in QS:
        exact, approx = percentile(values, q), kept.quantile(q)
        # Exact while every value is kept: a piece that itself overflowed to bins makes the whole binned.
        if kept.exact is not None or q == 1.0:
            assert approx == exact
        else:
            assert abs(approx - exact) <= RELATIVE_ERROR * abs(exact) * (1 + 1e-9) + TINY


def test_a_million_values_in_a_few_hundred_bins():
    kept = Latencies(1000)
    kept.extend([5 + (i % 10_000) / 1000 for i in range(1_000_000)])    # 5 … 15 ms
    assert kept.exact is None and len(kept.bins) < 120
    assert math.isclose(kept.quantile(0.5), 10.0, rel_tol=RELATIVE_ERROR)
    assert kept.quantile(1.0) == 14.999


def test_no_values_no_percentile():
    assert Latencies(10).quantile(0.5) is None
