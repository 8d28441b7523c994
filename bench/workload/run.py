"""Benchmark of the harness's own workload, journal and analysis.

1. Journal and analysis on a generated 1,000,000-event journal: writer events/s beside raw JSON-lines
   writing, analysis events/s beside raw JSON-lines reading, and the analysis's peak memory
   (measured in a child process: VmHWM) beside the reading baseline's. Then the analysis alone on a
   generated 10,000,000-event journal (`--long-events N`, 0 to skip): its seconds and peak memory, which
   must not grow with the journal's length (the analysis streams).
2. Verified deliveries against Centrifugo (bench/centrifugo): harness subscribers beside bare WebSocket
   readers that only count publications, fed the same publications in the same run.
3. The load against a real two-node cluster, rate stepped up until the harness itself is the
   bottleneck (achieved publish rate < 90 % of offered, event-loop lag p99 > 50 ms, or harness CPU
   > 90 % of one core) or the cluster is (publish errors or delivery p99 > 250 ms): the highest sustained
   publishes/s and deliveries/s.

Run: .venv/bin/python bench/workload/run.py [--events N] [--skip-cluster] [--skip-centrifugo] [--json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.analysis import analyse
from harness.journal import Clock, JournalWriter, iter_journal, journal_path, read_journal
from harness.journal_codec import CODECS
from harness.percentile import percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchkit import add_json_flag, output, ratio  # noqa: E402
from centrifugo.run import Settings, verified_deliveries  # noqa: E402


CODEC_EVENTS = 200_000  # the codecs are compared on this many events of the generated journal


def generate(path: Path, n: int) -> float:
    """Write a plausible journal of ~n events (4 subscribers, 2 channels); returns seconds taken."""
    rng = random.Random(7)
    writer = JournalWriter(path, Clock())
    started = time.perf_counter()
    writer.append("run_start", t=0.0, run_id="r", grace_s=2.0, nodes=2)
    writer.append("phase_start", t=0.0, phase="steady")
    subs = [f"s{i}" for i in range(4)]
    for s in subs:
        writer.append("ws_connect", t=0.01, sub=s, node="node1", socket_id="1.1")
        for c in ("hx-load-0", "hx-load-1"):
            writer.append("ws_subscribed", t=0.02, sub=s, channel=c)
    seq, t = 0, 1.0
    while writer.count < n:
        channel = f"hx-load-{seq % 2}"
        writer.append("publish", t=t + 0.005, pub="p1", seq=seq, channel=channel, node="node1", sent=t, ok=True,
                      status=200, error=None)
        for s in subs:
            if rng.random() > 0.001:
                writer.append("ws_receive", t=t + 0.006 + rng.random() / 100, sub=s, channel=channel, run="r",
                              pub="p1", seq=seq, sent=t)
        seq += 1
        t += 0.001
    writer.append("phase_end", t=t + 5, phase="steady")
    writer.close()
    return time.perf_counter() - started


def raw_write(path: Path, events: list[dict]) -> float:
    started = time.perf_counter()
    with open(path, "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    return time.perf_counter() - started


def child(mode: str, path: str) -> None:
    """Run one measured step in this (child) process and print seconds and peak RSS."""
    started, cpu = time.perf_counter(), time.process_time()
    if mode == "analyse":
        analyse(iter_journal(Path(path)))
    else:
        for line in open(path):
            json.loads(line)
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                      "peak_mb": _peak_mb()}))


def _peak_mb() -> float:
    # VmHWM belongs to this process's own address space; ru_maxrss would carry the parent's over exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measured(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def bench_journal(n: int, figures: dict) -> float:
    """Prints the journal figures (and adds them to `figures`); returns the raw JSON-lines write
    baseline in events/s."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        write_s = generate(path, n)
        events = read_journal(path)
        count = len(events)
        raw_s = raw_write(Path(tmp) / "raw.jsonl", events)
        bench_codecs(events[:CODEC_EVENTS], Path(tmp), figures)
        del events
        read = measured("read", path)
        ana = measured("analyse", path)
    print(f"journal: {count:,} events, {path.name}")
    print(f"  write    {count / write_s:>12,.0f} events/s   baseline raw JSON-lines write {count / raw_s:>12,.0f} events/s"
          f"   ratio {raw_s / write_s:.2f}")
    print(f"  analyse  {count / ana['seconds']:>12,.0f} events/s   baseline raw JSON-lines read  "
          f"{count / read['seconds']:>12,.0f} events/s   ratio {read['seconds'] / ana['seconds']:.2f}")
    print(f"  peak memory: analyse {ana['peak_mb']:.0f} MB, baseline read {read['peak_mb']:.0f} MB "
          f"(ratio {ana['peak_mb'] / read['peak_mb']:.1f})")
    figures.update(
        journal_events=count,
        write_events_per_s=round(count / write_s), raw_write_events_per_s=round(count / raw_s),
        write_ratio=ratio(raw_s, write_s),
        analyse_seconds=round(ana["seconds"], 2), analyse_seconds_1m=round(ana["seconds"] * 1e6 / count, 2),
        analyse_cpu_seconds_1m=round(ana["cpu_seconds"] * 1e6 / count, 2),
        analyse_events_per_s=round(count / ana["seconds"]), raw_read_events_per_s=round(count / read["seconds"]),
        analyse_ratio=ratio(read["seconds"], ana["seconds"]),
        analyse_peak_mb=round(ana["peak_mb"]), raw_read_peak_mb=round(read["peak_mb"]),
        analyse_peak_ratio=ratio(ana["peak_mb"], read["peak_mb"]))
    return count / raw_s


