"""Parameter matrices: `params: {latency: [50, 200, 800], nodes: [1, 3]}` and `${latency}` in the file.

Each combination is its own scenario, named like a pytest item: `incident[latency=200-nodes=3]`
(values in the order the file lists them). Substitution is textual, before the YAML is read, so every
error still names the right line; a `${name}` that no parameter defines is an error, and so is a
parameter that no `${name}` uses.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from harness.scenario import Scenario, ScenarioError, loads, read_source

_REF = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_COMBINATIONS = 64


def load_variants(path: str | Path, rules: str | None = None) -> list[Scenario]:
    """Every scenario a file stands for: itself, or one per combination of its params (`rules`: as
    scenario.load's, `harness run --rules`)."""
    return variants(read_source(path), Path(path), rules=rules)


def variants(text: str, file: Path = Path("<scenario>"), recorded_alerts: dict[str, Any] | None = None,
             rules: str | None = None) -> list[Scenario]:
    """The scenarios of a text: one per combination of its `params` (or just the one)."""
    lines: dict[str, int] = {}
    matrix = _matrix(text, file, lines)
    for number, line in enumerate(text.splitlines(), 1):
        for ref in _REF.findall(line):
            if ref not in matrix:
                allowed = ", ".join(matrix) or "none: add a params: block"
                raise ScenarioError(f"{file}:{number}: ${{{ref}}}: unknown parameter; defined: {allowed}")
    if unused := sorted(set(matrix) - set(_REF.findall(text)), key=lines.__getitem__):
        # Each of its values would run the same scenario again, under another name.
        raise ScenarioError(f"{file}:{lines[unused[0]]}: params.{unused[0]}: never used; write ${{{unused[0]}}} "
                            "where its value goes")
    if not matrix:
        return [loads(text, file, recorded_alerts, rules)]
    out = []
    for combination in itertools.product(*matrix.values()):
        chosen = dict(zip(matrix, combination))
        scenario = loads(_REF.sub(lambda m: _scalar(chosen[m[1]]), text), file, recorded_alerts, rules)
        # The source a journal records is the file's text, params and all: `variant` finds this one by name.
        out.append(replace(scenario, name=f"{scenario.name}[{'-'.join(f'{k}={_scalar(v)}' for k, v in chosen.items())}]",
                           source=text))
    return out


def variant(text: str, file: Path, name: str, recorded_alerts: dict[str, Any] | None = None) -> Scenario:
    """The one scenario of a text a journal recorded by name (for `harness report`); a text without
    params is its only scenario, whatever the name."""
    every = variants(text, file, recorded_alerts)
    found = every if len(every) == 1 else [s for s in every if s.name == name]
    if not found:
        raise ScenarioError(f"{file}: the recorded scenario has no variant named {name!r}")
    return found[0]


def _matrix(text: str, file: Path, lines: dict[str, int]) -> dict[str, list[Any]]:
    """The params block's values per name; `lines` gets each name's line."""
    try:
        node = yaml.compose(_REF.sub("0", text), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}  # scenario.loads reports the syntax error with its line
    if not isinstance(node, yaml.MappingNode):
        return {}
    block = next((value for key, value in node.value if key.value == "params"), None)
    if block is None:
        return {}

    def error(at: yaml.Node, message: str) -> ScenarioError:
        return ScenarioError(f"{file}:{at.start_mark.line + 1}: params{message}")

    if not isinstance(block, yaml.MappingNode) or not block.value:
        raise error(block, ": must be a mapping like {latency: [50, 200], nodes: [1, 3]}")
    matrix: dict[str, list[Any]] = {}
    for key, values in block.value:
        if not _NAME.fullmatch(str(key.value)):
            raise error(key, f".{key.value}: a parameter name is letters, digits and _")
        if not isinstance(values, yaml.SequenceNode) or not values.value \
                or not all(isinstance(v, yaml.ScalarNode) for v in values.value):
            raise error(values, f".{key.value}: must be a non-empty list of values, e.g. [50, 200, 800]")
        items = [yaml.SafeLoader("").construct_object(v) for v in values.value]
        if len({_scalar(v) for v in items}) < len(items):
            raise error(values, f".{key.value}: a value is listed twice")
        matrix[str(key.value)] = items
        lines[str(key.value)] = key.start_mark.line + 1
    count = 1
    for values in matrix.values():
        count *= len(values)
    if count > MAX_COMBINATIONS:
        raise error(block, f": {count} combinations; at most {MAX_COMBINATIONS}")
    return matrix


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
