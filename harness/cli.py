"""The `harness` command line (docs/architecture.md).

Exit status: 0 every expectation held; 1 an expectation failed; 2 bad input; 3 the harness or its
infrastructure failed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, TypeVar

from harness import __version__, out_dir
from harness.cluster import scope as scopes
from harness.journal import JOURNAL_NAME, JournalError, iter_journal, iter_run, run_bounds
from harness.journal_codec import CODECS, SUFFIXES
from harness import repeat
from harness.journal_schema import span_problem
from harness.judge import EXIT_BAD_INPUT, EXIT_ERROR, EXIT_FAIL, EXIT_PASS, judge_events
from harness.params import load_variants, variant
from harness.scenario import Scenario, ScenarioError

if TYPE_CHECKING:
    from harness.runner import Runner

T = TypeVar("T")


def _err(message: str) -> None:
    print(f"harness: {message}", file=sys.stderr, flush=True)


def _default_out() -> Path:
    return Path("runs") / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


INSIST_S = 0.5


async def _run_interruptible(work: Awaitable[T], runner: Runner | None = None) -> T:
    """Await `work` so that SIGINT/SIGTERM interrupt it (its cleanup then runs) instead of killing us.

    Only the first signal interrupts: a second one must not cut the cleanup (fault reverts, teardown)
    short. For a Runner the first is remembered on it, not read back from the task's `cancelling()`:
    libraries that cancel the task for their own timeouts (async_timeout) never uncancel it, so that count
    lies; and until the run has seen the cancellation it is repeated, in case a library swallowed it.
    Without a runner (the hunt, whose trials are runs) the first signal cancels once.
    """
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    first = [True]

    def insist() -> None:
        if not task.done() and runner is not None and not runner.stopping:
            task.cancel()
            loop.call_later(INSIST_S, insist)

    def on_signal() -> None:
        if not first[0]:
            _err("still reverting faults and tearing down; please wait")
            return
        first[0] = False
        if runner is None:
            task.cancel()
        else:
            runner.interrupt_requested = True
            insist()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    result = await task
    for _ in range(2):
        await asyncio.sleep(0)  # a signal that came while the result was judged is read now
    return result


def cmd_run(args: argparse.Namespace) -> int:
    if args.workers < 0:
        _err(f"--workers must be 0 or more, got {args.workers}")
        return EXIT_BAD_INPUT
    try:
        rules = _rules_flag(args.rules)
        scenarios = [s for path in args.scenarios for s in load_variants(path, rules)]
    except ScenarioError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    out = Path(args.out) if args.out else _default_out()
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        _err(f"two scenarios share a name ({', '.join(sorted({n for n in names if names.count(n) > 1}))}): "
             "their output directories would collide; rename one")
        return EXIT_BAD_INPUT
    for scenario in scenarios:
        if problem := out_dir.claim(out / scenario.name / ("run-1" if args.repeat > 1 else ""), "a run", f"{JOURNAL_NAME}*"):
            _err(problem)
            return EXIT_BAD_INPUT
    from harness.runner import Runner  # the Docker side, only for runs
    worst = EXIT_PASS
    for scenario in scenarios:
        summaries = []
        for k in range(1, args.repeat + 1):
            where = out / scenario.name / (f"run-{k}" if args.repeat > 1 else "")
            runner = Runner(scenario, where, keep=args.keep, seed=args.seed, journal_codec=args.journal,
                            workers=args.workers)
            result = asyncio.run(_run_interruptible(runner.run(), runner))
            from harness.report.terminal import render
            print(render(result.summary), flush=True)
            print(f"files: {result.out_dir}/{{{runner.journal_file.name},summary.json,summary.md,junit.xml,report.html}}",
                  flush=True)
            summaries.append(result.summary)
            if runner.interrupt_requested:
                if result.summary.get("error") != "interrupted":
                    _err("interrupted while the run was being judged; its journal is complete (harness report)")
                return EXIT_ERROR
        if args.repeat > 1:
            stats = repeat.aggregate(summaries)
            (out / scenario.name / "repeat.json").write_text(json.dumps(stats, indent=2) + "\n")
            (out / scenario.name / "junit.xml").write_text(repeat.junit_xml(stats))
            print(repeat.render(stats), flush=True)
            status = stats["exit_status"]
        else:
            status = summaries[0]["exit_status"]
        worst = max(worst, status)  # flaky (4) outranks everything: it is the finding a repeat is for
    return worst


def _rules_flag(value: str | None) -> str | None:
    """--rules: a set's name as is, a rule file made absolute (scenarios resolve paths from their own
    directory, the flag from the working directory)."""
    if value is None or not value.endswith((".yml", ".yaml")):
        return value
    return str(Path(value).resolve())


def cmd_validate(args: argparse.Namespace) -> int:
    status = EXIT_PASS
    for path in args.scenarios:
        try:
            for s in load_variants(path):
                print(f"{path}: ok ({s.name}: {len(s.phases)} phases, {sum(p.duration_s for p in s.phases):g} s, "
                      f"{len(s.expectations)} expectations)")
        except ScenarioError as exc:
            _err(str(exc))
            status = EXIT_BAD_INPUT
    return status


def cmd_list(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    if not directory.is_dir():
        _err(f"list: no such directory {directory}")
        return EXIT_BAD_INPUT
    status = EXIT_PASS
    for path in sorted(directory.glob("*.yaml")):
        try:
            for s in load_variants(path):
                # The description's first paragraph: the customer-visible question the scenario answers.
                first = " ".join(s.description.strip().split("\n\n")[0].split())
                print(f"{path}  {s.name}  {sum(p.duration_s for p in s.phases):g}s  {first}")
        except ScenarioError as exc:
            print(f"{path}  INVALID  {exc}")
            status = EXIT_BAD_INPUT
    return status


def judge_journal(path: Path) -> tuple[dict, bool]:
    """Re-judge a journal (and its shards) from itself alone: (summary, whether it reached run_end). The
    journal is read twice, never held: once for its bounds, once streamed to the judge.

    JournalError or ScenarioError when it is not a harness journal."""
    next(iter_journal(path), None)  # the first line checked against the schema: a clear error for junk
    bounds = run_bounds(path)
    start, end = bounds.start, bounds.end
    if start is None or "source" not in start:
        raise JournalError(f"{path}: no run_start event with the scenario; is this a harness journal?")
    if not isinstance(start["source"], str) or not isinstance(start.get("monitoring") or {}, dict):
        raise JournalError(f"{path}: its run_start does not carry a scenario; is this a harness journal?")
    monitoring = start.get("monitoring") or None
    if monitoring is not None and not (isinstance(monitoring.get("rule_set", ""), str)
                                       and isinstance(monitoring.get("rules_file", ""), str)
                                       and isinstance(monitoring.get("alerts", []), list)
                                       and all(isinstance(a, str) for a in monitoring.get("alerts", []))):
        raise JournalError(f"{path}: its run_start's monitoring must be {{rule_set, rules_file, alerts: [names]}}; "
                           "is this a harness journal?")
    scenario: Scenario = variant(start["source"], Path(str(start.get("path", "<journal>"))),
                                 str(start.get("scenario")), monitoring)
    declared = sum(p.duration_s for p in scenario.phases) + scenario.workload.grace_s
    if problem := span_problem(bounds.first_phase_s, bounds.last_s, declared):
        raise JournalError(f"{path}: {problem}")
    error = end.get("error") if end else None
    try:
        return judge_events(iter_run(path), scenario, error, again=lambda: iter_run(path)), end is not None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise JournalError(f"{path}: not a harness journal (an event lacks a field or has the wrong type: "
                           f"{type(exc).__name__}: {exc})") from None


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report import write_reports
    from harness.report.terminal import render
    try:
        summary, ended = judge_journal(Path(args.journal))
    except (JournalError, ScenarioError) as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    if not ended and not args.partial:
        _err(f"{args.journal}: the run is incomplete (no run_end: it was killed); nothing judged. "
             "`harness report --partial` gives the verdicts up to its last line (still exit 3)")
        return EXIT_ERROR
    out = Path(args.out) if args.out else Path(args.journal).parent
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_reports(out, summary)
    except OSError as exc:
        _err(f"cannot write the reports to {out}: {exc.strerror}")
        return EXIT_BAD_INPUT
    print(render(summary))
    return summary["exit_status"]


def run_journal(run: str) -> Path:
    """The journal of a run named by its journal, its directory, or a directory holding one run's."""
    path = Path(run)
    if path.is_file():
        return path
    for name in (JOURNAL_NAME + suffix for suffix in SUFFIXES.values()):
        if (path / name).is_file():
            return path / name
    found = sorted(p for suffix in SUFFIXES.values() for p in path.glob(f"*/{JOURNAL_NAME}{suffix}"))
    if len(found) == 1:
        return found[0]
    raise JournalError(f"{run}: not a run: expected a journal.jsonl, a run directory, or a directory holding "
                       f"one run{' (it holds ' + str(len(found)) + ': name one)' if found else ''}")


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.hunt import compare as hunts
    from harness.report import compare
    found = [hunts.hunt_file(x) for x in (args.run_a, args.run_b)]
    try:
        if all(found):    # two hunts: trial by trial
            c = hunts.compare_hunts(*(hunts.read_hunt(path) for path in found))
            render_text, render_html = hunts.render_text, hunts.render_html
        elif any(found):
            raise hunts.HuntFileError(f"{args.run_a if found[0] else args.run_b} is a hunt and "
                             f"{args.run_b if found[0] else args.run_a} is not; compare two runs or two hunts")
        else:
            c = compare.compare(*(judge_journal(run_journal(run))[0] for run in (args.run_a, args.run_b)))
            render_text, render_html = compare.render_text, compare.render_html
    except (JournalError, ScenarioError, hunts.HuntFileError) as exc:
        _err(f"compare: {exc}")
        return EXIT_BAD_INPUT
    out = Path(args.out) if args.out else Path("runs") / time.strftime("compare-%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.html").write_text(render_html(c))
    except OSError as exc:
        _err(f"compare: cannot write to {out}: {exc.strerror}")
        return EXIT_BAD_INPUT
    print(render_text(c))
    print(f"file: {out / 'compare.html'}")
    return EXIT_PASS


