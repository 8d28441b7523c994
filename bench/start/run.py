"""Start and overhead benchmark: how long a cluster with monitoring takes to be deeply ready on warm
images (its parts: finding the images, making the containers, polling readiness), beside how long
the Docker daemon takes, in the same run, to create and start as many bare containers of the same base
image; then one short scenario's wall time against its declared phases plus its cluster start.

Run: .venv/bin/python bench/start/run.py [--repeat N] [--phase-s S] [--json]   (needs Docker and the
images; one cluster at a time, about a minute)
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

import harness.cluster.cluster as cluster_module
from harness.cluster.cluster import Cluster
from harness.cluster.images import ImageBuilder
from harness.runner import Runner
from harness.scenario import loads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchkit import add_json_flag, output, ratio  # noqa: E402

SCENARIO = """
name: overhead
cluster: {nodes: 2, monitoring: true}
workload:
  publish: {rate: 20, channels: 2}
  subscribe: {per_node: 2}
  grace: 2s
phases:
  - {name: first, duration: PHASE}
  - {name: second, duration: PHASE}
expect: ["first: publish.success_rate >= 0.99", "second: delivery.ratio == 1"]
"""


def cluster_start() -> dict[str, float]:
    """One cluster with monitoring up and down, timed in parts."""
    parts: dict[str, float] = {}
    real_compose, real_wait = cluster_module.compose, Cluster.wait_ready

    def timed(name, step):
        def run(*args, **kwargs):
            began = time.monotonic()
            try:
                return step(*args, **kwargs)
            finally:
                parts[name] = round(time.monotonic() - began, 2)
        return run

    builder = ImageBuilder(log=lambda message: None)
    builder.ensure = timed("images_s", builder.ensure)
    cluster_module.compose = timed("containers_s", real_compose)
    Cluster.wait_ready = timed("readiness_s", real_wait)
    cluster = Cluster(nodes=2, monitoring=True)
    began = time.monotonic()
    try:
        cluster.up(builder=builder)
        parts["ready_s"] = round(time.monotonic() - began, 2)
    finally:
        cluster_module.compose, Cluster.wait_ready = real_compose, real_wait
        began = time.monotonic()
        cluster.down()
        parts["down_s"] = round(time.monotonic() - began, 2)
    return parts


def docker_floor(count: int, image: str) -> float:
    """Seconds for the daemon to create and start `count` containers of `image` at once (then removed)."""
    client = docker.from_env(max_pool_size=count + 2)
    label = {"io.hx.bench": "start-floor"}
    began = time.monotonic()
    try:
        def one(i: int):
            c = client.containers.create(image, ["sleep", "60"], labels=label, ports={"8080/tcp": ("127.0.0.1", None)})
            c.start()
            return c
        with ThreadPoolExecutor(count) as pool:
            made = list(pool.map(one, range(count)))
        return round(time.monotonic() - began, 2)
    finally:
        for c in client.containers.list(all=True, filters={"label": "io.hx.bench=start-floor"}):
            c.remove(force=True)
        client.close()


def scenario_overhead(phase_s: float) -> dict[str, float]:
    scenario = loads(SCENARIO.replace("PHASE", f"{phase_s:g}s"))
    declared = sum(p.duration_s for p in scenario.phases)
    with tempfile.TemporaryDirectory() as tmp:
        began = time.monotonic()
        result = asyncio.run(Runner(scenario, Path(tmp) / "overhead", log=lambda m: None).run())
        wall = time.monotonic() - began
    timings = result.summary["timings"]
    return {"declared_phases_s": declared, "grace_s": scenario.workload.grace_s, "wall_s": round(wall, 2),
            "cluster_up_s": timings.get("cluster_up_s"), "cluster_down_s": timings.get("cluster_down_s"),
            "verdict": result.summary["verdict"], "error": result.summary.get("error"),
            "failed": [e for e in result.summary["expectations"] if not e.get("passed")],
            "ratio_to_declared_plus_start": ratio(wall, declared + (timings.get("cluster_up_s") or 0))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=2, help="cluster starts to time (default 2; the median is reported)")
    p.add_argument("--phase-s", type=float, default=10.0, help="each of the scenario's two phases (default 10 s)")
    add_json_flag(p)
    args = p.parse_args()
    with output(args.json, {"bench": "start"}) as figures:
        images = ImageBuilder(log=lambda message: None).ensure()
        print(f"cluster start, 2 nodes with monitoring, warm images, {args.repeat} times:")
        runs = []
        for _ in range(args.repeat):
            runs.append(cluster_start())
            print("  " + "  ".join(f"{k} {v:.2f}" for k, v in runs[-1].items()), flush=True)
        containers = len(Cluster(nodes=2, monitoring=True).services)
        floor = docker_floor(containers, images["upstream"])
        ready = statistics.median(r["ready_s"] for r in runs)
        figures.update(cluster_ready_s=ready, cluster_starts=runs, docker_floor_s=floor, containers=containers,
                       ready_ratio_to_docker_floor=ratio(ready, floor))
        print(f"ready (median) {ready:.2f} s; baseline: the daemon starts {containers} bare containers in {floor:.2f} s "
              f"(ratio {ratio(ready, floor)})")
        print(f"scenario: two {args.phase_s:g} s phases, 20 publishes/s, monitoring on:")
        overhead = scenario_overhead(args.phase_s)
        figures["scenario"] = overhead
        print(f"  wall {overhead['wall_s']:.1f} s = {overhead['ratio_to_declared_plus_start']} x (declared phases "
              f"{overhead['declared_phases_s']:g} s + cluster start {overhead['cluster_up_s']} s); drain (grace) "
              f"{overhead['grace_s']:g} s, teardown {overhead['cluster_down_s']} s; verdict {overhead['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
