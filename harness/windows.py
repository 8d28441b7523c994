"""Windows: the spans of a run that metrics are computed over and expectations name.

The phases, the scenario's named windows (offsets inside a phase) and `run`, the whole run.
"""
from __future__ import annotations

from dataclasses import dataclass

WHOLE_RUN = "run"


@dataclass(frozen=True)
class Window:
    name: str
    start: float
    end: float

    def holds(self, t: float) -> bool:
        return self.start <= t < self.end

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class NamedWindow:
    """A window the scenario names: offsets in seconds from its phase's start (end None: the phase's end)."""

    name: str
    phase: str
    start_s: float = 0.0
    end_s: float | None = None
