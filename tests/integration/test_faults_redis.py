"""Redis faults on a real cluster: each shows the nodes the Redis error class it is about."""
from __future__ import annotations

import asyncio

import pytest
import redis.exceptions as rex

from harness.faults.presets import PRESETS
from harness.faults.redis import redis_command
from tests.integration.steady import faults_on, publish_answer, steady, until_readyz

pytestmark = pytest.mark.integration

# preset -> (what the confirmation saw, the classes a node may name in its 503 and /readyz)
PRESET_EFFECTS = {
    "redis-wrong-password": ("AuthenticationError", ("NOAUTH",)),
    "redis-maxmemory-exhausted": ("OOM command not allowed", ("OOM",)),
    "redis-misconf-unwritable-dir": ("MISCONF", ("MISCONF",)),
    "redis-bad-port": ("PING on 6380 inside the container -> PONG", ("refused",)),
    # With the container exited, the name `redis` is unknown to Docker's DNS, which then asks the
    # host's resolvers: Toxiproxy's dial fails fast (refused) or only after the node's timeout.
    "redis-exits-at-start": ("container exited with code 1", ("refused", "timeout")),
}


def test_misconfiguration_presets_fail_the_nodes_with_their_error_class(cluster):
    _, e = cluster
    assert set(PRESET_EFFECTS) == set(PRESETS)

    async def scenario():
        await steady(e)
        for kind, (seen, classes) in PRESET_EFFECTS.items():
            async with faults_on(e) as fault:
                f = await fault(kind=kind)
                assert seen in f.evidence, f.evidence
                assert f"{next(iter(PRESETS[kind].env))}=" in f.evidence   # seen by exec env, or inspect once exited
                for node in e.nodes:
                    await until_readyz(node.http, *(f"redis: {c}" for c in classes))
                status, error = await publish_answer(e)
                assert status == 503 and error in {f"redis unavailable: {c}" for c in classes}, (kind, error)
            await steady(e)   # the original Redis is back and both nodes reconnected through Toxiproxy

    asyncio.run(scenario())


def test_pause_sleep_and_config_set(cluster):
    _, e = cluster

    async def scenario():
        await steady(e)
        before = await redis_command(e.redis, "CONFIG", "GET", "maxmemory")
        async with faults_on(e) as fault:
            f = await fault(kind="redis-config-set", parameter="maxmemory", value=1)
            assert "CONFIG GET maxmemory = '1'" in f.evidence
            assert await publish_answer(e) == (503, "redis unavailable: OOM")
        assert await redis_command(e.redis, "CONFIG", "GET", "maxmemory") == before
        await steady(e)

        async with faults_on(e) as fault:
            await fault(kind="redis-client-pause", duration=20_000, mode="write")
            assert await redis_command(e.redis, "GET", "anything") is None   # reads still answer
            assert await publish_answer(e) == (503, "redis unavailable: timeout")
        await steady(e, timeout=5)   # well before the 20 s pause would have ended by itself

        async with faults_on(e) as fault:
            f = await fault(kind="redis-debug-sleep", seconds=3)
            assert "PING unanswered" in f.evidence
            with pytest.raises(rex.TimeoutError):
                await redis_command(e.redis, "GET", "anything", timeout=0.5)
            await until_readyz(e.nodes[0].http, "redis: timeout", timeout=3)
        await steady(e)

    asyncio.run(scenario())
