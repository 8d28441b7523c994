"""Fan-out benchmark: three pub/sub nodes on one Redis, subscribers spread over them, publish rate stepped
up until delivery p99 passes 100 ms or a delivery is lost; beside it, in the same run, raw Redis PUBLISH ->
SUBSCRIBE throughput with redis-py. Run: `.venv/bin/python bench/fanout/run.py` (about 1-2 minutes).

Everything runs as host processes on 127.0.0.1 (redis-server, the upstream registry, three nodes), not in
Docker, so the figures measure the node and not Docker's network. Subscribers live in one process per node
(their own event loops), the publisher in this one; latency is receive time minus the send time carried in
the event's data (one clock: same machine).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import pstats
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "node"), str(ROOT / "bench")]

from benchkit import add_json_flag, output, ratio  # noqa: E402
from harness.percentile import percentile  # noqa: E402
from harness.workload.client import App, PusherSocket, publish  # noqa: E402
from nodekit import APP, PUBSUB_DIR, start_node, start_redis, start_upstream, wait_ready  # noqa: E402

BENCH_APP = App(APP["id"], APP["key"], APP["secret"])
CHANNEL = "bench-fanout"
P99_LIMIT_MS = 100.0
GRACE_S = 1.0           # after a step, how long late deliveries may still arrive before counting loss
MAX_IN_FLIGHT = 128


@dataclass
class Step:
    rate: float               # publishes per second offered
    published: int            # publishes answered 200
    failed: int
    expected: int             # deliveries expected (published x subscribers)
    delivered: int
    p50_ms: float
    p99_ms: float
    elapsed_s: float
    node_cpu_s: float = 0.0   # CPU time of the three node processes during the step and its grace

    @property
    def node_cpu_us_per_delivery(self) -> float:
        return 1e6 * self.node_cpu_s / self.delivered if self.delivered else float("nan")

    @property
    def deliveries_per_s(self) -> float:
        return self.delivered / self.elapsed_s

    @property
    def lost(self) -> int:
        return self.expected - self.delivered

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.lost == 0 and self.p99_ms <= P99_LIMIT_MS


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (/proc/PID/stat)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _ms(values: list[float], q: float) -> float:
    """Nearest-rank percentile (harness.percentile), NaN for none so the step table still prints."""
    value = percentile(values, q)
    return float("nan") if value is None else value


# --- subscriber processes ---------------------------------------------------------------------------

def subscriber_main(ws_url: str, count: int, conn: Connection) -> None:
    asyncio.run(subscriber_loop(ws_url, count, conn))


async def subscriber_loop(ws_url: str, count: int, conn: Connection) -> None:
    """Hold `count` sockets; per step, record each delivery's latency; answer ("report", step) requests."""
    latencies: dict[int, list[float]] = {}
    sockets = [PusherSocket(ws_url, BENCH_APP.key, open_timeout=10) for _ in range(count)]
    for s in sockets:
        await s.__aenter__()
        await s.subscribe(CHANNEL)

    async def reader(s: PusherSocket) -> None:
        assert s.ws is not None
        async for raw in s.ws:
            now = time.time()
            frame = json.loads(raw)
            if frame.get("event") == "b":
                data = json.loads(frame["data"])
                latencies.setdefault(data["s"], []).append((now - data["t"]) * 1000)
            elif frame.get("event") == "pusher:ping":
                await s.send("pusher:pong", "{}")

    tasks = [asyncio.create_task(reader(s)) for s in sockets]
    conn.send("ready")
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            break
        conn.send(latencies.pop(command[1], []))
    for t in tasks:
        t.cancel()
    for s in sockets:
        await s.__aexit__()


# --- the node benchmark -----------------------------------------------------------------------------

async def run_step(http: httpx.AsyncClient, urls: list[str], step_no: int, rate: float, seconds: float,
                   pipes: list[Connection], subscribers: int, node_pids: list[int]) -> Step:
    """Publish open-loop at `rate` for `seconds`, round-robin over the nodes; collect deliveries."""
    sem = asyncio.Semaphore(MAX_IN_FLIGHT)
    outcome = {"ok": 0, "failed": 0}

    async def one(i: int) -> None:
        async with sem:
            try:
                data = json.dumps({"s": step_no, "i": i, "t": time.time()})
                response = await publish(http, urls[i % len(urls)], BENCH_APP, CHANNEL, "b", data)
                outcome["ok" if response.status_code == 200 else "failed"] += 1
            except httpx.HTTPError:
                outcome["failed"] += 1

    loop = asyncio.get_running_loop()
    cpu0 = cpu_seconds(node_pids)
    start = loop.time()
    total = int(rate * seconds)
    tasks = []
    for i in range(total):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # the open-loop schedule itself, not synchronisation
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    await asyncio.sleep(GRACE_S)  # let in-flight deliveries land before counting them as lost
    latencies: list[float] = []
    for pipe in pipes:
        pipe.send(("report", step_no))
    for pipe in pipes:
        latencies.extend(await loop.run_in_executor(None, pipe.recv))
    return Step(rate, outcome["ok"], outcome["failed"], outcome["ok"] * subscribers, len(latencies),
                _ms(latencies, 0.5), _ms(latencies, 0.99), elapsed, cpu_seconds(node_pids) - cpu0)