def _system_spec(spec: str) -> str | dict:
    """`--system` as a scenario's `system:` field: a built-in system's name, or the declaration a YAML
    file holds (docs/systems.md); ValueError when the file cannot be read."""
    from harness import strict_yaml
    if spec.endswith((".yaml", ".yml")):
        try:
            # The scenario's reader: a hostile file (alias bombs, tags, duplicate keys) is refused in bounded time.
            return strict_yaml.load(strict_yaml.decode(Path(spec).read_bytes()))[0]
        except OSError as exc:
            raise ValueError(f"{spec}: cannot read the system declaration: {exc.strerror}") from None
        except strict_yaml.YamlError as exc:
            raise ValueError(f"{spec}:{exc.line}: {exc.message}") from None
    return spec


def _system(spec: str):
    """The system `--system` names (docs/systems.md); ValueError saying what is wrong."""
    from harness import systems
    declared = _system_spec(spec)
    try:
        return systems.resolve(declared)
    except ValueError as exc:
        raise ValueError(f"{spec}: {exc}" if isinstance(declared, dict) else str(exc)) from None


def cmd_up(args: argparse.Namespace) -> int:
    from harness.cluster.cluster import Cluster, ClusterError
    from harness.observe import rules
    try:
        system = _system(args.system)
    except ValueError as exc:
        _err(f"up: --system: {exc}")
        return EXIT_BAD_INPUT
    monitoring: dict = {}
    if args.monitoring or args.rules:
        try:
            path = rules.resolve(args.rules or "baseline", Path.cwd())
            rules.check(path)
        except rules.RuleFileError as exc:
            _err(str(exc))
            return EXIT_BAD_INPUT
        monitoring = {"monitoring": True, "rules_file": path}
    cluster = Cluster(nodes=args.nodes, keep=True, system=system, **monitoring)
    try:
        endpoints = cluster.up()
    except ClusterError as exc:
        _err(str(exc))
        return EXIT_ERROR
    if args.json:
        print(json.dumps(endpoints.to_json(), indent=2))
    else:
        _print_cluster(endpoints)
        print(f"stop it with: harness down {endpoints.project}")
    return EXIT_PASS


