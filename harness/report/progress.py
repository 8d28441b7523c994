"""Live progress during a run: one line a second with the current phase's load and health."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable

from harness.percentile import percentile
from harness.journal import Clock


@dataclass
class Progress:
    clock: Clock
    log: Callable[[str], None]
    phase: str = "-"
    subscribers: list = field(default_factory=list)
    _ok: int = 0
    _err: int = 0
    _latencies: list[float] = field(default_factory=list)

    def published(self, ok: bool) -> None:
        if ok:
            self._ok += 1
        else:
            self._err += 1

    def received(self, latency_ms: float) -> None:
        self._latencies.append(latency_ms)

    async def tick(self, every: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every)
            lat = self._latencies
            p99 = f"{percentile(lat, 0.99):.0f}ms" if lat else "-"
            connected = sum(1 for s in self.subscribers if s.connected)
            total = len(self.subscribers)
            self.log(f"  {self.clock.now():6.1f}s {self.phase:<12} publish ok {self._ok:4d} err {self._err:3d} · "
                     f"delivered {len(lat):5d} p99 {p99:>7} · ws {connected}/{total}")
            self._ok = self._err = 0
            self._latencies = []
