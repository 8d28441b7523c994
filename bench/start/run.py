"""Start and overhead benchmark: how long a cluster takes to be deeply ready on warm images, with and
without monitoring, in parts (finding the images, each container started, each service answering its
readiness probe), beside how long the Docker daemon takes, in the same run, to create and start as many
bare containers (and, with --compose-cli, beside the Compose CLI starting the same files); then one short
scenario's wall time against its declared phases plus its cluster start.

Run: .venv/bin/python bench/start/run.py [--repeat N] [--phase-s S] [--compose-cli] [--json]   (needs
Docker and the images; one cluster at a time, about a minute)
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
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


def cluster_start(monitoring: bool) -> dict:
    """One cluster (2 nodes) up and down, timed in parts (Cluster.start_timings)."""
    cluster = Cluster(nodes=2, monitoring=monitoring)
    try:
        cluster.up(builder=ImageBuilder(log=lambda message: None))
        parts = dict(cluster.start_timings)
    finally:
        began = time.monotonic()
        cluster.down()
    parts["down_s"] = round(time.monotonic() - began, 3)
    return parts


def compose_cli_start(project: str, names: list[str], env: dict[str, str], files: tuple[Path, ...],
                      abort: object = None) -> dict[str, float]:
    """The same services started by the Compose CLI (`up -d`), in the starter's place (the baseline); `abort`
    is the starter's and ignored: `up -d` runs to its end."""
    cli = ["docker", "compose"] if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0 \
        else ["docker-compose"]
    subprocess.run([*cli, "-p", project, *(a for f in files for a in ("-f", str(f))), "up", "-d", "--no-build", *names],
                   env={**os.environ, **env}, check=True, capture_output=True)
    return dict.fromkeys(names, time.monotonic())


def compose_cli_cluster_start() -> dict:
    """cluster_start(monitoring=True) with the Compose CLI making the containers; readiness as the harness polls it."""
    real = cluster_module.start
    cluster_module.start = compose_cli_start
    try:
        return cluster_start(True)
    finally:
        cluster_module.start = real


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


def scenario_overhead(phase_s: float) -> dict:
    """One scenario run end to end: its wall time against what it declares (phases, drain) and its cluster start."""
    scenario = loads(SCENARIO.replace("PHASE", f"{phase_s:g}s"))
    declared = sum(p.duration_s for p in scenario.phases)
    grace = scenario.workload.grace_s
    with tempfile.TemporaryDirectory() as tmp:
        began = time.monotonic()
        result = asyncio.run(Runner(scenario, Path(tmp) / "overhead", log=lambda m: None).run())
        wall = time.monotonic() - began
    timings = result.summary["timings"]
    up = timings.get("cluster_up_s") or 0.0
    return {"declared_phases_s": declared, "grace_s": grace, "wall_s": round(wall, 2),
            "cluster_up_s": timings.get("cluster_up_s"), "load_start_s": timings.get("load_start_s"),
            "cluster_down_s": timings.get("cluster_down_s"),
            "rest_s": round(wall - declared - grace - up - (timings.get("load_start_s") or 0), 2),
            "verdict": result.summary["verdict"], "error": result.summary.get("error"),
            "failed": [e for e in result.summary["expectations"] if not e.get("passed")],
            "ratio_to_phases_plus_start": ratio(wall, declared + up),
            "ratio_to_declared_plus_start": ratio(wall, declared + grace + up)}


def median_ready(runs: list[dict]) -> float:
    return statistics.median(r["ready_s"] for r in runs)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=2, help="cluster starts of each kind to time (default 2; medians reported)")
    p.add_argument("--phase-s", type=float, default=10.0, help="each of the scenario's two phases (default 10 s)")
    p.add_argument("--compose-cli", action="store_true", help="also time the Compose CLI starting the same files")
    add_json_flag(p)
    args = p.parse_args()
    with output(args.json, {"bench": "start"}) as figures:
        images = ImageBuilder(log=lambda message: None).ensure()
        print(f"cluster start, 2 nodes, warm images, {args.repeat} times each, alternating:")
        kinds = {"monitoring": [], "no_monitoring": [], **({"compose_cli": []} if args.compose_cli else {})}
        for _ in range(args.repeat):
            for kind, runs in kinds.items():
                runs.append(compose_cli_cluster_start() if kind == "compose_cli" else cluster_start(kind == "monitoring"))
                r = runs[-1]
                print(f"  {kind:13s} ready {r['ready_s']:.2f}  images {r['images_s']:.2f}  last container started "
                      f"{r['containers_s']:.2f}  down {r['down_s']:.2f}  answered: "
                      + " ".join(f"{k} {v:.2f}" for k, v in sorted(r["answered_s"].items(), key=lambda kv: kv[1])),
                      flush=True)
        containers = len(Cluster(nodes=2, monitoring=True).services)
        floor = docker_floor(containers, images["upstream"])
        ready = median_ready(kinds["monitoring"])
        plain = median_ready(kinds["no_monitoring"])
        figures.update(cluster_ready_s=ready, cluster_ready_no_monitoring_s=plain, docker_floor_s=floor,
                       containers=containers, ready_ratio_to_docker_floor=ratio(ready, floor),
                       cluster_starts=kinds["monitoring"], cluster_starts_no_monitoring=kinds["no_monitoring"])
        print(f"ready (median) {ready:.2f} s with monitoring ({containers} containers), {plain:.2f} s without; "
              f"baseline: the daemon starts {containers} bare containers in {floor:.2f} s (ratio {ratio(ready, floor)})")
        if args.compose_cli:
            cli = median_ready(kinds["compose_cli"])
            figures.update(compose_cli_ready_s=cli, cluster_starts_compose_cli=kinds["compose_cli"],
                           ready_ratio_to_compose_cli=ratio(ready, cli))
            print(f"the Compose CLI starting the same files: ready {cli:.2f} s (ratio {ratio(ready, cli)})")
        print(f"scenario: two {args.phase_s:g} s phases, 20 publishes/s, monitoring on:")
        o = scenario_overhead(args.phase_s)
        figures["scenario"] = o
        print(f"  wall {o['wall_s']:.1f} s = {o['ratio_to_phases_plus_start']} x (phases {o['declared_phases_s']:g} s "
              f"+ cluster start {o['cluster_up_s']} s); {o['ratio_to_declared_plus_start']} x counting the declared "
              f"drain ({o['grace_s']:g} s); load start {o['load_start_s']} s, teardown {o['cluster_down_s']} s "
              f"(beside judging), the rest {o['rest_s']} s; verdict {o['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