def bench_long_analysis(n: int, figures: dict) -> None:
    """The analysis of a generated n-event journal (never held in memory here): seconds and peak memory,
    beside raw JSON-lines reading of the same file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        generate(path, n)
        count = sum(1 for _ in open(path, "rb"))
        read = measured("read", path)
        ana = measured("analyse", path)
    per_10m = 1e7 / count
    print(f"journal: {count:,} events (analysis only): {ana['seconds']:.1f} s ({ana['cpu_seconds']:.1f} s CPU)")
    print(f"  analyse  {count / ana['seconds']:>12,.0f} events/s   baseline raw JSON-lines read  "
          f"{count / read['seconds']:>12,.0f} events/s   ratio {read['seconds'] / ana['seconds']:.2f}")
    print(f"  peak memory: analyse {ana['peak_mb']:.0f} MB, baseline read {read['peak_mb']:.0f} MB "
          f"(ratio {ana['peak_mb'] / read['peak_mb']:.1f})")
    figures.update(long_journal_events=count, analyse_seconds_10m=round(ana["seconds"] * per_10m, 1),
                   analyse_cpu_seconds_10m=round(ana["cpu_seconds"] * per_10m, 1),
                   raw_read_seconds_10m=round(read["seconds"] * per_10m, 1),
                   analyse_ratio_10m=ratio(read["seconds"], ana["seconds"]),
                   analyse_peak_mb_10m=round(ana["peak_mb"]), raw_read_peak_mb_10m=round(read["peak_mb"]))


def bench_codecs(events: list[dict], directory: Path, figures: dict) -> None:
    """Write the same events with each journal codec: bytes per event, writer and reader events per
    CPU second (CPU, not wall time: the machine is shared; the plain journal is the baseline)."""
    print(f"journal codecs on {len(events):,} events (baseline: plain):")
    for codec in CODECS:
        path = journal_path(directory / codec, codec)
        path.parent.mkdir()
        writer = JournalWriter(path, Clock(), codec=codec)
        started = time.process_time()
        for e in events:
            writer.append(e["kind"], **{k: v for k, v in e.items() if k not in ("kind", "wall")})
        writer.close()
        write_s = time.process_time() - started
        started = time.process_time()
        for _ in iter_journal(path):
            pass
        read_s = time.process_time() - started
        figures[f"journal_bytes_per_event_{codec}"] = round(path.stat().st_size / len(events), 1)
        figures[f"journal_write_events_per_s_{codec}"] = round(len(events) / write_s)
        figures[f"journal_read_events_per_s_{codec}"] = round(len(events) / read_s)
        print(f"  {codec:5} {path.stat().st_size / len(events):6.1f} bytes/event   write {len(events) / write_s:>10,.0f} "
              f"events/s (ratio {figures[f'journal_write_events_per_s_{codec}'] / figures['journal_write_events_per_s_plain']:.2f})"
              f"   read {len(events) / read_s:>10,.0f} events/s "
              f"(ratio {figures[f'journal_read_events_per_s_{codec}'] / figures['journal_read_events_per_s_plain']:.2f})")


async def _lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append((time.perf_counter() - before - 0.01) * 1000)


async def bench_step(endpoints, rate: float, seconds: float, tmp: Path) -> dict:
    from harness.scenario import PublishLoad, SubscribeLoad, Workload
    from harness.workload.load import build_load
    from harness.workload.rate import Shape
    journal = JournalWriter(tmp / f"step-{rate:g}.jsonl", Clock())
    journal.start()
    # Grace shorter than the drain below, so every publish of the step is expected everywhere.
    w = Workload(PublishLoad(shape=Shape("constant", rate), channels=2), SubscribeLoad(per_node=2), canary=False,
                 grace_s=0.5)
    journal.append("run_start", run_id=endpoints.run_id, grace_s=w.grace_s)
    load = build_load(w, endpoints, journal, seconds + 30)
    lag: list[float] = []
    stop = asyncio.Event()
    await load.subscribe()
    load.publish()
    probe = asyncio.create_task(_lag_probe(lag, stop))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    journal.append("phase_start", phase="step")
    await asyncio.sleep(seconds)  # the step's duration
    journal.append("phase_end", phase="step")
    await load.stop_publishing()
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    await asyncio.sleep(1.0)  # drain deliveries in flight
    stop.set()
    await probe
    await load.close()
    journal.close()
    m = analyse(read_journal(journal.path)).metrics["step"]
    return {"offered": rate, "journal_events_s": journal.count / seconds, "publishes_s": m["publish.ok"] / seconds, "deliveries_s": m["delivery.received"] / seconds,
            "errors": m["publish.errors"], "lost": m["delivery.lost"], "delivery_p99": m["delivery.latency_ms.p99"],
            "lag_p99": percentile(lag, 0.99) or 0.0, "cpu": cpu}


def bench_cluster(seconds: float, raw_write_events_s: float, figures: dict) -> None:
    from harness.cluster.cluster import Cluster
    cluster = Cluster(nodes=2)
    endpoints = cluster.up()
    best = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"load against {cluster.project} (2 nodes, 4 subscribers on 2 channels), {seconds:g} s a step:")
            print(f"  {'offered/s':>9} {'publish/s':>9} {'deliver/s':>9} {'err':>5} {'lost':>5} {'del p99':>8} "
                  f"{'loop lag p99':>12} {'harness cpu':>11}")
            for rate in (50, 100, 200, 400, 800, 1600):
                r = asyncio.run(bench_step(endpoints, rate, seconds, Path(tmp)))
                figures.setdefault("load_steps", []).append(r)
                print(f"  {r['offered']:>9g} {r['publishes_s']:>9.0f} {r['deliveries_s']:>9.0f} {r['errors']:>5} "
                      f"{r['lost']:>5} {r['delivery_p99'] or 0:>7.1f}ms {r['lag_p99']:>10.1f}ms {100 * r['cpu']:>10.0f}%")
                harness_bound = r["publishes_s"] < 0.9 * rate or r["lag_p99"] > 50 or r["cpu"] > 0.9
                # Slow deliveries are the cluster's (reported in the table); errors and loss end the search.
                cluster_bound = r["errors"] > 0 or r["lost"] > 0
                if harness_bound or cluster_bound:
                    print(f"  stopped: {'the harness' if harness_bound else 'the cluster'} is the bottleneck at {rate}/s")
                    break
                best = r
    finally:
        cluster.down()
    if best:
        figures.update(sustained_publishes_per_s=round(best["publishes_s"]),
                       sustained_deliveries_per_s=round(best["deliveries_s"]), sustained_harness_cpu=round(best["cpu"], 2),
                       sustained_lag_p99_ms=round(best["lag_p99"], 1),
                       journal_events_per_s=round(best["journal_events_s"]),
                       journal_ratio_to_raw_write=ratio(best["journal_events_s"], raw_write_events_s))
        print(f"highest sustained: {best['publishes_s']:.0f} publishes/s, {best['deliveries_s']:.0f} deliveries/s "
              f"(harness CPU {100 * best['cpu']:.0f}%, loop lag p99 {best['lag_p99']:.1f} ms); journal "
              f"{best['journal_events_s']:,.0f} events/s = {best['journal_events_s'] / raw_write_events_s:.1%} of the "
              f"raw JSON-lines write baseline")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--long-events", type=int, default=10_000_000, help="the analysis alone on this many (0: skip)")
    p.add_argument("--step-seconds", type=float, default=5.0)
    p.add_argument("--skip-cluster", action="store_true", help="no load against the harness's own two-node cluster")
    p.add_argument("--skip-centrifugo", action="store_true", help="no verified deliveries against Centrifugo")
    p.add_argument("--codecs-of", metavar="JOURNAL", help="only compare the journal codecs on this (real) journal")
    p.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    add_json_flag(p)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    with output(args.json, {"bench": "workload"}) as figures:
        if args.codecs_of:
            with tempfile.TemporaryDirectory() as tmp:
                figures["journal"] = args.codecs_of
                bench_codecs(read_journal(Path(args.codecs_of)), Path(tmp), figures)
            return
        if args.long_events:
            bench_long_analysis(args.long_events, figures)
        raw_write = bench_journal(args.events, figures)
        if not args.skip_centrifugo:
            centrifugo = verified_deliveries(Settings())
            figures["centrifugo"] = centrifugo
            figures.update({name: centrifugo[name] for name in (
                "verified_deliveries_per_s", "harness_cpu_us_per_delivery", "bare_cpu_us_per_delivery",
                "cpu_ratio_to_bare")})
        if not args.skip_cluster:
            bench_cluster(args.step_seconds, raw_write, figures)


if __name__ == "__main__":
    main()
