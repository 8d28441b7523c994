"""A trial as a scenario (steady, fault, recover), run by the ordinary Runner on the hunt's one cluster.

The same scenario text, with expectations added, is what a found gap is written as (DIR/found/): the
trial and its regression test cannot drift apart. Between trials the cluster must be back to steady
(every node ready, monitoring answering) or it is torn down and a fresh one started.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from harness import systems
from harness.cluster.cluster import Cluster, ClusterError, Endpoints
from harness.hunt.classify import FAULT, RECOVER, STEADY, Thresholds
from harness.hunt.plan import STEADY_S, Trial
from harness.journal import read_journal
from harness.runner import Runner
from harness.scenario import Scenario, loads
from harness.systems import System

WORKLOAD = {"publish": {"rate": 20, "channels": 2, "timeout": "2s"}, "subscribe": {"per_node": 2}, "grace": "2s"}
GRACE_S = 2.0
CONFIRM_ALLOWANCE_S = 10.0   # a re-created Redis takes seconds to confirm: the watch must still reach the deadline
READY_TIMEOUT_S = 45.0       # after a trial, the cluster has this long to be ready again before it is replaced


def recover_s(trial: Trial, t: Thresholds) -> float:
    """The recover phase: long enough that alerts are watched until the deadline after confirmation."""
    return max(5.0, t.deadline_s + CONFIRM_ALLOWANCE_S - trial.fault_s - GRACE_S)


def planned_s(trial: Trial, t: Thresholds) -> float:
    """Seconds of load a trial takes (its phases and the drain), without fault and setup overheads."""
    return STEADY_S + trial.fault_s + recover_s(trial, t) + GRACE_S


def scenario_text(trial: Trial, name: str, rules: str, nodes: int, t: Thresholds, description: str = "",
                  expect: list[str] | None = None, system: Any = systems.DEFAULT) -> str:
    """The scenario YAML of a trial; `rules` is a set's name or an absolute rule file path, `system` a
    built-in system's name or a declaration, as a scenario states it."""
    doc: dict[str, Any] = {"name": name}
    if description:
        doc["description"] = description
    doc["system"] = system
    doc["cluster"] = {"nodes": nodes, "monitoring": True, "rules": rules}
    doc["workload"] = WORKLOAD
    doc["phases"] = [
        {"name": STEADY, "duration": f"{STEADY_S:g}s"},
        {"name": FAULT, "duration": f"{trial.fault_s:g}s", "faults": [s.to_json() for s in trial.specs(nodes)]},
        {"name": RECOVER, "duration": f"{recover_s(trial, t):g}s"},
    ]
    # Every trial states the steady state it needs before the fault; a found gap adds what it proves.
    doc["expect"] = [f"{STEADY}: publish.success_rate >= {t.success_rate:g}", *(expect or [])]
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=110)


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line text as literal blocks (a found scenario's description reads as prose)."""


_Dumper.add_representer(str, lambda d, text: d.represent_scalar("tag:yaml.org,2002:str", text,
                                                                style="|" if "\n" in text else None))


@dataclass
class TrialResult:
    out_dir: Path
    events: list[dict[str, Any]]
    seconds: float                   # wall time of the trial, setup and teardown of its faults included


@dataclass
class Bench:
    """The hunt's cluster and how trials run on it."""

    nodes: int
    rules: str                        # as the scenario states it: a set's name or an absolute path
    rules_file: Path
    thresholds: Thresholds
    log: Callable[[str], None]
    system_spec: Any = systems.DEFAULT     # as the trials' scenarios state it
    system: System = field(default_factory=systems.resolve)
    cluster: Cluster | None = None
    endpoints: Endpoints | None = None
    recreated: int = 0
    projects: list[str] = field(default_factory=list)   # every cluster started, in order

    def _new_cluster(self) -> Cluster:
        return Cluster(nodes=self.nodes, monitoring=True, rules_file=self.rules_file, system=self.system)

    async def up(self) -> None:
        """Start the cluster (in a thread; cancelling waits for it and tears it down)."""
        cluster = self._new_cluster()
        self.cluster = cluster
        self.projects.append(cluster.project)
        starting = asyncio.ensure_future(asyncio.to_thread(cluster.up))
        try:
            self.endpoints = await asyncio.shield(starting)
        except asyncio.CancelledError:
            cluster.abort()
            await asyncio.wait([starting])
            raise

    async def down(self) -> None:
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.down)
            self.cluster = self.endpoints = None

    async def ensure_steady(self, force: bool = False) -> bool:
        """Wait until every node is ready again; otherwise (or if `force`: a trial found it unsteady)
        replace the cluster. True if it was replaced."""
        assert self.cluster is not None
        if force:
            self.log(f"cluster {self.cluster.project} was not steady before the last fault; replacing it")
        else:
            try:
                await asyncio.to_thread(self.cluster.wait_ready, READY_TIMEOUT_S)
                return False
            except ClusterError as exc:
                self.log(f"cluster {self.cluster.project} not back to steady ({str(exc).splitlines()[0]}); replacing it")
        await self.down()
        await self.up()
        self.recreated += 1
        return True

    def scenario(self, trial: Trial, name: str, path: Path) -> Scenario:
        return loads(scenario_text(trial, name, self.rules, self.nodes, self.thresholds, system=self.system_spec), path)

    async def run(self, trial: Trial, name: str, out_dir: Path) -> TrialResult:
        """Run one trial on the cluster; its journal and reports go to out_dir."""
        assert self.cluster is not None and self.endpoints is not None
        started = time.monotonic()
        scenario = self.scenario(trial, name, out_dir / "scenario.yaml")
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "scenario.yaml").write_text(scenario.source)
        # The runner's per-second progress lines would drown the hunt's one line per trial: kept in run.log.
        lines: list[str] = []
        runner = Runner(scenario, out_dir, log=lines.append, running=(self.cluster, self.endpoints))
        try:
            await runner.run()
        finally:
            (out_dir / "run.log").write_text("\n".join(lines) + "\n")
        # The runner's journal file: compressed (journal.jsonl.zst) when the trial's rate is high.
        return TrialResult(out_dir, read_journal(runner.journal_file), round(time.monotonic() - started, 2))
