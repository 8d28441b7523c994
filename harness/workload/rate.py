"""Publish schedules (pure): when each publish is due, as seconds from the start of the load.

constant: `rate` per second. stepped: `steps` rates in turn, each for `step_s`, the last one held.
bursty: `rate` per second plus `burst_size` publishes at once every `burst_every_s`.
`segments` ((start s, rate), …; per-phase rates) replace `rate` from each start on, for constant and bursty.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Iterator

SHAPES = ("constant", "stepped", "bursty")


@dataclass(frozen=True)
class Shape:
    kind: str = "constant"
    rate: float = 20.0
    steps: tuple[float, ...] = ()
    step_s: float = 5.0
    burst_size: int = 0
    burst_every_s: float = 5.0
    segments: tuple[tuple[float, float], ...] = ()


def due_times(shape: Shape) -> Iterator[float]:
    """Non-decreasing due times of every publish (endless; the caller bounds it by count and time)."""
    if shape.kind == "stepped" and shape.steps:
        base = _stepped(shape)
    elif shape.segments:
        base = _segmented(shape.segments)
    else:
        base = (i / shape.rate for i in itertools.count())
    if shape.kind != "bursty" or shape.burst_size <= 0:
        return base
    bursts = (k * shape.burst_every_s for k in itertools.count(1) for _ in range(shape.burst_size))
    return heapq.merge(base, bursts)


def _stepped(shape: Shape) -> Iterator[float]:
    t = 0.0
    for index in itertools.count():
        rate = shape.steps[min(index, len(shape.steps) - 1)]
        end = (index + 1) * shape.step_s
        while t < end or index >= len(shape.steps) - 1:
            yield t
            t += 1.0 / rate


def _segmented(segments: tuple[tuple[float, float], ...]) -> Iterator[float]:
    for index, (start, rate) in enumerate(segments):
        end = segments[index + 1][0] if index + 1 < len(segments) else None
        t = start
        while end is None or t < end - 1e-9:
            yield t
            t += 1.0 / rate
