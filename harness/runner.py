"""Walks the phases of one run: cluster up, load on, faults in and out on schedule, load off, judge.

Everything that happens goes to the journal as it happens. Active faults are reverted when their phase
ends, when the run fails and when it is cancelled (SIGINT/SIGTERM); the cluster is always torn down
unless `keep` is set.
"""
from __future__ import annotations

import asyncio
import functools
import secrets
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness import analysis, expect, schedule
from harness.cluster.cluster import Cluster, ClusterError, Endpoints, sweep_orphans
from harness.cluster.inside import connect_inside
from harness.faults.base import Fault, FaultError
from harness.faults.catalog import journal_fields
from harness.faults.factory import FaultContext, make_fault
from harness.faults.toxiproxy import ToxiproxyClient, ToxiproxyError
from harness import journal_codec
from harness.journal import Clock, JournalWriter, iter_run, journal_path
from harness.judge import judge_events
from harness.loop_lag import sample_loop_lag
from harness.observe.infra import InfraWatch, watched_parts
from harness.observe.watcher import AlertWatcher, WatchError
from harness.report import write_reports
from harness.report.progress import Progress
from harness.guardrail import Guardrail, GuardrailMonitor
from harness.scenario import STEADY_BEFORE, Scenario
from harness.systems.probes import Prober
from harness.tasks import stop_tasks, together
from harness.workload.load import LoadError, build_load

SUBSCRIBE_TIMEOUT_S = 20.0


@dataclass
class RunResult:
    out_dir: Path
    summary: dict
    exit_status: int


class HarnessError(Exception):
    """The harness or its infrastructure failed during a run (exit status 3)."""


class Aborted(Exception):
    """A guardrail (`abort_when`) tripped: every fault is reverted and the run ends (exit status 1)."""


def draw_seed() -> int:
    """A fresh seed for a run given none (printed and journaled, so the run can be replayed)."""
    return secrets.randbelow(2**31)


