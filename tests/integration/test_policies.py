"""The nodes' failure policies chosen by the scenario's `cluster:` field reach the nodes (issue 9).

With Redis unreachable, a publish under `strict` fails; under `degrade` it is served from the node's
memory and delivered locally. Before, HX_* variables were stripped and `degrade` could never be chosen.
"""
from __future__ import annotations

import asyncio
import time

import pytest

from harness.faults.catalog import validate_fault
from harness.faults.factory import FaultContext, make_fault
from harness.faults.toxiproxy import ToxiproxyClient
from harness.scenario import loads
from harness.workload.client import publish

import httpx

pytestmark = pytest.mark.integration

SCENARIO = """\
name: policies
cluster: {{nodes: 1, redis_policy: {policy}, upstream_policy: {policy}}}
phases: [{{name: steady, duration: 1s}}]
expect: ["steady: publish.success_rate >= 0.99"]
"""


async def publish_with_redis_down(e) -> tuple[int, int]:
    """Status of a publish with Redis reachable (warming the node's app memory), then with it down."""
    app, node = e.apps[0], e.nodes[0]
    spec = validate_fault({"kind": "down", "target": "redis"}, 1, "redis-down")
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http, ToxiproxyClient(e.toxiproxy) as toxiproxy:
        before = (await publish(http, node.http, app, "hx-policy", "hx-load", "{}")).status_code
        fault = make_fault(spec, FaultContext(e, toxiproxy, 1))
        await fault.inject()
        try:
            await fault.confirm()
            deadline, status = time.monotonic() + 15, None
            while time.monotonic() < deadline:  # poll: the node notices the dead link within its timeouts
                status = (await publish(http, node.http, app, "hx-policy", "hx-load", "{}")).status_code
                if status >= 500:
                    break
                await asyncio.sleep(0.5)  # poll interval
            return before, status
        finally:
            await fault.revert()


@pytest.mark.parametrize("policy, down_ok", [("strict", False), ("degrade", True)])
def test_the_scenarios_policy_reaches_the_node(make_cluster, policy, down_ok):
    s = loads(SCENARIO.format(policy=policy))
    assert (s.redis_policy, s.upstream_policy) == (policy, policy)
    args = s.cluster_args()
    cluster, e = make_cluster(args.pop("nodes"), **args)
    before, during = asyncio.run(publish_with_redis_down(e))
    assert before == 200
    assert (during < 300) is down_ok, f"{policy}: a publish with Redis down answered {during}"
