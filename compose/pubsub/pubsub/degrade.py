"""The failure policy of one dependency: `strict` re-raises, `degrade` counts and logs the degraded path.

Every degraded path goes through `Policy.absorb`, so none is taken silently: each increments
`pubsub_degraded_total{reason}` and writes a (throttled) `degraded` log line.
"""
from __future__ import annotations

from .errors import DependencyError
from .log import ThrottledLog
from .metrics import Metrics

# Reasons, the values of the `reason` label (docs/node.md explains each).
APP_FROM_MEMORY = "app_from_memory"        # Redis or upstream failed: app served from the in-process LRU
APP_CACHE_BYPASS = "app_cache_bypass"      # Redis failed: app read from the upstream, not written back
APP_CACHE_WRITE = "app_cache_write"        # Redis write-back of a fetched app failed: served anyway
COUNTER_SKIPPED = "counter_skipped"        # publish counter / quota not checked
LOCAL_DELIVERY = "local_delivery"          # fan-out PUBLISH failed: delivered to this node's sockets only
OCCUPANCY_LOCAL = "occupancy_local"        # channels / presence answered from this node's sockets only


class Policy:
    """strict or degrade, for one dependency ("redis" or "upstream")."""

    def __init__(self, dependency: str, mode: str, metrics: Metrics) -> None:
        self.dependency = dependency
        self.mode = mode
        self.metrics = metrics
        self._log = ThrottledLog()

    @property
    def degrades(self) -> bool:
        return self.mode == "degrade"

    def absorb(self, exc: DependencyError, reason: str) -> None:
        """Under `degrade`, record that `reason`'s path is taken because of exc; under `strict`, re-raise."""
        if not self.degrades:
            raise exc
        self.metrics.degraded.inc(reason=reason)
        self._log.log((reason, exc.kind), "degraded", level="warning", reason=reason,
                      dependency=exc.dependency, kind=exc.kind)
