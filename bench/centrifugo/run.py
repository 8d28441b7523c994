"""Verified deliveries against Centrifugo: one real Centrifugo (the harness's image, memory engine) on
127.0.0.1, publications sent through its batch API to one channel with S bare WebSocket readers that
only count publications (the baseline) and S harness subscribers that decode, verify and journal every
one (issue 14's goal: >= 50,000 verified deliveries/s at <= 2 x the bare
reader's CPU per delivery). Each side's readers run in their own process, both reading the same
publications at the same time, their CPU measured over the publishing window; a delivery is verified
when the journal holds it (read back at the end). Then the receive path's cost by stage, on frames
recorded from the same server (bench/centrifugo/stages.py).

Run: .venv/bin/python bench/centrifugo/run.py [--subscribers S] [--rate R] [--batch B] [--seconds T] [--profile DIR]
[--json]; bench/workload/run.py runs the same with its defaults.
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
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from benchkit import add_json_flag, harness_subscribers, output, ratio, reader_window  # noqa: E402
from centrifugo import stages  # noqa: E402
from harness.cluster.images import ImageBuilder  # noqa: E402
from harness.journal import iter_journal, journal_path  # noqa: E402
from harness.workload.client import App  # noqa: E402
from harness.workload.message import Stamp, encode  # noqa: E402
from harness.workload.protocols.centrifugo import CentrifugoDriver  # noqa: E402
from harness.workload.subscriber import Subscriber  # noqa: E402

APP = App("hx", "hx-centrifugo-api-key", "hx-centrifugo-token-secret")   # compose/centrifugo/config.json
CHANNEL = "bench"
LABEL = "io.hx.bench=centrifugo"
IN_FLIGHT = 4    # publish requests at once


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


async def drive(api: str, rate: float, batch: int, seconds: float, conns: list[Connection]) -> tuple[list, int, float]:
    """Publish `rate` a second in batches for `seconds`, up to IN_FLIGHT requests at once (a slow answer
    does not hold back the schedule); ([(CPU s, count) of each reader process], published, publish s)."""
    driver = CentrifugoDriver()
    for conn in conns:
        conn.send("go")
    published = 0
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def send(http: httpx.AsyncClient, messages: list[tuple[str, str]]) -> None:
        nonlocal published
        try:
            answer = await driver.publish(http, api, APP, messages)
            published += len(messages) if answer.error is None else 0
        finally:
            slots.release()

    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        loop = asyncio.get_running_loop()
        start = loop.time()
        requests = []
        for i in range(int(rate * seconds / batch)):
            delay = start + i * batch / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # the open-loop schedule
            await slots.acquire()
            messages = [(CHANNEL, encode(Stamp("bench", "p1", i * batch + k, time.monotonic())))
                        for k in range(batch)]
            requests.append(asyncio.create_task(send(http, messages)))
        await asyncio.gather(*requests)
        elapsed = loop.time() - start
    await asyncio.sleep(1.0)  # deliveries in flight land before the readers stop counting
    for conn in conns:
        conn.send("stop")
    counts = [await asyncio.get_running_loop().run_in_executor(None, conn.recv) for conn in conns]
    return counts, published, elapsed


def measure(ws_url: str, api: str, settings: Settings, directory: Path) -> dict[str, dict]:
    """The bare readers and the harness subscribers, each in their own process, reading the same
    publications at the same time (same frames, same machine load); each side's figures."""
    ctx = mp.get_context("spawn")
    kinds = ("bare", "harness")
    procs, conns = [], []
    for kind in kinds:
        parent, child = ctx.Pipe()
        profile = str(Path(settings.profile) / f"{kind}.prof") if settings.profile else None
        procs.append(ctx.Process(target=reader_main, daemon=True,
                                 args=(kind, ws_url, settings.subscribers, str(directory), child, profile)))
        procs[-1].start()
        conns.append(parent)
    try:
        for kind, conn in zip(kinds, conns):
            if not conn.poll(60):
                raise RuntimeError(f"{kind} readers not ready in 60 s")
            conn.recv()
        cpu0 = time.process_time()
        counts, published, elapsed = asyncio.run(drive(api, settings.rate, settings.batch, settings.seconds, conns))
        publisher_cpu = time.process_time() - cpu0
    finally:
        for proc in procs:
            proc.join(timeout=60 if settings.profile else 10)  # a profile takes a while to write
            if proc.is_alive():
                proc.kill()
    expected = published * settings.subscribers
    print(f"  published {published} in {elapsed:.1f} s (publisher {publisher_cpu:.2f} s CPU); each side read:")
    sides = {}
    for kind, (cpu, received) in zip(kinds, counts):
        per = 1e6 * cpu / received if received else float("nan")
        print(f"  {kind:8} {received:8d} of {expected} deliveries = {received / elapsed:9.0f}/s  "
              f"{cpu:6.2f} s CPU  {per:6.2f} µs/delivery", flush=True)
        sides[kind] = {"deliveries": received, "expected": expected, "deliveries_per_s": round(received / elapsed),
                       "publish_s": round(elapsed, 2), "cpu_s": round(cpu, 3), "cpu_us_per_delivery": round(per, 2),
                       "publisher_cpu_s": round(publisher_cpu, 3)}
    return sides


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Settings:
    subscribers: int = 8
    rate: float = 10_000.0       # publications a second
    batch: int = 200             # publications a batch request
    seconds: float = 5.0         # of publishing
    profile: str | None = None   # a directory: each side's readers run under cProfile