async def bench_nodes(urls: list[str], ws_urls: list[str], per_node: int, rates: list[float],
                      seconds: float, node_pids: list[int]) -> list[Step]:
    ctx = mp.get_context("spawn")  # clean children: no inherited event loop or sockets
    pipes, procs = [], []
    for ws_url in ws_urls:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=subscriber_main, args=(ws_url, per_node, child), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    loop = asyncio.get_running_loop()
    try:
        for pipe in pipes:
            if not await loop.run_in_executor(None, pipe.poll, 30):
                raise RuntimeError("subscriber process did not get ready in 30 s")
            pipe.recv()
        steps: list[Step] = []
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
        async with httpx.AsyncClient(timeout=5.0, limits=limits, trust_env=False) as http:
            for n, rate in enumerate(rates):
                step = await run_step(http, urls, n, rate, seconds, pipes, per_node * len(ws_urls), node_pids)
                steps.append(step)
                print(f"  {rate:7.0f} pub/s  {step.deliveries_per_s:9.0f} deliveries/s  p50 {step.p50_ms:7.1f} ms"
                      f"  p99 {step.p99_ms:7.1f} ms  lost {step.lost}  failed {step.failed}"
                      f"  node CPU {step.node_cpu_us_per_delivery:5.0f} µs/delivery", flush=True)
                if not step.ok:
                    break
        return steps
    finally:
        for pipe in pipes:
            pipe.send("stop")
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()


# --- the raw Redis baseline ---------------------------------------------------------------------------

async def bench_redis(url: str, subscribers: int, messages: int) -> tuple[float, float, float]:
    """Raw PUBLISH -> SUBSCRIBE with redis-py: (deliveries/s, p50 ms, p99 ms) for `messages` published as
    fast as a pipelining client can, to `subscribers` subscriber connections in this process."""
    channel = "bench-raw"
    latencies: list[float] = []
    clients = [aioredis.from_url(url, socket_timeout=5) for _ in range(subscribers)]
    pubsubs = [c.pubsub() for c in clients]
    for p in pubsubs:
        await p.subscribe(channel)
        await p.get_message(timeout=1.0)  # the subscribe confirmation
    done = asyncio.Event()
    expected = subscribers * messages

    async def reader(p: aioredis.client.PubSub) -> None:
        while len(latencies) < expected:
            message = await p.get_message(timeout=1.0)
            if message is None:
                continue
            latencies.append((time.time() - float(message["data"])) * 1000)
        done.set()

    readers = [asyncio.create_task(reader(p)) for p in pubsubs]
    publisher = aioredis.from_url(url, socket_timeout=5)
    start = time.monotonic()
    for first in range(0, messages, 100):
        pipe = publisher.pipeline(transaction=False)
        for _ in range(first, min(first + 100, messages)):
            pipe.publish(channel, repr(time.time()))
        await pipe.execute()
        await asyncio.sleep(0)  # let the readers drain between batches
    try:
        await asyncio.wait_for(done.wait(), timeout=30)
    finally:
        elapsed = time.monotonic() - start
        for t in readers:
            t.cancel()
        for p in pubsubs:
            await p.close()
        for c in [*clients, publisher]:
            await c.close(close_connection_pool=True)
    return len(latencies) / elapsed, _ms(latencies, 0.5), _ms(latencies, 0.99)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-node", type=int, default=10, help="subscriber sockets per node (default 10)")
    parser.add_argument("--step-s", type=float, default=4.0, help="seconds per rate step (default 4)")
    parser.add_argument("--rates", default="10,25,50,100,150,200,300,400,600",
                        help="publish rates per second to step through (default %(default)s)")
    parser.add_argument("--profile", metavar="DIR", help="run the nodes under cProfile; stats to DIR/benchN.prof "
                        "and the top functions of bench1 printed")
    parser.add_argument("--baseline-node", metavar="DIR", help="also step another node source through the same "
                        "rates in this run, e.g. an older checkout's compose/pubsub")
    add_json_flag(parser)
    args = parser.parse_args()
    with output(args.json, {"bench": "fanout"}) as figures:
        run(args, figures)
    return 0


