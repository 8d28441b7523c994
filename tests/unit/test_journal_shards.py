"""A run whose subscribers journal into shards (one per worker process) is judged exactly as the same
events in one journal: the reader merges the shards in time order."""
import random

from harness.journal import Clock, JournalWriter, iter_run, journal_path, read_journal, shards_of
from harness.judge import judge_events
from harness.scenario import loads

SCENARIO = loads("""\
name: sharded
cluster: {nodes: 2}
workload: {publish: {rate: 50, channels: 2}, subscribe: {per_node: 2}, grace: 1s}
phases: [{name: steady, duration: 4s}, {name: broken, duration: 4s}]
expect:
  - "steady: delivery.ratio == 1"
  - "broken: publish.success_rate >= 0.99"
  - "run: delivery.duplicated == 0"
""")
SUBS = ["s1-0", "s1-1", "s2-0", "s2-1"]


def run_events(seed: int = 7) -> list[dict]:
    """A plausible run: connects, two phases, publishes (some failing in `broken`), receipts with a lost,
    a late and a duplicated one, a subscriber dropped and back, and the canary."""
    rng = random.Random(seed)
    out = [("run_start", 0.0, {"run_id": "r", "grace_s": 1.0})]
    for i, sub in enumerate(SUBS):
        out += [("ws_connect", 0.01 * i, {"sub": sub, "node": f"node{sub[1]}"}),
                ("ws_subscribed", 0.02 + 0.01 * i, {"sub": sub, "channel": "hx-load-0"}),
                ("ws_subscribed", 0.03 + 0.01 * i, {"sub": sub, "channel": "hx-load-1"})]
    out += [("ws_connect", 0.05, {"sub": "canary", "node": "node2"}),
            ("ws_subscribed", 0.06, {"sub": "canary", "channel": "hx-canary"}),
            ("phase_start", 0.1, {"phase": "steady", "duration_s": 4}), ("phase_end", 4.1, {"phase": "steady"}),
            ("phase_start", 4.1, {"phase": "broken", "duration_s": 4}), ("phase_end", 8.1, {"phase": "broken"}),
            ("ws_disconnect", 5.0, {"sub": "s2-1", "node": "node2", "reason": "closed 1006"}),
            ("ws_connect", 5.5, {"sub": "s2-1", "node": "node2"}),
            ("ws_subscribed", 5.6, {"sub": "s2-1", "channel": "hx-load-0"}),
            ("run_end", 9.5, {"error": None})]
    for seq in range(400):
        sent = 0.2 + seq * 0.02
        ok = not (4.1 < sent < 6.0 and rng.random() < 0.3)
        ack = sent + 0.005 + rng.random() / 100
        channel = f"hx-load-{seq % 2}"
        out.append(("publish", ack, {"pub": "p1", "seq": seq, "channel": channel, "node": "node1", "sent": sent,
                                     "ok": ok, "status": 200 if ok else 503, "error": None if ok else "http_5xx"}))
        for sub in SUBS if ok else ():
            if rng.random() < 0.01:
                continue  # lost
            at = sent + 0.004 + rng.random() / 50 + (1.5 if rng.random() < 0.005 else 0)  # a few late
            copies = 2 if rng.random() < 0.003 else 1
            out += [("ws_receive", at + k * 0.001, {"sub": sub, "channel": channel, "run": "r", "pub": "p1",
                                                   "seq": seq, "sent": sent}) for k in range(copies)]
        if seq % 50 == 0:
            out.append(("publish", sent + 0.01, {"pub": "canary", "seq": seq // 50, "channel": "hx-canary",
                                                 "node": "node1", "sent": sent, "ok": True, "status": 200, "error": None}))
            out.append(("ws_receive", sent + 0.02, {"sub": "canary", "channel": "hx-canary", "run": "r", "pub": "canary",
                                                    "seq": seq // 50, "sent": sent}))
    # As a writer appends them: in time order.
    return [{"kind": kind, "t": t, **fields} for kind, t, fields in sorted(out, key=lambda e: e[1])]


def write(path, events) -> None:
    writer = JournalWriter(path, Clock(wall0=1_700_000_000.0), codec="zstd" if path.name.endswith(".zst") else "plain")
    for e in events:
        writer.append(e["kind"], t=e["t"], **{k: v for k, v in e.items() if k not in ("kind", "t")})
    writer.close()


def test_sharded_and_single_journals_judge_identically(tmp_path):
    events = run_events()
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    single.mkdir()
    sharded.mkdir()
    write(journal_path(single), events)
    # Each worker journals its own subscribers' events; everything else stays in the main journal.
    worker = {"s1-0": "w1", "s1-1": "w1", "s2-0": "w2", "s2-1": "w2"}
    write(journal_path(sharded), [e for e in events if e.get("sub") not in worker])
    for shard, codec in (("w1", "plain"), ("w2", "zstd")):
        write(journal_path(sharded, codec, shard), [e for e in events if worker.get(e.get("sub")) == shard])
    main = journal_path(sharded)
    assert [p.name for p in shards_of(main)] == ["journal.w1.jsonl", "journal.w2.jsonl.zst"]

    merged = list(iter_run(main))
    assert [e["t"] for e in merged] == sorted(e["t"] for e in merged)
    assert sorted(map(repr, merged)) == sorted(map(repr, read_journal(journal_path(single))))
    one = judge_events(iter_run(journal_path(single)), SCENARIO)
    many = judge_events(iter_run(main), SCENARIO)
    assert one == many
    # The journal is not trivial: the judgement has something to agree on.
    run = one["run"]["metrics"]
    assert run["delivery.lost"] > 0 and run["delivery.late"] > 0 and run["delivery.duplicated"] > 0
    assert run["publish.errors"] > 0 and run["ws.reconnects"] == 1 and one["verdict"] == "fail"


def test_a_journal_without_shards_is_read_as_it_is(tmp_path):
    events = run_events(seed=3)[:50]
    write(journal_path(tmp_path), events)
    assert list(iter_run(journal_path(tmp_path))) == read_journal(journal_path(tmp_path))


def test_per_node_views_read_the_journal_again_instead_of_keeping_it():
    """With `again`, a per-node expectation's view is read anew for each node (a journal on disk is
    never held whole); the judgement equals the one from a list kept in memory."""
    scenario = loads(SCENARIO.source.replace('  - "run: delivery.duplicated == 0"',
                                             '  - "run: delivery.duplicated == 0"\n'
                                             '  - "node1: delivery.ratio >= 0.9"\n'
                                             '  - "broken@node2: ws.reconnects == 0"'))
    events = run_events()
    reads: list[int] = []

    def again():
        reads.append(1)
        return iter(events)

    streamed = judge_events(iter(events), scenario, again=again)
    assert len(reads) == 2   # once per node named, never the whole journal kept
    assert streamed == judge_events(events, scenario)
    by_window = {e["text"]: e for e in streamed["expectations"]}
    assert by_window["broken@node2: ws.reconnects == 0"]["passed"] is False   # s2-1 came back in broken
    assert by_window["node1: delivery.ratio >= 0.9"]["passed"] is True
