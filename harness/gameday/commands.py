"""The game day's commands: `harness gameday`, `harness note`, and the game-day path of
`harness fault inject|revert` (cli.py registers them)."""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, Callable, Coroutine

from harness import out_dir
from harness.gameday import control
from harness.journal import JOURNAL_NAME
from harness.gameday.desk import whoami
from harness.judge import EXIT_BAD_INPUT, EXIT_ERROR, EXIT_PASS
from harness.scenario import ScenarioError, parse_duration


def _err(message: str) -> None:
    print(f"harness: {message}", file=sys.stderr, flush=True)


def cmd_gameday(args: argparse.Namespace, system: str | dict,
                run_interruptible: Callable[[Coroutine, Any], Coroutine]) -> int:
    from harness.gameday.session import DEFAULT_FOR_S, PHASE, GameDay, Plan, load_menu, scenario  # the run side
    for_s = parse_duration(args.for_) if args.for_ is not None else DEFAULT_FOR_S
    if for_s is None or not 5 <= for_s <= 24 * 3600:
        _err(f"gameday: --for must be a duration from 5s to 24h, like 60s, 30m, 2h; got {args.for_!r}")
        return EXIT_BAD_INPUT
    if not 0.1 <= args.rate <= 5000:
        _err(f"gameday: --rate must be from 0.1 to 5000 publishes a second; got {args.rate:g}")
        return EXIT_BAD_INPUT
    try:
        menu = load_menu(args.faults, args.nodes) if args.faults else ()
        plan = Plan(nodes=args.nodes, system=system, rate=args.rate, for_s=for_s,
                    rules=args.rules or ("baseline" if args.monitoring else None),
                    redis_policy=args.redis_policy, upstream_policy=args.upstream_policy,
                    menu=menu, menu_source=args.faults, page_port=args.page_port)
        s = scenario(plan)
    except ScenarioError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    out = (Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())) / PHASE
    if problem := out_dir.claim(out, "a run", f"{JOURNAL_NAME}*"):
        _err(problem)
        return EXIT_BAD_INPUT
    day = GameDay(s, out, keep=args.keep, plan=plan)
    result = asyncio.run(run_interruptible(day.run(), day))
    from harness.report.terminal import render
    print(render(result.summary), flush=True)
    print(f"files: {out}/{{{day.journal_file.name},summary.json,summary.md,junit.xml,report.html}}", flush=True)
    return result.exit_status


def ask(project: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One request to the game day on `project`, from this user and host (NoGameDay if none runs)."""
    return asyncio.run(control.request(project, {**payload, "by": whoami("cli")}))


def answered(command: str, answer: dict[str, Any]) -> int:
    """Exit status of a game day's answer; its error printed."""
    if answer.get("ok"):
        return EXIT_PASS
    _err(f"{command}: {answer.get('error')}")
    return EXIT_BAD_INPUT if answer.get("status") == control.BAD_INPUT else EXIT_ERROR


def via_game_day(command: str, project: str, payload: dict[str, Any], show: Callable[[dict[str, Any]], None]) -> int | None:
    """If a game day runs on `project`, it carries the request out (and journals it): the exit status,
    the answer shown; None when no game day runs there."""
    try:
        answer = ask(project, payload)
    except control.NoGameDay:
        return None
    status = answered(command, answer)
    if status == EXIT_PASS:
        show(answer)
    return status


def cmd_note(args: argparse.Namespace) -> int:
    text = " ".join(args.text).strip()
    if not text:
        _err("note: give the note's text, e.g. harness note --project P \"paged on-call\"")
        return EXIT_BAD_INPUT
    status = via_game_day("note", args.project, {"op": "note", "text": text},
                          lambda a: print(f"noted at {a['t']:.1f} s: {a['text']}"))
    if status is None:
        _err(f"note: no game day is running on {control.project_name(args.project)}; notes go to a running "
             "game day's journal")
        return EXIT_BAD_INPUT
    return status
