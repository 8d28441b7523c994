"""Builds the fault object of a validated spec, given what faults act through (FaultContext)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.cluster.cluster import Endpoints
from harness.faults.base import Fault, FaultError
from harness.faults.catalog import FAULT_KINDS, FaultSpec
from harness.faults.container import ContainerFault, RecreateFault
from harness.faults.network import PartitionFault
from harness.faults.presets import PresetFault
from harness.faults.redis import ClientPauseFault, ConfigSetFault, DebugSleepFault
from harness.faults.toxic import ProxyDownFault, ToxicFault
from harness.faults.toxiproxy import ToxiproxyClient
from harness.faults.upstream import UpstreamFault


@dataclass
class FaultContext:
    """One running cluster as faults see it: its Compose project, its endpoints, a Toxiproxy client,
    and how many nodes it was started with (a stopped node has no endpoint but still has proxies)."""

    endpoints: Endpoints
    toxiproxy: ToxiproxyClient
    nodes: int

    @property
    def project(self) -> str:
        return self.endpoints.project

    def url(self, service: str) -> str:
        url = getattr(self.endpoints, service)
        if not url:
            raise FaultError(f"cluster {self.project} publishes no {service} port")
        return url


def make_fault(spec: FaultSpec, ctx: FaultContext, memo: dict[str, Any] | None = None) -> Fault:
    """The fault object for a validated spec; `memo` restores one injected by another process."""
    memo = {} if memo is None else memo
    family = FAULT_KINDS[spec.kind].family
    if family == "toxic":
        return ToxicFault(spec, ctx.toxiproxy, spec.links(ctx.nodes), memo)
    if family == "proxy":
        return ProxyDownFault(spec, ctx.toxiproxy, spec.links(ctx.nodes), memo)
    if family == "container":
        return ContainerFault(spec, ctx.project, memo)
    if family == "recreate":
        return RecreateFault(spec, ctx.project, spec.target, spec.params["env"], memo)
    if family == "network":
        return PartitionFault(spec, ctx.project, memo)
    if family == "preset":
        # No url() check: reverting must work while the preset keeps Redis from publishing its port.
        return PresetFault(spec, ctx.project, ctx.endpoints.redis or "", memo)
    if spec.kind == "redis-client-pause":
        return ClientPauseFault(spec, ctx.url("redis"), memo)
    if spec.kind == "redis-debug-sleep":
        return DebugSleepFault(spec, ctx.project, ctx.url("redis"), memo)
    if spec.kind == "redis-config-set":
        return ConfigSetFault(spec, ctx.url("redis"), memo)
    if family == "upstream":
        return UpstreamFault(spec, ctx.url("upstream"), ctx.endpoints.apps[0].id, memo)
    raise AssertionError(f"no fault object for kind {spec.kind}")  # the catalog and this function disagree
