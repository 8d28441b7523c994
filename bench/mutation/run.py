"""Mutation check of the scenario library: how many plausible node bugs does it catch?

Each mutant (mutants.py) is applied to a copy of compose/; the scenarios expected to catch it run
against that copy (`harness run` with HX_COMPOSE_DIR pointing at it, so the mutated node image is
built from it), cheapest first, stopping at the first kill. Exit status 1 of a run (an expectation
failed) kills the mutant; 0 lets it survive; anything else (2, 3) is an error, reported apart and not
counted as a kill. Prints a line per mutant, then the kill ratio; `--json FILE` writes the results.

    .venv/bin/python bench/mutation/run.py [--mutant NAME ...] [--all-scenarios] [--json FILE]

Expensive (a cluster per scenario run): run it at the end, alone on the machine's Docker.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutants import MUTANTS, Mutant  # noqa: E402

HARNESS = ROOT / ".venv" / "bin" / "harness"


def apply(mutant: Mutant, compose: Path) -> None:
    """Rewrite the mutant's file in a compose/ copy; ValueError unless its text occurs exactly once."""
    path = compose / mutant.file
    text = path.read_text()
    if text.count(mutant.old) != 1:
        raise ValueError(f"{mutant.name}: the text to replace occurs {text.count(mutant.old)} times in {mutant.file}")
    path.write_text(text.replace(mutant.old, mutant.new))


def run_mutant(mutant: Mutant, every: bool, log) -> dict:
    """Run the mutant's scenarios against a mutated copy of compose/; stop at the first kill unless every."""
    with tempfile.TemporaryDirectory(prefix=f"hx-mutant-{mutant.name}-") as tmp:
        compose = Path(tmp) / "compose"
        shutil.copytree(ROOT / "compose", compose, ignore=shutil.ignore_patterns("__pycache__"))
        apply(mutant, compose)
        env = dict(os.environ, HX_COMPOSE_DIR=str(compose))
        results = []
        for scenario in mutant.scenarios:
            started = time.monotonic()
            out = Path(tmp) / "runs" / scenario
            done = subprocess.run([str(HARNESS), "run", str(ROOT / "scenarios" / f"{scenario}.yaml"), "--out", str(out)],
                                  env=env, capture_output=True, text=True, cwd=ROOT)
            outcome = {0: "survived", 1: "killed"}.get(done.returncode, f"error (exit {done.returncode})")
            failed = [line.strip() for line in done.stdout.splitlines() if line.startswith("FAIL")]
            results.append({"scenario": scenario, "outcome": outcome, "seconds": round(time.monotonic() - started, 1),
                            "failed": failed[:3], **({"stderr": done.stderr[-400:]} if outcome.startswith("error") else {})})
            log(f"  {mutant.name}: {scenario}: {outcome} ({results[-1]['seconds']:.0f} s)"
                + (f" — {failed[0]}" if failed else ""))
            if outcome == "killed" and not every:
                break
    killers = [r["scenario"] for r in results if r["outcome"] == "killed"]
    return {"mutant": mutant.name, "bug": mutant.bug, "killed": bool(killers), "killed_by": killers, "runs": results}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mutant", action="append", default=[], metavar="NAME", help="only these (repeat)")
    p.add_argument("--all-scenarios", action="store_true", help="run every listed scenario, not only to the first kill")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    args = p.parse_args(argv)
    known = {m.name: m for m in MUTANTS}
    unknown = [n for n in args.mutant if n not in known]
    if unknown:
        p.error(f"unknown mutant(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[n] for n in args.mutant] if args.mutant else list(MUTANTS)
    log = lambda m: print(m, flush=True)
    started = time.monotonic()
    results = []
    for mutant in chosen:
        log(f"{mutant.name}: {mutant.bug}")
        results.append(run_mutant(mutant, args.all_scenarios, log))
    killed = sum(r["killed"] for r in results)
    errors = sum(any(x["outcome"].startswith("error") for x in r["runs"]) and not r["killed"] for r in results)
    print(f"\n{'mutant':<32} {'killed by':<40} runs")
    for r in results:
        print(f"{r['mutant']:<32} {', '.join(r['killed_by']) or 'SURVIVED':<40} {len(r['runs'])}")
    print(f"kill ratio: {killed}/{len(results)} = {killed / len(results):.0%}"
          f"{f' ({errors} with harness errors)' if errors else ''}; {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
