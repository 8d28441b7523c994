"""What the harness adds per delivery: the CPU of its subscribers (decode, journal) per received
message, beside bare WebSocket readers that only count frames, both fed the same publishes in the same
run. Toward issue 14's goal of at most 2 x a bare reader's CPU per verified delivery.

One node, its redis-server and the upstream run as host processes (tests/node/nodekit.py); each side's
readers live in their own process, whose CPU time is measured over its publishing window only.
Run: .venv/bin/python bench/subscriber/run.py [--sockets N] [--rate R] [--seconds S] [--codec C] [--json]
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "node"), str(ROOT / "bench")]

from benchkit import add_json_flag, harness_subscribers, output, ratio, reader_window  # noqa: E402
from harness.journal import journal_path  # noqa: E402
from harness.workload.client import App, PusherSocket, publish  # noqa: E402
from harness.workload.message import Stamp, encode  # noqa: E402
from harness.workload.protocols.pusher import PusherDriver  # noqa: E402
from harness.workload.subscriber import Subscriber  # noqa: E402
from nodekit import APP, start_node, start_redis, start_upstream, wait_ready  # noqa: E402

BENCH_APP = App(APP["id"], APP["key"], APP["secret"])
CHANNEL = "bench-subscriber"


def reader_main(kind: str, ws_url: str, sockets: int, directory: str, codec: str, conn: Connection) -> None:
    asyncio.run(readers(kind, ws_url, sockets, Path(directory), codec, conn))


async def readers(kind: str, ws_url: str, sockets: int, directory: Path, codec: str, conn: Connection) -> None:
    """`sockets` readers of one kind; on "go" start counting CPU, on "stop" answer (cpu s, messages)."""
    count = 0
    tasks: list[asyncio.Task] = []
    journal = None
    if kind == "bare":
        opened = [PusherSocket(ws_url, BENCH_APP.key, open_timeout=10) for _ in range(sockets)]
        for s in opened:
            await s.__aenter__()
            await s.subscribe(CHANNEL)

        async def bare(s: PusherSocket) -> None:
            nonlocal count
            async for _raw in s.ws:  # count every frame: nothing decoded, nothing kept
                count += 1

        tasks = [asyncio.create_task(bare(s)) for s in opened]
    else:
        journal, tasks = await harness_subscribers(
            lambda i, journal: Subscriber(f"s{i}", "node1", ws_url, BENCH_APP, [CHANNEL], journal, PusherDriver()),
            sockets, journal_path(directory, codec), codec)
    await reader_window(conn, lambda: count if journal is None else journal.count, tasks, journal)


async def drive(node_url: str, rate: float, seconds: float, conn: Connection) -> tuple[float, int]:
    """Publish `rate` a second for `seconds` while the readers count; (their CPU s, their receipts)."""
    conn.send("go")
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        for i in range(int(rate * seconds)):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # the open-loop schedule
            data = encode(Stamp("bench", "p1", i, time.monotonic()))
            sent += (await publish(http, node_url, BENCH_APP, CHANNEL, "b", data)).status_code == 200
    await asyncio.sleep(1.0)  # deliveries in flight land before the readers stop counting
    conn.send("stop")
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


def measure(kind: str, node, args: argparse.Namespace, directory: Path) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=reader_main, args=(kind, node.ws, args.sockets, str(directory), args.codec, child),
                       daemon=True)
    proc.start()
    try:
        if not parent.poll(30):
            raise RuntimeError(f"{kind} readers not ready in 30 s")
        parent.recv()
        cpu, received = asyncio.run(drive(node.url, args.rate, args.seconds, parent))
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
    # Harness receipts are journal events: the journal also holds connects and subscriptions, made before "go".
    per = 1e6 * cpu / received if received else float("nan")
    print(f"  {kind:8} {received:7d} messages  {cpu:6.2f} s CPU  {per:7.1f} µs/message", flush=True)
    return {"messages": received, "cpu_s": round(cpu, 3), "cpu_us_per_message": round(per, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sockets", type=int, default=10, help="readers on each side (default 10)")
    p.add_argument("--rate", type=float, default=50.0, help="publishes per second (default 50)")
    p.add_argument("--seconds", type=float, default=10.0, help="publishing time per side (default 10)")
    p.add_argument("--codec", default="zstd", choices=("plain", "zstd", "gzip"), help="the harness journal's codec")
    add_json_flag(p)
    args = p.parse_args()
    with output(args.json, {"bench": "subscriber"}) as figures, tempfile.TemporaryDirectory(prefix="hx-bench-") as tmp:
        log_dir = Path(tmp)
        redis = start_redis(log_dir)
        upstream_proc, upstream_url = start_upstream(log_dir)
        node = start_node("bench1", redis.url, upstream_url, log_dir)
        try:
            wait_ready(node)
            print(f"{args.sockets} readers a side, {args.rate:g} publishes/s for {args.seconds:g} s, one node:")
            bare = measure("bare", node, args, log_dir)
            harness = measure("harness", node, args, log_dir)
        finally:
            node.proc.stop()
            upstream_proc.stop()
            redis.proc.stop()
        figures.update(sockets=args.sockets, rate=args.rate, seconds=args.seconds, codec=args.codec,
                       bare=bare, harness=harness,
                       harness_cpu_us_per_delivery=harness["cpu_us_per_message"],
                       bare_cpu_us_per_delivery=bare["cpu_us_per_message"],
                       cpu_ratio_to_bare=ratio(harness["cpu_us_per_message"], bare["cpu_us_per_message"]))
        print(f"harness / bare reader CPU per delivery: {figures['cpu_ratio_to_bare']} (goal of issue 14: <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