def node_steps(source: Path, redis_url: str, upstream_url: str, log_dir: Path, args: argparse.Namespace,
               rates: list[float], profile: str | None = None) -> list[Step]:
    """Three nodes from `source`, stepped through the rates, then stopped."""
    nodes = [start_node(f"bench{i}", redis_url, upstream_url, log_dir, source=source,
                        profile=Path(profile) / f"bench{i}.prof" if profile else None) for i in (1, 2, 3)]
    try:
        for node in nodes:
            wait_ready(node, 60 if profile else 15)  # a profiled node starts slower
        print(f"fan-out through 3 nodes ({source}), {args.per_node * 3} subscribers ({args.per_node} per node), "
              f"{args.step_s:.0f} s steps:", flush=True)
        return asyncio.run(bench_nodes([n.url for n in nodes], [n.ws for n in nodes], args.per_node, rates,
                                       args.step_s, [n.proc.popen.pid for n in nodes]))
    finally:
        for node in nodes:
            node.proc.stop()


def summary(steps: list[Step]) -> dict:
    """The figures of one node version's steps."""
    best = max((s for s in steps if s.ok), key=lambda s: s.deliveries_per_s, default=None)
    return {
        "steps": [{"rate": s.rate, "deliveries_per_s": round(s.deliveries_per_s), "p50_ms": round(s.p50_ms, 1),
                   "p99_ms": round(s.p99_ms, 1), "lost": s.lost, "failed": s.failed,
                   "node_cpu_us_per_delivery": round(s.node_cpu_us_per_delivery, 1)} for s in steps],
        "node_cpu_us_per_delivery": round(sum(s.node_cpu_s for s in steps) * 1e6 / max(1, sum(s.delivered for s in steps)), 1),
        "sustained_deliveries_per_s": round(best.deliveries_per_s) if best else None,
        "sustained_publishes_per_s": best.rate if best else None,
        "sustained_p50_ms": round(best.p50_ms, 1) if best else None,
        "sustained_p99_ms": round(best.p99_ms, 1) if best else None,
        "last_rate_passed": bool(steps and steps[-1].ok),
    }


def run(args: argparse.Namespace, figures: dict) -> None:
    rates = [float(r) for r in args.rates.split(",")]
    started = time.monotonic()
    subscribers = args.per_node * 3
    with tempfile.TemporaryDirectory(prefix="hx-bench-") as tmp:
        log_dir = Path(tmp)
        redis = start_redis(log_dir)
        upstream_proc, upstream_url = start_upstream(log_dir)
        try:
            figures.update(summary(node_steps(PUBSUB_DIR, redis.url, upstream_url, log_dir, args, rates, args.profile)))
            if args.baseline_node:
                before = summary(node_steps(Path(args.baseline_node), redis.url, upstream_url, log_dir, args, rates))
                figures["baseline_node"] = {"source": args.baseline_node, **before}
            print(f"raw Redis PUBLISH -> {subscribers} redis-py subscribers:", flush=True)
            raw_rate, raw_p50, raw_p99 = asyncio.run(bench_redis(redis.url, subscribers, 2000))
            print(f"  {raw_rate:9.0f} deliveries/s  p50 {raw_p50:7.1f} ms  p99 {raw_p99:7.1f} ms "
                  f"(saturated: published as fast as possible)")
        finally:
            upstream_proc.stop()
            redis.proc.stop()
    best = figures["sustained_deliveries_per_s"]
    figures.update(subscribers=subscribers, step_s=args.step_s, raw_redis_deliveries_per_s=round(raw_rate),
                   raw_redis_p99_ms=round(raw_p99, 1), ratio_to_raw_redis=ratio(best, raw_rate))
    print()
    if best:
        print(f"highest sustained: {best} deliveries/s at {figures['sustained_publishes_per_s']:.0f} publishes/s, "
              f"p50 {figures['sustained_p50_ms']} ms, p99 {figures['sustained_p99_ms']} ms")
        print(f"raw Redis baseline: {raw_rate:.0f} deliveries/s; ratio node/raw = {figures['ratio_to_raw_redis']}")
    else:
        print("no step met p99 <= 100 ms without loss")
    print(f"node CPU per delivery: {figures['node_cpu_us_per_delivery']} µs")
    if args.baseline_node:
        b = figures["baseline_node"]
        print(f"baseline node ({args.baseline_node}): highest sustained {b['sustained_deliveries_per_s']} deliveries/s, "
              f"node CPU per delivery {b['node_cpu_us_per_delivery']} µs "
              f"(ratio this/baseline {ratio(figures['node_cpu_us_per_delivery'], b['node_cpu_us_per_delivery'])})")
    if figures["last_rate_passed"]:
        print("note: the last rate still passed; raise --rates to find the limit")
    figures["seconds"] = round(time.monotonic() - started)
    print(f"total time {figures['seconds']} s")
    if args.profile:
        print(f"node bench1's profile, by own time ({args.profile}/bench1.prof):")
        pstats.Stats(str(Path(args.profile) / "bench1.prof"), stream=sys.stdout).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    sys.exit(main())