def verified_deliveries(settings: Settings) -> dict:
    """Start Centrifugo, measure the bare readers then the harness subscribers; their figures."""
    with tempfile.TemporaryDirectory(prefix="hx-bench-") as tmp:
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
            print(f"Centrifugo ({image}, memory engine): {settings.subscribers} bare readers and as many harness "
                  f"subscribers, {settings.rate:g} publications/s in batches of {settings.batch} for {settings.seconds:g} s:")
            sides = measure(ws_url, base, settings, Path(tmp))
            bare, harness = sides["bare"], sides["harness"]
            harness["journal_receipts_read"] = sum(
                1 for e in iter_journal(journal_path(Path(tmp), "zstd"), schema=False) if e["kind"] == "ws_receive")
            by_stage = stages.stages(asyncio.run(stages.record(ws_url, base, APP, f"{CHANNEL}-stages")))
        finally:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True)
    figures = {"subscribers": settings.subscribers, "rate": settings.rate, "batch": settings.batch,
               "seconds": settings.seconds, "bare": bare, "harness": harness,
               "verified_deliveries_per_s": harness["deliveries_per_s"],
               "harness_cpu_us_per_delivery": harness["cpu_us_per_delivery"],
               "bare_cpu_us_per_delivery": bare["cpu_us_per_delivery"],
               "cpu_ratio_to_bare": ratio(harness["cpu_us_per_delivery"], bare["cpu_us_per_delivery"]),
               "stages_us_per_receipt": by_stage}
    print(f"by stage, frames replayed without the network ({by_stage['publications_per_frame']} publications a frame, "
          f"CPU µs per receipt): " + ", ".join(f"{name} {by_stage[name]}" for name in (
              "count", "scan", "journal", "subscriber", "full_parse")))
    print(f"verified {harness['deliveries_per_s']}/s ({harness['journal_receipts_read']} receipts read back from the "
          f"journal); harness / bare reader CPU per delivery: {figures['cpu_ratio_to_bare']} (goal of issue 14: "
          f">= 50,000/s at <= 2)")
    if settings.profile:
        print(f"the harness readers' profile, by own time ({settings.profile}/harness.prof):")
        pstats.Stats(str(Path(settings.profile) / "harness.prof"), stream=sys.stdout).sort_stats("tottime").print_stats(30)
    return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Settings()
    p.add_argument("--subscribers", type=int, default=defaults.subscribers)
    p.add_argument("--rate", type=float, default=defaults.rate, help="publications per second (default %(default)g)")
    p.add_argument("--batch", type=int, default=defaults.batch, help="publications per batch request (default %(default)s)")
    p.add_argument("--seconds", type=float, default=defaults.seconds)
    p.add_argument("--profile", metavar="DIR", help="run each side's readers under cProfile; stats to DIR/bare.prof "
                   "and DIR/harness.prof, the harness's top functions printed (the profiler's own cost inflates "
                   "every figure: read the shares)")
    add_json_flag(p)
    args = p.parse_args()
    with output(args.json, {"bench": "centrifugo"}) as figures:
        figures.update(verified_deliveries(Settings(args.subscribers, args.rate, args.batch, args.seconds, args.profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
