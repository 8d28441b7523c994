"""Health and readiness probes as measured facts: every node's probes polled once a second during a run,
each answer journaled as a `probe` event (docs/journal.md); the per-window metrics of those answers are
the judge's (harness/probe_metrics.py).

Probes go to each node's own port, as a load balancer's health check would, not through Toxiproxy.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from harness.journal import JournalWriter
from harness.systems.base import Probe

INTERVAL_S = 1.0
TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Answer:
    ok: bool
    status: int | None
    latency_ms: float
    error: str | None


def verdict(probe: Probe, status: int, body: bytes) -> tuple[bool, str | None]:
    """Whether an HTTP answer passes the probe, and why not (pure)."""
    if not 200 <= status < 300:
        return False, f"HTTP {status}"
    if probe.api_errors:
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return False, "answer is not JSON"
        if isinstance(doc, dict) and doc.get("error"):
            return False, f"API error {json.dumps(doc['error'], separators=(',', ':'))[:160]}"
    return True, None


def request_args(probe: Probe, base_url: str) -> dict[str, Any]:
    """httpx request arguments of one probe of a node at base_url."""
    return {"method": probe.method, "url": base_url + probe.path, "headers": dict(probe.headers),
            "content": probe.body.encode() if probe.body is not None else None}


async def ask(http: httpx.AsyncClient, probe: Probe, base_url: str) -> Answer:
    """One probe of one node; a transport failure is a failed answer, never an exception."""
    started = time.monotonic()
    try:
        response = await http.request(**request_args(probe, base_url))
    except httpx.HTTPError as exc:
        return Answer(False, None, round((time.monotonic() - started) * 1000, 3), type(exc).__name__)
    latency = round((time.monotonic() - started) * 1000, 3)
    ok, error = verdict(probe, response.status_code, response.content)
    return Answer(ok, response.status_code, latency, error)


@dataclass
class Prober:
    """Polls every probe of every node once a second until stopped; journals each answer."""

    probes: tuple[Probe, ...]
    nodes: dict[str, str]               # node name → its own base URL
    journal: JournalWriter
    interval_s: float = INTERVAL_S

    async def run(self, stop: asyncio.Event, max_seconds: float) -> None:
        targets = [(p, node, url) for p in self.probes for node, url in self.nodes.items() if p.applies_to(node)]
        if not targets:
            return
        deadline = time.monotonic() + max_seconds
        async with httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False) as http:
            while not stop.is_set() and time.monotonic() < deadline:
                tick = time.monotonic()
                answers = await asyncio.gather(*(ask(http, p, url) for p, _, url in targets))
                for (probe, node, _), a in zip(targets, answers):
                    self.journal.append("probe", name=probe.name, node=node, ok=a.ok, status=a.status,
                                        latency_ms=a.latency_ms, error=a.error)
                try:
                    await asyncio.wait_for(stop.wait(), max(0.0, tick + self.interval_s - time.monotonic()))
                except asyncio.TimeoutError:
                    pass
