"""One game day: a scenario run whose only phase lasts until Ctrl-C (or `--for`), faults by hand.

The game day is a Runner (runner.py) over a scenario it writes itself — the cluster, the steady
workload, one phase `gameday`, one invariant (no delivery duplicated) — so it starts, loads, watches,
journals, reverts, tears down and judges exactly like a scenario run, and `harness report` re-judges
its journal. Only the walk through the phases differs: it opens the control socket (control.py) and
the live page (page.py), prints a line a second (live.py), and waits. Ctrl-C (or the end of `--for`) ends the phase in order: faults reverted, load
stopped, deliveries drained, alert watcher's last poll; then the runner's cleanup and judgement. A
second Ctrl-C is an interruption (cli._run_interruptible): the game day still reverts, drains and tears
down, but its verdict is `error` (exit 3).
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.faults.base import Fault
from harness.faults.catalog import FAULT_KINDS, FaultSpec, targets_for, validate_fault
from harness.faults.factory import FaultContext
from harness.gameday import control
from harness.gameday.desk import FaultDesk, whoami
from harness.gameday.live import LiveView, line
from harness.gameday.page import LivePage
from harness.journal import JournalWriter
from harness.observe.watcher import AlertWatcher
from harness.report.progress import Progress
from harness.runner import HarnessError, Runner
from harness.scenario import Scenario, ScenarioError, load, loads
from harness.tasks import stop_tasks

PHASE = "gameday"
INVARIANT = "run: delivery.duplicated == 0"
DEFAULT_FOR_S = 4 * 3600.0     # every load loop is bounded: a game day nobody stops ends after this


@dataclass(frozen=True)
class Plan:
    """What the facilitator asked for on the command line."""

    nodes: int = 3
    system: str | dict[str, Any] = "pusher-node"   # a built-in system's name or a declaration (docs/systems.md)
    rate: float = 20.0
    for_s: float = DEFAULT_FOR_S
    rules: str | None = None              # a rule set or rule file: monitoring on
    redis_policy: str = "strict"          # the nodes' failure policies (docs/node.md)
    upstream_policy: str = "strict"
    menu: tuple[FaultSpec, ...] = ()
    menu_source: str | None = None
    page_port: int = 0


def scenario_text(plan: Plan) -> str:
    """The scenario the game day runs, as YAML (recorded in the journal's run_start)."""
    cluster = {"nodes": plan.nodes, "redis_policy": plan.redis_policy, "upstream_policy": plan.upstream_policy,
               **({"monitoring": True, "rules": plan.rules} if plan.rules else {})}
    doc = {
        "name": PHASE,
        "system": plan.system,
        "description": "A game day: steady load, faults by hand" + (f" (menu: {plan.menu_source})" if plan.menu_source else ""),
        "cluster": cluster,
        "workload": {"publish": {"rate": plan.rate, "channels": 2, "timeout": "2s"}, "subscribe": {"per_node": 2},
                     "grace": "2s"},
        "phases": [{"name": PHASE, "duration": f"{plan.for_s:g}s"}],
        # A scenario expects something; a game day's one invariant, whatever is broken on purpose.
        "expect": [INVARIANT],
    }
    return json.dumps(doc, indent=1)  # JSON is YAML: no quoting surprises for paths and names


def scenario(plan: Plan) -> Scenario:
    """The game day's scenario, validated like any other (ScenarioError for a bad rule set)."""
    return loads(scenario_text(plan), Path.cwd() / "<gameday>")


def load_menu(path: str, nodes: int) -> tuple[FaultSpec, ...]:
    """Every fault of a scenario's phases, checked against the game day's cluster (ScenarioError)."""
    s = load(path)
    menu: list[FaultSpec] = []
    for phase in s.phases:
        for timed in phase.faults:   # a menu offers the faults themselves; their timing is the facilitator's
            spec = timed.spec
            try:
                menu.append(validate_fault(spec.to_json(), nodes, spec.name))
            except ValueError as exc:
                raise ScenarioError(f"{path}: fault {spec.name} does not fit a {nodes}-node game day: {exc}") from None
    return tuple(menu)


def commands(project: str, menu: tuple[FaultSpec, ...]) -> list[str]:
    """What a facilitator types in another terminal (printed at the start)."""
    lines = [f"  harness fault inject latency --project {project} --target redis --param latency=300",
             f"  harness fault revert --project {project} --all",
             f"  harness note --project {project} \"paged on-call\""]
    for spec in menu:
        params = " ".join(f"--param {k}={v}" for k, v in spec.params.items() if not isinstance(v, dict))
        params += "".join(f" --param env.{k}={'' if v is None else v}" for k, v in spec.params.get("env", {}).items())
        lines.append(f"  harness fault inject {spec.kind} --project {project} --target {spec.target} "
                     f"--name {spec.name}{' ' + params if params else ''}")
    return lines


@dataclass
class GameDay(Runner):
    plan: Plan = field(default_factory=Plan)
    live: LiveView | None = None

    def _progress(self, journal: JournalWriter) -> Progress:
        # The game day's view starts with the runner's drive, before the load connects, so that it sees
        # every subscription; it prints its own line (the page's sample), not the runner's.
        self.live = LiveView(grace_s=self.scenario.workload.grace_s)
        journal.listeners.append(self.live.feed)
        return Progress(journal.clock, lambda line: None)

    def _targeted(self) -> set[str]:
        # Faults by hand may target any service (pausing Toxiproxy is an experiment): only the parts no
        # fault can name (monitoring, the Docker engine) are watched.
        return {t for kind in FAULT_KINDS.values() for t in targets_for(kind, self.plan.nodes)}

    async def _walk(self, faults: FaultContext, journal: JournalWriter, active: list[Fault], progress: Progress,
                    watcher: AlertWatcher | None) -> None:
        """One phase, until Ctrl-C or `--for`: faults and notes come from the control socket and the page."""
        plan, live = self.plan, self.live
        assert live is not None   # made by _progress
        desk = FaultDesk(faults, journal, active, {m.name: m for m in plan.menu})
        server = control.ControlServer(faults.project, desk)
        page = LivePage(desk, live, f"game day {faults.project}")
        journal.append("phase_start", phase=PHASE, duration_s=plan.for_s)
        progress.phase = PHASE
        ticker: asyncio.Task | None = None
        try:
            await server.start()
            url = await page.start(plan.page_port)
            journal.append("gameday_open", control=str(server.path), page=url.split("?")[0],
                           menu=[m.to_json() for m in plan.menu], by=whoami("cli"))
            journal.flush()
            self._banner(faults.project, url, server.path)
            ticker = asyncio.create_task(self._tick(live, page, journal, watcher))
            reason = await self._until_the_end(ticker)
            journal.append("gameday_close", reason=reason)
            self.log(f"game day: {reason}; reverting faults, draining, judging …")
            await desk.revert(None, whoami("cli"), during="end")
            journal.append("phase_end", phase=PHASE)
            journal.flush()
        finally:
            await stop_tasks([ticker])
            await page.stop()
            await server.stop()

    async def _until_the_end(self, ticker: asyncio.Task) -> str:
        """Wait for `--for`, Ctrl-C, or a failing ticker (the rule set stopped evaluating)."""
        try:
            done, _ = await asyncio.wait([ticker], timeout=self.plan.for_s)
        except asyncio.CancelledError:
            if not self.interrupt_requested:
                raise   # not Ctrl-C (the CLI sets the flag first): the infrastructure watch ending the run
            # Ctrl-C is how a game day ends, not an interruption: seen (the CLI stops cancelling), and the
            # game day goes on to an orderly end. Another Ctrl-C from now on marks the run interrupted.
            self.stopping = True
            self.interrupt_requested = False
            asyncio.current_task().uncancel()
            return "stopped by Ctrl-C"
        if done:
            ticker.result()   # raises what stopped it
        return f"--for {self.plan.for_s:g} s is over"

    async def _tick(self, live: LiveView, page: LivePage, journal: JournalWriter,
                    watcher: AlertWatcher | None) -> None:
        """Once a second: the sample to the terminal and to every open page."""
        sent = live.marked
        while True:
            await asyncio.sleep(1.0 - (journal.clock.now() % 1.0))  # on the second
            sample = live.sample(journal.clock.now())
            new, sent = live.markers_since(sent), live.marked
            self.log(line(sample))
            page.push("sample", {"sample": sample, "markers": new})
            if watcher and watcher.error:
                raise HarnessError(watcher.error)  # a rule that does not evaluate cannot be judged

    def _banner(self, project: str, url: str, socket_path: Path) -> None:
        plan = self.plan
        self.log(f"game day {project}: {self.scenario.system.name}, {plan.nodes} nodes, {plan.rate:g} publishes/s, "
                 f"until Ctrl-C or {plan.for_s:g} s, policies redis {plan.redis_policy} upstream {plan.upstream_policy}"
                 + (f", rules {plan.rules}" if plan.rules else ""))
        self.log(f"live page: {url}")
        self.log(f"control socket: {socket_path}")
        self.log("from another terminal:")
        for text in commands(project, plan.menu):
            self.log(text)