def _print_cluster(e) -> None:
    print(f"{e.project}  ({e.system}, {e.protocol} protocol)")
    for n in e.nodes:
        print(f"  {n.name:<10} {n.http}  {n.ws}")
    for name in ("toxiproxy", "redis", "upstream", "prometheus", "alertmanager", "alertsink"):
        if getattr(e, name):
            print(f"  {name:<10} {getattr(e, name)}")
    for app in e.apps:
        print(f"  app        id={app.id} key={app.key} secret={app.secret}")


def cmd_down(args: argparse.Namespace) -> int:
    from harness.cluster.cluster import ClusterError
    try:
        return _down(args)
    except ClusterError as exc:
        _err(f"down: {exc}")
        return EXIT_ERROR


def _down(args: argparse.Namespace) -> int:
    from harness.cluster.cluster import LABEL_RUN, down_all, forget_system_dir, remove_labelled
    if args.scope and not args.all:
        _err("down: --scope goes with --all")
        return EXIT_BAD_INPUT
    if args.all:
        from harness.faults.manual import forget_all
        containers, networks = down_all(args.scope)
        if not args.scope:
            forget_all()
        print(f"removed {containers} containers and {networks} networks labelled by the harness"
              f"{f' in scope {args.scope}' if args.scope else ''}")
        return EXIT_PASS
    if not args.project:
        _err("down: name a PROJECT (see `harness ps`) or pass --all")
        return EXIT_BAD_INPUT
    from harness.faults import manual
    run_id = args.project.removeprefix("hx-")
    # Faults made by hand are reverted and Toxiproxy reset first: nothing is removed mid-fault.
    problems = asyncio.run(manual.revert_for_down(f"hx-{run_id}"))
    containers, networks = remove_labelled({LABEL_RUN: run_id})
    forget_system_dir(run_id)
    if not containers and not networks:
        _err(f"down: no cluster {args.project!r}; `harness ps` lists them")
        return EXIT_BAD_INPUT
    for problem in problems:
        _err(f"down: note: {problem}")
    print(f"removed {args.project}: {containers} containers, {networks} networks")
    return EXIT_PASS


