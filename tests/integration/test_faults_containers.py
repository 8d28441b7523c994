"""Container and network faults on a real cluster, and faults reverted when a run is interrupted or killed."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import leftovers
from tests.integration.steady import faults_on, inspect_service, readyz, steady, until_readyz

pytestmark = pytest.mark.integration


def _identity(attrs: dict) -> dict:
    """What a re-created container must keep: name, config, host config, networks with aliases."""
    own = {attrs["Id"][:12], attrs["Config"]["Hostname"]}   # aliases Docker adds by itself
    return {"name": attrs["Name"], "config": attrs["Config"], "host": attrs["HostConfig"],
            "networks": {n: sorted(a for a in (v["Aliases"] or []) if a not in own)
                         for n, v in attrs["NetworkSettings"]["Networks"].items()}}


def test_container_and_network_faults_take_effect_and_revert(cluster):
    _, e = cluster
    node2 = e.nodes[1]

    async def scenario():
        await steady(e)
        for kind, state in (("pause", "paused"), ("stop", "exited"), ("kill", "exited"), ("restart", "running")):
            async with faults_on(e) as fault:
                f = await fault(kind=kind, target="node2")
                assert f.evidence.startswith(f"node2 {state}")
                assert inspect_service(e.project, "node2")["State"]["Status"] == state
                if kind != "restart":
                    assert (await readyz(node2.direct, timeout=1))[0] == 0   # no answer from node2
            assert inspect_service(e.project, "node2")["State"]["Status"] == "running"
            await steady(e)

        original = _identity(inspect_service(e.project, "node2"))
        async with faults_on(e) as fault:
            f = await fault(kind="recreate-env", target="node2",
                            env={"HX_FAULT_TEST": "added", "NODE_NAME": "node2-renamed", "UPSTREAM_URL": None})
            assert "exec env: HX_FAULT_TEST=added, NODE_NAME=node2-renamed, UPSTREAM_URL=(removed)" in f.evidence
            recreated = inspect_service(e.project, "node2")
            assert "HX_FAULT_TEST=added" in recreated["Config"]["Env"]
            assert _identity(recreated)["networks"] == original["networks"]
            # The same labels, plus the one that tells `harness ps` a fault re-created it.
            assert recreated["Config"]["Labels"].pop("io.hx.fault") == "recreate-env (recreate-env)"
            assert recreated["Config"]["Labels"] == original["config"]["Labels"]
            assert recreated["HostConfig"]["PortBindings"] == original["host"]["PortBindings"]
        restored = _identity(inspect_service(e.project, "node2"))
        assert restored == original                     # revert re-creates the original exactly
        await steady(e)

        async with faults_on(e) as fault:
            await fault(kind="partition", target="redis")
            assert inspect_service(e.project, "redis")["NetworkSettings"]["Networks"] == {}
            for node in e.nodes:
                await until_readyz(node.http, '"redis: ')
        assert _identity(inspect_service(e.project, "redis"))["networks"]  # reconnected, aliases and all
        await steady(e)

    asyncio.run(scenario())


PAUSED = """\
name: paused
cluster: {nodes: 1}
workload: {publish: {rate: 5}, subscribe: {per_node: 1}, grace: 1s}
phases:
  - {name: steady, duration: 1s}
  - name: frozen
    duration: 60s
    faults: [{kind: pause, target: node1}, {kind: recreate-env, target: upstream, env: {HX_FAULT: "1"}}]
expect: ["steady: publish.success_rate >= 0.99"]
"""


def _run_until_confirmed(tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    path = tmp_path / "paused.yaml"
    path.write_text(PAUSED)
    out = tmp_path / name
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(path), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    journal = out / "paused" / "journal.jsonl"
    deadline = time.monotonic() + 120
    while not (journal.exists() and journal.read_text().count('"fault_confirmed"') == 2):
        assert proc.poll() is None, f"the run ended before its fault phase: {proc.stdout.read()}"
        assert time.monotonic() < deadline, "the run never confirmed its faults"
        time.sleep(0.1)  # poll
    return proc, journal


def test_sigint_reverts_container_faults(tmp_path, images):
    proc, journal = _run_until_confirmed(tmp_path, "int")
    try:
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 3
        events = [json.loads(line) for line in journal.read_text().splitlines()]
        reverted = {ev["fault"] for ev in events if ev["kind"] == "fault_reverted" and ev.get("during") == "cleanup"}
        assert reverted == {"frozen-1", "frozen-2"}, events[-6:]
        assert leftovers(events[0]["run_id"]) == []
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigkill_mid_fault_then_down_leaves_nothing(tmp_path, images):
    proc, journal = _run_until_confirmed(tmp_path, "kill")
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        run_id = json.loads(journal.read_text().splitlines()[0])["run_id"]
        assert inspect_service(f"hx-{run_id}", "node1")["State"]["Status"] == "paused"   # left mid-fault
        down = subprocess.run([sys.executable, "-m", "harness", "down", f"hx-{run_id}"],
                              capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        assert leftovers(run_id) == []
    finally:
        if proc.poll() is None:
            proc.kill()
