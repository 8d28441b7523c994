"""The workload's options on a real cluster: batches, several publishers, bursts, pinning, spread, canary."""
from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from harness.journal import read_journal
from harness.judge import EXIT_PASS
from harness.runner import Runner
from harness.scenario import loads

pytestmark = pytest.mark.integration

# One steady phase that must deliver everything, shared by the scenarios below.
STEADY = """\
  grace: 1s
phases:
  - {name: steady, duration: 4s}
expect:
  - "steady: delivery.ratio == 1"
  - "steady: canary.success_rate == 1"
"""

SCENARIO = """\
name: workload-options
cluster: {nodes: 2}
workload:
  publish: {rate: 20, shape: bursty, burst: {size: 10, every: 2s}, publishers: 2, batch: 5, channels: 3,
            target: node2}
  subscribe: {per_node: 3, spread: true}
""" + STEADY


def test_batched_bursty_pinned_spread_load_is_delivered_and_accounted(images, tmp_path):
    result = asyncio.run(Runner(loads(SCENARIO), tmp_path / "out").run())
    assert result.exit_status == EXIT_PASS, (result.summary.get("error"), result.summary["expectations"])
    events = read_journal(tmp_path / "out" / "journal.jsonl")
    publishes = [e for e in events if e["kind"] == "publish" and e["pub"] != "canary"]
    assert {e["pub"] for e in publishes} == {"p1", "p2"}
    assert {e["node"] for e in publishes} == {"node2"}                      # pinned
    assert {e.get("batch") for e in publishes} == {5}                       # batch_events, 5 a request
    # Spread: each of the 6 load subscribers is on exactly one of the 3 channels, two per channel.
    subscribed = Counter(e["channel"] for e in events if e["kind"] == "ws_subscribed" and e["sub"] != "canary")
    assert subscribed == {"hx-load-0": 2, "hx-load-1": 2, "hx-load-2": 2}
    steady = result.summary["phases"][0]["metrics"]
    # 20/s for 4 s plus bursts of 10 at 2 s and 4 s (the second may fall past the phase end).
    assert 80 <= steady["publish.attempts"] <= 110, steady["publish.attempts"]
    assert steady["delivery.expected"] == 2 * steady["publish.ok"]           # two subscribers per channel
    assert steady["canary.sent"] >= 3


SHARDED = """\
name: sharded
cluster: {nodes: 2}
workload:
  publish: {rate: 40, channels: 2}
  subscribe: {per_node: 3}
""" + STEADY


def test_subscribers_in_worker_processes_journal_shards_that_are_judged_together(images, tmp_path):
    result = asyncio.run(Runner(loads(SHARDED), tmp_path / "out", workers=2).run())
    assert result.exit_status == EXIT_PASS, (result.summary.get("error"), result.summary["expectations"])
    out = tmp_path / "out"
    main = read_journal(out / "journal.jsonl")
    shards = [read_journal(out / f"journal.w{n}.jsonl", schema=False) for n in (1, 2)]  # no run_start of their own
    # The 6 load subscribers are split 3 and 3 over the workers; the canary and publishes stay in the main journal.
    assert [len({e["sub"] for e in shard if e["kind"] == "ws_connect"}) for shard in shards] == [3, 3]
    assert {e["sub"] for e in main if e["kind"].startswith("ws_")} == {"canary"}
    assert all(e["kind"] != "publish" for shard in shards for e in shard)
    steady = result.summary["phases"][0]["metrics"]
    assert steady["delivery.expected"] == 6 * steady["publish.ok"] > 0
    assert steady["delivery.received"] == steady["delivery.expected"]
    # Every worker closed its shard with its subscribers' disconnects (the harness stopping them).
    assert all(sum(e["kind"] == "ws_disconnect" for e in shard) == 3 for shard in shards)
