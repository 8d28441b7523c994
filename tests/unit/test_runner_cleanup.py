"""The runner's cleanup keeps the run's error, on its own cluster and on one lent to it (the hunt's)."""
import asyncio
from pathlib import Path

from harness.cluster.cluster import Cluster, Endpoints
from harness.journal import Clock, JournalWriter, read_journal
from harness.runner import Runner
from harness.scenario import loads

SCENARIO = "name: tiny\nphases: [{name: steady, duration: 1s}]\nexpect: ['steady: publish.success_rate >= 0.99']\n"


def test_cleanup_on_a_lent_cluster_returns_the_error(tmp_path: Path):
    cluster = Cluster(nodes=1)   # never started: a lent cluster is neither started nor torn down
    runner = Runner(loads(SCENARIO, tmp_path / "s.yaml"), tmp_path,
                    running=(cluster, Endpoints(cluster.project, cluster.run_id, [], [])))
    journal = JournalWriter(tmp_path / "journal.jsonl", Clock())
    journal.append("run_start", run_id=cluster.run_id, grace_s=0.5, source=SCENARIO)
    error = asyncio.run(runner._clean_up(cluster, None, [], journal, "interrupted"))
    assert error == "interrupted"   # was None: a hunt trial's summary then judged an interrupted run
    assert read_journal(tmp_path / "journal.jsonl")[-1] == {**read_journal(tmp_path / "journal.jsonl")[-1],
                                                            "kind": "run_end", "error": "interrupted"}
