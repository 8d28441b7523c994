"""The schema checker's fast path accepts exactly what its full rules accept, in the same state."""
import math

from hypothesis import given, settings, strategies as st

from harness.journal_schema import KINDS, SchemaChecker

VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6),
                   st.sampled_from([2**33 - 1, 2**33, -2**33, -2**33 - 1, 10**18]),   # about a seq's range st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from(["", "x", "hx-load-0"]), st.just({}), st.just([]), st.just({"a": 1}))
FIELDS = sorted({name for spec in KINDS.values() for name in [*spec.required, *spec.optional]})
EVENTS = st.fixed_dictionaries(
    {"kind": st.one_of(st.sampled_from(sorted(KINDS)), st.sampled_from(["unknown", "", "x" * 70])),
     "t": st.one_of(st.floats(0, 10), st.integers(0, 10), st.just(math.nan), st.just(True), st.just(-1.0),
                    st.just(8 * 24 * 3600.0)),
     "wall": st.one_of(st.floats(1.0, 2e9), st.just(0.0), st.just(math.inf), st.just("1"))},
    optional={name: VALUES for name in FIELDS})


@settings(max_examples=100, deadline=None)  # keeps the unit suite in seconds; CI runs it every time
@given(st.lists(EVENTS, min_size=1, max_size=6))
def test_fast_path_and_full_rules_agree(events):
    fast, full = SchemaChecker(), SchemaChecker()
    for event in events:
        answer = fast.check(event)
        assert (answer is None) == (full._check(event) is None), event
        assert (fast.count, fast.latest) == (full.count, full.latest) or answer is not None
        if answer is not None:
            break
