"""Prometheus rule files: named sets in compose/prometheus/rules/, checked with `promtool check rules`.

A scenario names a rule set (`baseline`, `hardened`) or a rule file of its own; either is checked when
the scenario is loaded, so a rule file with a syntax error is refused before any container starts.
"""
from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import yaml

from harness.cluster.paths import COMPOSE_DIR

RULES_DIR = COMPOSE_DIR / "prometheus" / "rules"


class RuleFileError(Exception):
    """A rule file that cannot be used: missing, or refused by promtool."""


def rule_sets() -> list[str]:
    """The named rule sets (files of compose/prometheus/rules/)."""
    return sorted(p.stem for p in RULES_DIR.glob("*.yml"))


def resolve(name_or_path: str, relative_to: Path) -> Path:
    """A named set's file, or a path (relative to the scenario's directory) ending in .yml/.yaml."""
    if name_or_path.endswith((".yml", ".yaml")):
        path = Path(name_or_path)
        return (path if path.is_absolute() else relative_to / path).resolve()
    if name_or_path not in rule_sets():
        raise RuleFileError(f"unknown rule set {name_or_path!r}; allowed: {', '.join(rule_sets())}, "
                            "or a path to a rule file ending in .yml")
    return RULES_DIR / f"{name_or_path}.yml"


def check(path: Path) -> tuple[str, ...]:
    """`promtool check rules` the file; returns its alert names. RuleFileError names what is wrong."""
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise RuleFileError(f"{path}: cannot read rule file: {exc.strerror}") from None
    return _check(path, stamp)


@functools.lru_cache(maxsize=32)
def _check(path: Path, stamp: int) -> tuple[str, ...]:
    promtool = shutil.which("promtool")
    if promtool is None:
        raise RuleFileError("promtool is not installed (scripts/setup installs Debian's prometheus package)")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        detail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-8:])
        raise RuleFileError(f"{path}: promtool check rules refused it:\n{detail}")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(sorted({rule["alert"] for group in doc.get("groups", []) for rule in group.get("rules", [])
                         if "alert" in rule}))