@dataclass
class Runner:
    scenario: Scenario
    out_dir: Path
    keep: bool = False
    journal_codec: str = "auto"              # plain, zstd, gzip, or auto: zstd at high declared rates
    journal_file: Path = field(init=False)   # where the run's journal went (its name tells the codec)
    workers: int = 0                         # subscriber processes (each journals a shard); 0: all in this one
    log: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True))
    interrupt_requested: bool = False   # set by whoever delivers SIGINT/SIGTERM (the CLI), before cancelling
    stopping: bool = False              # the run has seen its cancellation, or is cleaning up anyway
    # A cluster already up (the hunt's, shared by its trials): used as is, neither started nor torn down.
    running: tuple[Cluster, Endpoints] | None = None
    seed: int | None = None       # --seed: replaces the scenario's and every chaos block's seed
    # Seconds outside the phases: cluster_up_s, load_start_s (subscribed, rules loaded), cluster_down_s.
    timings: dict[str, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.seed_given = self.seed is not None
        if self.seed is None:
            self.seed = self.scenario.seed if self.scenario.seed is not None else draw_seed()
        self._abort = asyncio.Event()
        self._abort_reason = ""

    async def run(self) -> RunResult:
        """Run the scenario end to end and judge it; never raises for a failure of the run itself.

        To interrupt it, set `interrupt_requested` and cancel its task until `stopping` is set: a library
        may swallow one cancellation (async_timeout turns one that meets its own timeout into a timeout).

        The output directory must be new (the CLI checks); OSError creating it is the caller's to report.
        """
        s = self.scenario
        self.out_dir.mkdir(parents=True, exist_ok=True)
        cluster = self.running[0] if self.running else Cluster(keep=self.keep, **s.cluster_args())
        codec = journal_codec.choose(self.journal_codec, declared_events_per_s(s))
        journal = JournalWriter(journal_path(self.out_dir, codec), Clock(), codec=codec)
        self.journal_file = journal.path
        journal.start()
        # The rule file's alerts go in too: `harness report` re-judges from the journal alone.
        recorded = ({"monitoring": {"rule_set": s.monitoring.rule_set, "rules_file": str(s.monitoring.rules_file),
                                    "alerts": list(s.monitoring.alerts)}} if s.monitoring else {})
        journal.append("run_start", run_id=cluster.run_id, scenario=s.name, path=str(s.path), nodes=s.nodes,
                       grace_s=s.workload.grace_s, seed=self.seed, source=s.source, system=s.system.describe(),
                       probes=[p.to_json() for p in s.all_probes], **recorded)
        journal.flush()
        self.log(f"{s.name}: seed {self.seed} (replay: harness run {s.path} --seed {self.seed})")
        active: list[Fault] = []
        error: str | None = None
        timings = self.timings
        starting: asyncio.Future | None = None
        watch: InfraWatch | None = None
        try:
            if self.running:
                endpoints = self.running[1]
            else:
                self.log(f"{s.name}: starting cluster {cluster.project} ({s.nodes} nodes) …")
                started = time.monotonic()
                # Shielded: cancelling cannot stop the thread, so cleanup waits for it (see finally).
                starting = asyncio.ensure_future(asyncio.to_thread(cluster.up))
                # Beside the start: other runs' leftovers do not touch this cluster's run id.
                swept, endpoints = await together(asyncio.to_thread(sweep_orphans), asyncio.shield(starting))
                timings["cluster_up_s"] = round(time.monotonic() - started, 2)
                if swept:
                    self.log(f"swept clusters left by killed runs: {', '.join(swept)}")
            journal.append("cluster_ready", project=cluster.project, seconds=timings.get("cluster_up_s", 0.0),
                           endpoints=endpoints.to_json())
            self.log(f"{s.name}: cluster ready in {timings.get('cluster_up_s', 0.0):.1f} s")
            run_task = asyncio.current_task()
            watch = InfraWatch(watched_parts(endpoints, self._targeted()), journal,
                               lambda part, problem: run_task.cancel())
            watch.start()
            try:
                async with ToxiproxyClient(endpoints.toxiproxy or "") as toxiproxy:
                    try:
                        await self._drive(endpoints, FaultContext(endpoints, toxiproxy, s.nodes), journal, active)
                    finally:
                        # Aborted, interrupted or failed: every fault reverted at once, while the Toxiproxy
                        # client is open (after it closes a toxic's revert can only fail).
                        await _to_the_end(self._revert_all(active, journal))
            finally:
                await watch.stop()
        except Aborted as exc:
            self.log(f"{s.name}: aborted: {exc}; reverting every fault")
        except asyncio.CancelledError:
            if watch is not None and watch.down and not self.interrupt_requested:
                error = f"the harness's {watch.down[0]} died mid-run ({watch.down[1]}); the run cannot be judged"
                journal.append("run_error", error=error)
                self.log(f"{s.name}: harness error: {error}")
            else:
                error = "interrupted"
                journal.append("run_interrupted")
                self.log(f"{s.name}: interrupted; reverting faults and tearing down")
        except (ClusterError, ToxiproxyError, FaultError, HarnessError, LoadError, WatchError, OSError) as exc:
            error = str(exc)
            journal.append("run_error", error=error)
            self.log(f"{s.name}: harness error: {error}")
        except Exception as exc:  # a failure nobody foresaw is still the harness's: judged as exit 3
            error = f"unexpected {type(exc).__name__}: {exc}"
            journal.append("run_error", error=error, traceback=traceback.format_exc())
            self.log(f"{s.name}: harness error: {error}")
        finally:
            self.stopping = True
            # No signal may cut this short: faults reverted, journal closed, cluster down, whatever comes.
            error = await _to_the_end(self._clean_up(cluster, starting, active, journal, error))
            result = await _to_the_end(self._finish(cluster, error))
        return result

    def _targeted(self) -> set[str]:
        """The parts the run's faults may target: their death is the experiment, not the harness's."""
        s = self.scenario
        return {t for p in s.phases for t in schedule.possible_targets(p.faults, p.chaos, s.nodes)}

    async def _clean_up(self, cluster: Cluster, starting: asyncio.Future | None, active: list[Fault],
                        journal: JournalWriter, error: str | None) -> str | None:
        """Revert, journal the end; returns the run's error (an interrupt arriving now is one)."""
        if starting is not None and not starting.done():
            cluster.abort()  # up() gives up at its next step and tears down what it made
            await asyncio.wait([starting])
            if not starting.cancelled() and starting.exception() is not None:
                journal.append("cluster_start_aborted", error=str(starting.exception()))
        await self._revert_all(active, journal)
        if self.interrupt_requested and error is None:  # the signal came after the phases: still no verdict
            error = "interrupted"
            journal.append("run_interrupted", during="cleanup")
        journal.append("run_end", error=error)
        journal.close()
        return error

    async def _finish(self, cluster: Cluster, error: str | None) -> RunResult:
        """Judge the closed journal while the cluster is torn down (independent: one waits on the Docker
        daemon, the other on the CPU), then write the reports, which carry the teardown's time."""
        judging = asyncio.to_thread(self._judge, error)
        if self.running:
            result = await judging  # the caller's cluster (the hunt's): the caller decides when it goes
        elif self.keep and error is None:
            self.log(f"{self.scenario.name}: cluster kept: {cluster.project} (harness down {cluster.project})")
            result = await judging
        else:
            result, _ = await together(judging, self._tear_down(cluster))
        result["timings"] = self.timings
        write_reports(self.out_dir, result)
        return RunResult(self.out_dir, result, result["exit_status"])

    async def _tear_down(self, cluster: Cluster) -> None:
        started = time.monotonic()
        await asyncio.to_thread(cluster.down)
        self.timings["cluster_down_s"] = round(time.monotonic() - started, 2)

    async def _drive(self, endpoints: Endpoints, faults: FaultContext, journal: JournalWriter,
                     active: list[Fault]) -> None:
        s = self.scenario
        w = s.workload
        bound_s = sum(p.duration_s for p in s.phases) + w.grace_s + 60  # every loop stops by itself
        progress = self._progress(journal)
        lag = asyncio.create_task(sample_loop_lag(journal, bound_s))
        monitor = GuardrailMonitor(s.abort_when, journal.clock.now) if s.abort_when else None

        def published(ok: bool) -> None:
            progress.published(ok)
            if monitor:
                monitor.published(ok)

        def trip(reason: str, g: Guardrail) -> None:
            journal.append("abort", guardrail=g.text, reason=reason)
            journal.flush()
            self._abort_reason = reason
            self._abort.set()

        # Slow readers connect from inside their node's container (harness/cluster/inside.py).
        inside = {r.node: (f"ws://127.0.0.1:{s.system.http_port}",
                           functools.partial(connect_inside, endpoints.project, r.node, s.system.http_port))
                  for r in w.subscribe.slow_readers}
        load = build_load(w, endpoints, journal, bound_s, published, progress.received, self.workers, inside)
        progress.subscribers = load.subscribers
        ticker = asyncio.create_task(progress.tick())
        guard: asyncio.Task | None = None
        watcher = (AlertWatcher(endpoints.prometheus or "", endpoints.alertsink or "", journal, s.monitoring.rule_set)
                   if s.monitoring else None)
        prober = Prober(s.all_probes, {n.name: n.direct or n.http for n in endpoints.nodes}, journal)
        probing_stop = asyncio.Event()
        probing = asyncio.create_task(prober.run(probing_stop, bound_s))
        try:
            ready = time.monotonic()
            # Independent: the rule set loads and evaluates while the subscribers connect.
            await together(load.subscribe(SUBSCRIBE_TIMEOUT_S), *([watcher.start(bound_s)] if watcher else []))
            load.publish()
            self.timings["load_start_s"] = round(time.monotonic() - ready, 2)
            if monitor:
                guard = asyncio.create_task(monitor.watch(trip))
            await self._walk(faults, journal, active, progress, watcher)
            await load.stop_publishing()
            # Drain: deliveries may arrive up to the grace period after the last acknowledgement.
            journal.append("drain_start", seconds=w.grace_s)
            await asyncio.sleep(w.grace_s)
            journal.append("drain_end")
            if watcher:
                await watcher.stop()
                if watcher.error:
                    raise HarnessError(watcher.error)
            if load.workers and (dead := load.workers.dead()):
                raise HarnessError(dead)
            if probing.done() and not probing.cancelled() and probing.exception() is not None:
                # Its answers stop where it died: probe ratios would rest on part of the run.
                raise HarnessError(f"the prober stopped mid-run: {probing.exception()!r}")
        except asyncio.CancelledError:
            self.stopping = True  # seen: the CLI need not cancel again (cli._run_interruptible)
            raise
        finally:
            probing_stop.set()
            await stop_tasks([ticker, lag, guard])
            if watcher:
                await watcher.stop()
            await load.close()
            await asyncio.gather(probing, return_exceptions=True)  # ends at its stop event
            journal.flush()

    def _progress(self, journal: JournalWriter) -> Progress:
        """The line a second in the terminal (a game day prints its own: harness/gameday/session.py)."""
        return Progress(journal.clock, self.log)

    async def _walk(self, faults: FaultContext, journal: JournalWriter, active: list[Fault], progress: Progress,
                    watcher: AlertWatcher | None) -> None:
        """The scenario's phases in turn, under load (a game day walks its own: harness/gameday/session.py)."""
        for phase in self.scenario.phases:
            await self._phase(phase, faults, journal, active, progress)
            if phase.name == STEADY_BEFORE:
                self._check_steady(journal)
            if watcher and watcher.error:
                raise HarnessError(watcher.error)  # a rule that does not evaluate cannot be judged

    async def _phase(self, phase, faults: FaultContext, journal: JournalWriter, active: list[Fault],
                     progress: Progress) -> None:
        start = journal.clock.now()
        journal.append("phase_start", t=start, phase=phase.name, duration_s=phase.duration_s)
        seed = schedule.phase_seed(self.seed, phase.name, phase.chaos, self.seed_given)
        steps = schedule.plan(phase.name, phase.duration_s, phase.faults, phase.chaos, seed, self.scenario.nodes)
        if steps:
            journal.append("schedule", phase=phase.name, seed=seed, steps=[step.to_json() for step in steps])
        journal.flush()
        progress.phase = phase.name
        injected = ", ".join(f"{st.fault.kind} on {st.fault.target} at {st.t:g}s" for st in steps if st.action == schedule.INJECT)
        self.log(f"── phase {phase.name} ({phase.duration_s:g} s){' · ' + injected if injected else ''}")
        mine: dict[str, Fault] = {}
        first = [step for step in steps if step.t == 0 and step.action == schedule.INJECT]
        for step in first:
            await self._step(step, phase.name, faults, journal, active, mine)
        if first:
            start = journal.clock.now()  # a faulted phase is measured, and lasts, from its first faults' confirmation
        for step in steps[len(first):]:
            await self._until(start + step.t, journal)
            await self._step(step, phase.name, faults, journal, active, mine)
        await self._until(start + phase.duration_s, journal)  # the phase's declared duration
        for fault in list(mine.values()):  # the plan reverts everything it injects; this is a safety net
            await self._step(schedule.Step(phase.duration_s, schedule.REVERT, fault.spec), phase.name, faults, journal,
                             active, mine)
        journal.append("phase_end", phase=phase.name)
        journal.flush()

    def _check_steady(self, journal: JournalWriter) -> None:
        """The steady-state hypothesis, judged on its window before any fault: not steady, nothing injected."""
        journal.flush()
        a = analysis.analyse(iter_run(journal.path), recovery=self.scenario.recovery)
        failed = [v for v in expect.judge_all(self.scenario.steady_state, a.metrics) if not v.passed]
        journal.append("steady_state", holds=not failed, evidence=[v.evidence for v in failed])
        if failed:
            raise HarnessError("the system was not steady before any fault, nothing injected: "
                               + "; ".join(v.evidence for v in failed))
        self.log(f"{self.scenario.name}: steady state holds")

    async def _step(self, step: schedule.Step, phase: str, faults: FaultContext, journal: JournalWriter,
                    active: list[Fault], mine: dict[str, Fault]) -> None:
        """Execute one planned step: inject and confirm, update (a ramp), or revert; each journaled."""
        spec = step.fault
        if step.action == schedule.INJECT:
            fault = make_fault(spec, faults)
            journal.append("fault_injected", **journal_fields(spec), phase=phase, planned_s=step.t)
            active.append(fault)
            mine[spec.name] = fault
            await fault.inject()
            evidence = await fault.confirm()
            journal.append("fault_confirmed", fault=spec.name, evidence=evidence)
        elif step.action == schedule.UPDATE:
            evidence = await mine[spec.name].update(spec.params)
            journal.append("fault_updated", fault=spec.name, params=spec.params, planned_s=step.t, evidence=evidence)
        else:
            fault = mine.pop(spec.name)
            await fault.revert()
            active.remove(fault)
            journal.append("fault_reverted", fault=spec.name, planned_s=step.t)
        journal.flush()

    async def _until(self, t: float, journal: JournalWriter) -> None:
        """Wait until run time `t`, or raise Aborted as soon as a guardrail trips."""
        remaining = t - journal.clock.now()
        if not self._abort.is_set() and remaining > 0:
            try:
                await asyncio.wait_for(self._abort.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        if self._abort.is_set():
            raise Aborted(self._abort_reason)

    async def _revert_all(self, active: list[Fault], journal: JournalWriter) -> None:
        for fault in list(active):
            try:
                await asyncio.wait_for(fault.revert(), 30)
                journal.append("fault_reverted", fault=fault.spec.name, during="cleanup")
            except Exception as exc:  # cleanup goes on; the cluster is torn down next anyway
                journal.append("fault_revert_failed", fault=fault.spec.name, error=str(exc))
            active.remove(fault)

    def _judge(self, error: str | None) -> dict:
        # Streamed: a long run's journal is judged without being held in memory (read again per node view).
        return judge_events(iter_run(self.journal_file), self.scenario, error,
                            again=lambda: iter_run(self.journal_file))


def declared_events_per_s(scenario: Scenario) -> float:
    """The journal's event rate at the scenario's peak declared load: each publish, and its receipt
    by every subscriber of its channel."""
    w = scenario.workload
    shape = w.publish.shape
    peak = max((shape.rate, *shape.steps)) + (shape.burst_size / shape.burst_every_s if shape.burst_size else 0)
    subscribers = w.subscribe.per_node * scenario.nodes
    receivers = subscribers / w.publish.channels if w.subscribe.spread else subscribers
    return peak * (1 + receivers)


async def _to_the_end(coro):
    """Await a coroutine to its end even if the awaiting task is cancelled meanwhile (cleanup)."""
    task = asyncio.ensure_future(coro)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            continue  # the task goes on under the shield; wait for it again
    return task.result()
