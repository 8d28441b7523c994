"""Publish schedules."""
import itertools

import pytest

from harness.workload.rate import Shape, due_times


def first(shape: Shape, n: int) -> list[float]:
    return [round(t, 6) for t in itertools.islice(due_times(shape), n)]


def test_constant():
    assert first(Shape("constant", rate=4), 5) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_stepped_holds_the_last_step():
    times = first(Shape("stepped", steps=(2, 4), step_s=1), 10)
    assert times == [0.0, 0.5, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75]


def test_bursty_adds_bursts_on_top_of_the_rate():
    times = first(Shape("bursty", rate=2, burst_size=3, burst_every_s=1), 10)
    assert times == [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("shape", [Shape("constant", rate=7), Shape("stepped", steps=(1, 50, 3), step_s=0.5),
                                   Shape("bursty", rate=3, burst_size=20, burst_every_s=0.7)])
def test_due_times_never_go_back(shape):
    times = first(shape, 500)
    assert times == sorted(times)


def test_segments_change_the_rate_from_their_start():
    assert first(Shape("constant", rate=1, segments=((0, 2), (1, 4), (2, 1))), 9) == [
        0.0, 0.5, 1.0, 1.25, 1.5, 1.75, 2.0, 3.0, 4.0]