def cmd_fault_list(args: argparse.Namespace) -> int:
    from harness.faults.catalog import FAULT_KINDS, targets_for
    for kind in FAULT_KINDS.values():
        targets = ", ".join(targets_for(kind, 3 if args.nodes is None else args.nodes))
        print(f"{kind.name:<30} {kind.doc}")
        print(f"{'':<30} targets: {targets}{' (several comma-separated)' if kind.multi else ''}")
        for p in kind.params:
            default = "required" if p.default is None else f"default {p.default}"
            choices = f" ({'|'.join(p.choices)})" if p.choices else ""
            print(f"{'':<30} {p.name}: {p.doc}{choices}, {default}")
        if kind.family == "toxic":
            print(f"{'':<30} stream: downstream|upstream, default downstream; toxicity: 0..1, default 1")
    return EXIT_PASS


def cmd_fault_inject(args: argparse.Namespace) -> int:
    from harness.faults import manual
    from harness.gameday import commands
    try:
        raw = {"kind": args.kind, **manual.parse_params(args.param)}
        raw.update({k: v for k, v in (("target", args.target), ("name", args.name)) if v is not None})
        status = commands.via_game_day("fault inject", args.project, {"op": "inject", "fault": raw}, lambda a: print(
            f"injected {a['name']} ({a['kind']} on {a['target']}): {a['evidence']}\n"
            f"revert it with: harness fault revert --project {args.project} {a['name']}"))
        if status is not None:
            return status
        spec, evidence = asyncio.run(manual.inject(args.project, raw))
    except ValueError as exc:
        _err(f"fault inject: {exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:  # FaultError, ClusterError, ToxiproxyError: the cluster, not the input
        _err(f"fault inject: {exc}")
        return EXIT_ERROR
    print(f"injected {spec.name} ({spec.kind} on {spec.target}): {evidence}")
    print(f"revert it with: harness fault revert --project {args.project} {spec.name}")
    return EXIT_PASS


def cmd_fault_revert(args: argparse.Namespace) -> int:
    from harness.faults import manual
    if args.all == (args.name is not None):
        _err("fault revert: name one fault, or pass --all")
        return EXIT_BAD_INPUT
    from harness.gameday import commands
    try:
        status = commands.via_game_day("fault revert", args.project, {"op": "revert", "name": args.name}, lambda a: print(
            f"reverted: {', '.join(a['reverted']) or 'nothing was active'}"))
        if status is not None:
            return status
        done = asyncio.run(manual.revert(args.project, args.name))
    except ValueError as exc:
        _err(f"fault revert: {exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:
        _err(f"fault revert: {exc}")
        return EXIT_ERROR
    print(f"reverted: {', '.join(done) or 'nothing was active'}")
    return EXIT_PASS


def cmd_gameday(args: argparse.Namespace) -> int:
    from harness.gameday import commands
    try:
        _system(args.system)
        system = _system_spec(args.system)   # as the game day's scenario states it (recorded in its journal)
    except ValueError as exc:
        _err(f"gameday: --system: {exc}")
        return EXIT_BAD_INPUT
    return commands.cmd_gameday(args, system, _run_interruptible)


def cmd_note(args: argparse.Namespace) -> int:
    from harness.gameday import commands
    return commands.cmd_note(args)


def cmd_ps(args: argparse.Namespace) -> int:
    from harness.cluster.cluster import running_clusters
    from harness.cluster.status import cluster_statuses
    clusters = {c.run_id: c for c in running_clusters()}
    statuses = cluster_statuses({run_id: c.toxiproxy for run_id, c in clusters.items() if c.toxiproxy})
    if args.json:
        print(json.dumps([{**(clusters[r].to_json() if r in clusters else {"project": f"hx-{r}", "run_id": r}),
                           "status": statuses[r].to_json()} for r in sorted(statuses)], indent=2))
        return EXIT_PASS
    for run_id in sorted(statuses):
        if run_id in clusters:
            _print_cluster(clusters[run_id])
        else:
            print(f"hx-{run_id} (no container running)")
        print(f"  status     {statuses[run_id].describe()}")
    if not statuses:
        print("no harness clusters running")
    return EXIT_PASS


def cmd_hunt(args: argparse.Namespace) -> int:
    import random
    from harness.hunt import report
    from harness.hunt.classify import Thresholds
    from harness.hunt.confirm import NOT_RERUN
    from harness.hunt.hunt import HuntConfig, evidenced, hunt
    from harness.observe import rules
    from harness.duration import parse_duration
    try:
        system = _system(args.system)
        spec = _system_spec(args.system)   # as the trials' scenarios state it (and the found ones)
    except ValueError as exc:
        _err(f"hunt: --system: {exc}")
        return EXIT_BAD_INPUT
    rules_flag = args.rules or system.baseline_rules
    budget, deadline = parse_duration(args.budget), parse_duration(args.deadline)
    if budget is None or not 60 <= budget <= 24 * 3600:
        _err(f"hunt: --budget must be a duration from 1m to 24h like 10m, 600s; got {args.budget!r}")
        return EXIT_BAD_INPUT
    if deadline is None or not 1 <= deadline <= 300:
        _err(f"hunt: --deadline must be a duration from 1s to 5m like 20s; got {args.deadline!r}")
        return EXIT_BAD_INPUT
    for flag, value in (("--success-rate", args.success_rate), ("--delivery-ratio", args.delivery_ratio)):
        if not 0 < value <= 1:
            _err(f"hunt: {flag} must be from 0 (exclusive) to 1; got {value:g}")
            return EXIT_BAD_INPUT
    if args.latency_ms <= 0 or args.min_publishes < 1 or (args.max_trials is not None and args.max_trials < 1):
        _err("hunt: --latency-ms must be above 0, --min-publishes and --max-trials at least 1")
        return EXIT_BAD_INPUT
    try:
        rules_file = rules.resolve(rules_flag, Path.cwd())
        rules.check(rules_file)
    except rules.RuleFileError as exc:
        _err(f"hunt: --rules: {exc}")
        return EXIT_BAD_INPUT
    out = Path(args.out) if args.out else Path("runs") / time.strftime("hunt-%Y%m%dT%H%M%SZ", time.gmtime())
    if problem := out_dir.claim(out, "a hunt", "hunt.json", "trials"):
        _err(problem)
        return EXIT_BAD_INPUT
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    if args.seed is None:
        print(f"hunt: seed {seed} (replay with --seed {seed})", flush=True)
    config = HuntConfig(seed, args.nodes, _rules_flag(rules_flag) or rules_flag, rules_file, budget, out,
                        Thresholds(args.success_rate, args.delivery_ratio, args.latency_ms, deadline, args.min_publishes),
                        spec, args.max_trials)
    result = asyncio.run(_run_interruptible(hunt(config, lambda m: print(m, file=sys.stderr, flush=True))))
    doc = report.write(result)
    print(report.terminal(doc), flush=True)
    print(f"files: {out}/{{hunt.json,hunt.html,found/,trials/}}", flush=True)
    if result.error or result.stopped == "interrupted":
        return EXIT_ERROR
    if not result.gaps and not evidenced(result):
        _err("hunt: no trial reached a class (each had no evidence, or none fitted the budget): no verdict")
        return EXIT_ERROR
    if any(g.confirmed for g in result.gaps):
        return EXIT_FAIL
    if rerun := [g.found_by.name for g in result.gaps if g.confirmation.status == NOT_RERUN]:
        _err(f"hunt: no gap confirmed, and {', '.join(rerun)} could not be run again to confirm it: no verdict")
        return EXIT_ERROR
    return EXIT_PASS


def cmd_images(args: argparse.Namespace) -> int:
    from harness.cluster.images import ImageError, build_all
    started = time.monotonic()
    try:
        _, built = build_all(from_registry=args.from_registry)
    except ImageError as exc:
        _err(str(exc))
        return EXIT_ERROR
    for b in built:
        print(f"{b.tag:<32} {'cached' if b.cached else f'built in {b.seconds:.1f} s'}")
    print(f"images ready in {time.monotonic() - started:.1f} s")
    return EXIT_PASS


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 100, got {text!r}")
    return int(text)


def _seed(text: str) -> int:
    """--seed: as a scenario's `seed:`, a non-negative integer."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harness", description="Chaos-test a Pusher-style pub/sub cluster and its monitoring.")
    p.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run scenarios end to end and judge them")
    run.add_argument("scenarios", nargs="+", metavar="SCENARIO.yaml")
    run.add_argument("--out", metavar="DIR", help="output directory (default runs/<UTC time>)")
    run.add_argument("--keep", action="store_true", help="leave the cluster running after the run")
    run.add_argument("--rules", metavar="SET|FILE",
                     help="judge with this rule set (baseline, hardened) or rule file instead of the scenario's")
    run.add_argument("--journal", choices=("auto", *CODECS), default="auto",
                     help="how the journal is stored: auto (default) compresses with zstd when the scenario "
                          "declares 1,000 events/s or more; plain, zstd or gzip force one")
    run.add_argument("--workers", type=int, default=0, metavar="N",
                     help="run the load's subscribers in N processes, each journaling its own shard "
                          "(default 0: all in the harness's process, enough for small runs)")
    run.add_argument("--seed", type=_seed, metavar="N",
                     help="seed of every fault schedule (replays a run's faults exactly; default: the scenario's, "
                          "else drawn and printed)")
    run.add_argument("--repeat", type=_positive, default=1, metavar="N",
                     help="run each scenario N times, each on a fresh cluster; flake statistics, exit 4 if flaky")
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("scenarios", nargs="+", metavar="SCENARIO.yaml")
    validate.set_defaults(func=cmd_validate)

    lst = sub.add_parser("list", help="list the scenarios of a directory")
    lst.add_argument("dir", nargs="?", default="scenarios")
    lst.set_defaults(func=cmd_list)

    report = sub.add_parser("report", help="re-judge a journal and write its reports")
    report.add_argument("journal", metavar="JOURNAL")
    report.add_argument("--out", metavar="DIR", help="where to write (default: the journal's directory)")
    report.add_argument("--partial", action="store_true",
                        help="judge a journal without run_end (a killed run) up to its last line; exit 3 still")
    report.set_defaults(func=cmd_report)

    comp = sub.add_parser("compare", help="two runs side by side (alerts, detection times, customer impact per "
                                          "fault), or two hunts trial by trial")
    comp.add_argument("run_a", metavar="RUN_A", help="a journal.jsonl or a run directory; or a hunt.json or a hunt's directory")
    comp.add_argument("run_b", metavar="RUN_B")
    comp.add_argument("--out", metavar="DIR", help="where to write compare.html (default runs/compare-<UTC time>)")
    comp.set_defaults(func=cmd_compare)

    up = sub.add_parser("up", help="start a cluster and leave it running")
    up.add_argument("--nodes", type=int, default=3, choices=(1, 2, 3))
    up.add_argument("--json", action="store_true", help="print endpoints and app credentials as JSON")
    up.add_argument("--monitoring", action="store_true",
                    help="add Prometheus, redis_exporter, Alertmanager and the alert sink")
    up.add_argument("--rules", metavar="SET|FILE", help="rule set (baseline, hardened) or rule file; implies --monitoring")
    up.add_argument("--system", default="pusher-node", metavar="NAME|FILE.yaml",
                    help="the system under test: pusher-node (default), centrifugo, or a YAML file declaring your own")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="remove a cluster, or every harness cluster with --all")
    down.add_argument("project", nargs="?")
    down.add_argument("--all", action="store_true", help="every harness cluster on this machine")
    down.add_argument("--scope", metavar="S", help="with --all: only clusters of this scope (HX_SCOPE; tests use "
                                                  "their own, users' clusters are 'user')")
    down.set_defaults(func=cmd_down)

    ps = sub.add_parser("ps", help="list clusters: endpoints, scope, owner (orphaned when it is gone), active faults")
    ps.add_argument("--json", action="store_true")
    ps.set_defaults(func=cmd_ps)

    fault = sub.add_parser("fault", help="inject and revert faults by hand on a running cluster")
    fault_sub = fault.add_subparsers(dest="fault_command", required=True, metavar="list|inject|revert")
    flist = fault_sub.add_parser("list", help="the fault kinds, their targets and parameters")
    flist.add_argument("--nodes", type=int, choices=(1, 2, 3), help="list targets for this many nodes (default 3)")
    flist.set_defaults(func=cmd_fault_list)
    finject = fault_sub.add_parser("inject", help="inject a fault, confirm it, and remember it")
    finject.add_argument("kind", metavar="KIND")
    finject.add_argument("--project", required=True, metavar="P")
    finject.add_argument("--target", metavar="T", help="what the fault acts on (see `harness fault list`)")
    finject.add_argument("--name", metavar="NAME", help="its name for revert (default: the kind)")
    finject.add_argument("--param", action="append", default=[], metavar="k=v",
                         help="a parameter; repeat; env.NAME=v for recreate-env")
    finject.set_defaults(func=cmd_fault_inject)
    frevert = fault_sub.add_parser("revert", help="revert remembered faults")
    frevert.add_argument("name", nargs="?", metavar="NAME")
    frevert.add_argument("--project", required=True, metavar="P")
    frevert.add_argument("--all", action="store_true")
    frevert.set_defaults(func=cmd_fault_revert)

    gameday = sub.add_parser("gameday", help="a live cluster under load for faults by hand, with a live page")
    gameday.add_argument("--nodes", type=int, default=3, choices=(1, 2, 3))
    gameday.add_argument("--system", default="pusher-node", metavar="NAME|FILE.yaml",
                         help="the system under test: pusher-node (default), centrifugo, or a YAML file declaring your own")
    gameday.add_argument("--monitoring", action="store_true",
                         help="add Prometheus, redis_exporter, Alertmanager and the alert sink (rule set baseline)")
    gameday.add_argument("--rules", metavar="SET|FILE", help="rule set (baseline, hardened) or rule file; implies --monitoring")
    for dependency in ("redis", "upstream"):
        gameday.add_argument(f"--{dependency}-policy", choices=("strict", "degrade"), default="strict",
                             help=f"what the nodes do when {dependency} fails (docs/node.md; default strict)")
    gameday.add_argument("--rate", type=float, default=20.0, help="publishes a second (default 20)")
    gameday.add_argument("--for", dest="for_", metavar="DURATION",
                         help="end by itself after this long (e.g. 30m; default 4h); Ctrl-C ends it sooner")
    gameday.add_argument("--faults", metavar="SCENARIO.yaml", help="offer this scenario's faults as a menu")
    gameday.add_argument("--out", metavar="DIR", help="output directory (default runs/<UTC time>); writes DIR/gameday/")
    gameday.add_argument("--keep", action="store_true", help="leave the cluster running afterwards")
    gameday.add_argument("--page-port", type=int, default=0, metavar="PORT",
                         help="the live page's port on 127.0.0.1 (default: a free one)")
    gameday.set_defaults(func=cmd_gameday)

    note = sub.add_parser("note", help="add a note to a running game day's journal")
    note.add_argument("text", nargs="+", metavar="TEXT")
    note.add_argument("--project", required=True, metavar="P")
    note.set_defaults(func=cmd_note)

    hunt = sub.add_parser("hunt", help="search the fault catalogue for monitoring gaps (impact, no alert)")
    hunt.add_argument("--system", default="pusher-node", metavar="NAME|FILE.yaml",
                      help="the system under test: pusher-node (default), centrifugo, or a YAML file declaring your own")
    hunt.add_argument("--nodes", type=int, default=2, choices=(1, 2, 3))
    hunt.add_argument("--rules", metavar="SET|FILE",
                      help="the rule set hunted (baseline, hardened, centrifugo-…) or a rule file (default: the "
                           "system's baseline: baseline, or centrifugo-baseline for centrifugo)")
    hunt.add_argument("--seed", type=_seed, help="replays the same hunt (default: drawn and printed)")
    hunt.add_argument("--budget", default="10m", help="wall time for the whole hunt, cluster included (default 10m)")
    hunt.add_argument("--out", metavar="DIR", help="output directory (default runs/hunt-<UTC time>)")
    hunt.add_argument("--success-rate", type=float, default=0.99,
                      help="impact: publish success below this in the fault or recover phase (default 0.99)")
    hunt.add_argument("--delivery-ratio", type=float, default=0.99, help="impact: delivery ratio below this (default 0.99)")
    hunt.add_argument("--latency-ms", type=float, default=1000.0,
                      help="impact: delivery p99 latency above this, ms (default 1000)")
    hunt.add_argument("--deadline", default="20s",
                      help="detected: an alert firing within this after the fault's confirmation (default 20s)")
    hunt.add_argument("--min-publishes", type=int, default=20,
                      help="evidence: fewer publish attempts in a phase give no verdict (default 20)")
    hunt.add_argument("--max-trials", type=int, metavar="N", help="stop after N trials even if budget is left")
    hunt.set_defaults(func=cmd_hunt)

    images = sub.add_parser("images", help="build the cluster's images (no registry needed)")
    images_sub = images.add_subparsers(dest="images_command", required=True, metavar="build")
    build = images_sub.add_parser("build", help="build every image, skipping those whose inputs did not change")
    build.add_argument("--from-registry", action="store_true", help="build from official images (needs a registry)")
    build.set_defaults(func=cmd_images)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Checked before anything starts: a bad scope is the user's input, not a harness error.
    if problem := scopes.problem(scopes.current()):
        _err(problem)
        return EXIT_BAD_INPUT
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_ERROR
    except Exception as exc:  # Docker gone, a bug: exit 3 with one line, never 1 ("an expectation failed")
        _err(f"harness error: {type(exc).__name__}: {exc}")
        return EXIT_ERROR
