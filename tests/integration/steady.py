"""Helpers of the fault tests: the steady-state check and fault objects on a test's cluster."""
from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager, closing
from typing import Any, AsyncIterator

import docker
import httpx

from harness.cluster.cluster import Endpoints
from harness.faults.base import Fault
from harness.faults.catalog import validate_fault
from harness.faults.container import need_container
from harness.faults.factory import FaultContext, make_fault
from harness.faults.toxiproxy import ToxiproxyClient
from harness.workload.client import PusherSocket, publish


def inspect_service(project: str, service: str) -> dict:
    """`docker inspect` of a service's container, found by its Compose labels."""
    with closing(docker.from_env()) as client:
        return need_container(client, project, service).attrs


async def readyz(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """A node's /readyz as (status, body); (0, error class) when it cannot be reached."""
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
        try:
            response = await http.get(url + "/readyz")
        except httpx.TransportError as exc:
            return 0, type(exc).__name__
    return response.status_code, response.text


async def until_readyz(url: str, *wants: str, timeout: float = 20.0) -> str:
    """Poll /readyz until its body contains one of `wants`; the body. AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await readyz(url)
        if any(want in body for want in wants):
            return body
        assert time.monotonic() < deadline, f"{url}/readyz never said {' or '.join(wants)}; last {status} {body}"
        await asyncio.sleep(0.2)  # poll


async def steady(e: Endpoints, timeout: float = 30.0) -> None:
    """The steady-state check: every node's /readyz is 200 and a publish on the first node is
    delivered to a subscriber on the last."""
    for node in e.nodes:
        await until_readyz(node.http, '"ready"', timeout=timeout)
    app, channel = e.apps[0], f"steady-{uuid.uuid4().hex[:8]}"
    async with PusherSocket(e.nodes[-1].ws, app.key) as socket, httpx.AsyncClient(trust_env=False) as http:
        await socket.subscribe(channel)
        response = await publish(http, e.nodes[0].http, app, channel, "steady", "{}")
        assert response.status_code == 200, response.text
        event = await socket.next_event(5)
        assert event["channel"] == channel


async def publish_answer(e: Endpoints, node: int = 0, app: int = 0) -> tuple[int, str]:
    """One publish through a node as one of the apps: (status, the error it names or "")."""
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        response = await publish(http, e.nodes[node].http, e.apps[app], "probe", "probe", "{}")
    return response.status_code, response.json().get("error", "")


@asynccontextmanager
async def faults_on(e: Endpoints) -> AsyncIterator[Any]:
    """`async with faults_on(e) as fault: f = await fault(kind=..., ...)`: builds, injects and confirms
    faults on the cluster (evidence in `f.evidence`), and reverts every one on the way out."""
    made: list[Fault] = []
    async with ToxiproxyClient(e.toxiproxy) as toxiproxy:
        ctx = FaultContext(e, toxiproxy, len(e.nodes))

        async def fault(**raw: Any) -> Fault:
            f = make_fault(validate_fault(raw, ctx.nodes, raw["kind"]), ctx)
            made.append(f)
            await f.inject()
            f.evidence = await f.confirm()
            return f
        try:
            yield fault
        finally:
            for f in reversed(made):
                await f.revert()
