"""Verified deliveries against Centrifugo: one real Centrifugo (the harness's image, memory engine) on
127.0.0.1, publications sent through its batch API to one channel with S subscribers; first S bare
WebSocket readers that only count publications (the baseline), then S harness subscribers that decode,
verify and journal every one (issue 14's goal: >= 50,000 verified deliveries/s at <= 2 x the bare
reader's CPU per delivery). Each side's readers run in their own process, their CPU measured over the
publishing window; a delivery is verified when the journal holds it.

Run: .venv/bin/python bench/centrifugo/run.py [--subscribers S] [--rate R] [--batch B] [--seconds T] [--json]
(Docker and the hx-centrifugo image; one container, removed at the end)
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing as mp
import pstats
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from benchkit import add_json_flag, harness_subscribers, output, ratio, reader_window  # noqa: E402
from harness.cluster.images import ImageBuilder  # noqa: E402
from harness.journal import journal_path  # noqa: E402
from harness.workload.client import App  # noqa: E402
from harness.workload.message import Stamp, encode  # noqa: E402
from harness.workload.protocols.centrifugo import CentrifugoDriver  # noqa: E402
from harness.workload.subscriber import Subscriber  # noqa: E402

APP = App("hx", "hx-centrifugo-api-key", "hx-centrifugo-token-secret")   # compose/centrifugo/config.json
CHANNEL = "bench"
LABEL = "io.hx.bench=centrifugo"


def reader_main(kind: str, ws_url: str, count: int, directory: str, conn: Connection, profile: str | None) -> None:
    if not profile:
        asyncio.run(readers(kind, ws_url, count, Path(directory), conn))
        return
    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, readers(kind, ws_url, count, Path(directory), conn))
    profiler.dump_stats(profile)


async def readers(kind: str, ws_url: str, count: int, directory: Path, conn: Connection) -> None:
    """`count` readers of one kind; "go" starts the CPU count, "stop" answers (cpu s, publications)."""
    driver = CentrifugoDriver()
    received = 0
    journal = None
    tasks: list[asyncio.Task] = []
    if kind == "bare":
        contexts = [driver.connect(ws_url, APP, f"bare{i}") for i in range(count)]
        connections = [await c.__aenter__() for c in contexts]
        for c in connections:
            await c.request_subscribe(CHANNEL)
            while (await c.next_incoming(10)).kind != "subscribed":
                pass

        async def bare(c) -> None:
            nonlocal received
            while True:  # count publications in each frame; nothing decoded, nothing kept
                frame = await c.ws.recv()
                received += frame.count('"pub":{')

        tasks = [asyncio.create_task(bare(c)) for c in connections]
    else:
        journal, tasks = await harness_subscribers(
            lambda i, journal: Subscriber(f"s{i}", "node1", ws_url, APP, [CHANNEL], journal, driver),
            count, journal_path(directory, "zstd"), "zstd")
    await reader_window(conn, lambda: received if journal is None else journal.count, tasks, journal)


async def drive(api: str, rate: float, batch: int, seconds: float, conn: Connection) -> tuple[float, int, int, float]:
    """Publish `rate` a second in batches for `seconds`; (readers' CPU s, their count, published, publish s)."""
    driver = CentrifugoDriver()
    conn.send("go")
    published = 0
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(int(rate * seconds / batch)):
            delay = start + i * batch / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # the open-loop schedule
            messages = [(CHANNEL, encode(Stamp("bench", "p1", i * batch + k, time.monotonic())))
                        for k in range(batch)]
            answer = await driver.publish(http, api, APP, messages)
            published += batch if answer.error is None else 0
        elapsed = loop.time() - start
    await asyncio.sleep(1.0)  # deliveries in flight land before the readers stop counting
    conn.send("stop")
    cpu, received = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    return cpu, received, published, elapsed


def measure(kind: str, ws_url: str, api: str, args: argparse.Namespace, directory: Path) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    profile = str(Path(args.profile) / f"{kind}.prof") if args.profile else None
    proc = ctx.Process(target=reader_main, args=(kind, ws_url, args.subscribers, str(directory), child, profile),
                       daemon=True)
    proc.start()
    try:
        if not parent.poll(60):
            raise RuntimeError(f"{kind} readers not ready in 60 s")
        parent.recv()
        cpu, received, published, elapsed = asyncio.run(drive(api, args.rate, args.batch, args.seconds, parent))
    finally:
        proc.join(timeout=60 if args.profile else 10)  # a profile takes a while to write
        if proc.is_alive():
            proc.kill()
    expected = published * args.subscribers
    per = 1e6 * cpu / received if received else float("nan")
    print(f"  {kind:8} {received:8d} of {expected} deliveries in {elapsed:.1f} s = {received / elapsed:9.0f}/s  "
          f"{cpu:6.2f} s CPU  {per:6.1f} µs/delivery", flush=True)
    return {"deliveries": received, "expected": expected, "deliveries_per_s": round(received / elapsed),
            "cpu_s": round(cpu, 3), "cpu_us_per_delivery": round(per, 2)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--subscribers", type=int, default=8)
    p.add_argument("--rate", type=float, default=2000.0, help="publications per second (default 2000)")
    p.add_argument("--batch", type=int, default=100, help="publications per batch request (default 100)")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--profile", metavar="DIR", help="run each side's readers under cProfile; stats to DIR/bare.prof "
                   "and DIR/harness.prof, the harness's top functions printed (the profiler's own cost inflates "
                   "every figure: read the shares)")
    add_json_flag(p)
    args = p.parse_args()
    with output(args.json, {"bench": "centrifugo"}) as figures, tempfile.TemporaryDirectory(prefix="hx-bench-") as tmp:
        image = ImageBuilder(log=lambda m: None).centrifugo()
        port = free_port()
        container = subprocess.run(
            ["docker", "run", "-d", "--rm", "--label", LABEL, "-p", f"127.0.0.1:{port}:8080",
             "-e", "CENTRIFUGO_ENGINE_TYPE=memory", image], capture_output=True, text=True, check=True).stdout.strip()
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:  # poll until the server answers its health check
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("Centrifugo not healthy in 30 s")
                time.sleep(0.1)  # poll interval
            ws_url = f"ws://127.0.0.1:{port}"
            print(f"Centrifugo ({image}, memory engine): {args.subscribers} subscribers, {args.rate:g} publications/s "
                  f"in batches of {args.batch}, {args.seconds:g} s a side:")
            bare = measure("bare", ws_url, base, args, Path(tmp))
            harness = measure("harness", ws_url, base, args, Path(tmp))
        finally:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        figures.update(subscribers=args.subscribers, rate=args.rate, batch=args.batch, seconds=args.seconds,
                       bare=bare, harness=harness, verified_deliveries_per_s=harness["deliveries_per_s"],
                       harness_cpu_us_per_delivery=harness["cpu_us_per_delivery"],
                       bare_cpu_us_per_delivery=bare["cpu_us_per_delivery"],
                       cpu_ratio_to_bare=ratio(harness["cpu_us_per_delivery"], bare["cpu_us_per_delivery"]))
        print(f"verified {harness['deliveries_per_s']}/s; harness / bare reader CPU per delivery: "
              f"{figures['cpu_ratio_to_bare']} (goal of issue 14: >= 50,000/s at <= 2)")
        if args.profile:
            print(f"the harness readers' profile, by own time ({args.profile}/harness.prof):")
            pstats.Stats(str(Path(args.profile) / "harness.prof"), stream=sys.stdout).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
