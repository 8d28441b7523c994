"""pytest plugin: scenario files are tests, and fixtures give Python tests a real cluster.

`pytest scenarios/` (or any `*.yaml` under a directory named `scenarios`, or a file named
`*.scenario.yaml`) runs each scenario end to end: the item passes when every expectation held, fails
with each failed expectation's evidence, and errors when the harness or its infrastructure failed.
Works with `-n 2` (every run owns its cluster) and `--junitxml`. Output goes to
`<--harness-out>/<UTC time of the session>-<4 hex>/<scenario>/` (default `runs/pytest/…`): runs never
overwrite.

Fixtures: `hx_cluster(nodes=2)` starts a cluster for a Python-written scenario and tears it down
after the test; `hx_scenario(text)` runs a scenario given as YAML text and returns its summary.
"""
from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from pathlib import Path

import pytest

from harness.judge import EXIT_ERROR
from harness.params import load_variants
from harness.runner import Runner
from harness.scenario import Scenario, ScenarioError, loads


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "chaos scenarios")
    group.addoption("--harness-out", default="runs/pytest", metavar="DIR",
                    help="scenario runs write DIR/<UTC time>/<scenario>/journal.jsonl, summary.json, … "
                         "(default runs/pytest)")
    group.addoption("--harness-keep", action="store_true", help="leave each scenario's cluster running")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario: a scenario file's full run (pytest -n 2 scenarios/ runs the library)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    is_scenario = file_path.suffix in (".yaml", ".yml") and (
        file_path.parent.name == "scenarios" or file_path.name.endswith((".scenario.yaml", ".scenario.yml")))
    if is_scenario:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        try:
            scenarios = load_variants(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        for scenario in scenarios:  # a params matrix gives one item per combination: name[a=1-b=2]
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioFailed(Exception):
    """An expectation did not hold (exit 1) or the run errored (exit 3)."""


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kw) -> None:
        super().__init__(**kw)
        self.scenario = scenario
        self.add_marker(pytest.mark.integration)
        self.add_marker(pytest.mark.scenario)

    def runtest(self) -> None:
        out = session_out(self.config)
        summary = run_scenario(self.scenario, out, keep=self.config.getoption("harness_keep"))
        self.user_properties.append(("summary", str(out / self.scenario.name / "summary.json")))
        if summary["verdict"] != "pass":
            raise ScenarioFailed(summary)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed):
            summary = excinfo.value.args[0]
            if summary["exit_status"] == EXIT_ERROR:
                return f"harness error: {summary.get('error')}"
            return "\n".join(f"FAIL {e['text']}\n     {e['evidence']}" for e in summary["expectations"] if not e["passed"])
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"scenario {self.scenario.name}"


def session_out(config: pytest.Config) -> Path:
    """This session's output directory (xdist workers share the controller's, passed as workerinput)."""
    # The time names it for people; the suffix keeps two sessions started in one second apart.
    stamp = getattr(config, "workerinput", {}).get("hx_stamp") or config.stash.setdefault(
        _STAMP, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{uuid.uuid4().hex[:4]}")
    return Path(config.getoption("harness_out")) / stamp


_STAMP = pytest.StashKey[str]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist hook: every worker writes under the controller's session directory."""
    node.workerinput["hx_stamp"] = session_out(node.config).name


def run_scenario(scenario: Scenario, out: Path, keep: bool = False) -> dict:
    """Run one scenario to its summary (the same path as `harness run`)."""
    return asyncio.run(Runner(scenario, out / scenario.name, keep=keep).run()).summary


@pytest.fixture
def hx_cluster():
    """Start clusters: `endpoints = hx_cluster(nodes=2, system="centrifugo")` (a system's name or
    declaration, docs/systems.md); every one is torn down after the test."""
    from harness import systems
    from harness.cluster.cluster import Cluster
    started: list[Cluster] = []

    def start(nodes: int = 2, system: str | dict = systems.DEFAULT):
        cluster = Cluster(nodes=nodes, system=systems.resolve(system))
        started.append(cluster)
        return cluster.up()

    yield start
    for cluster in started:
        cluster.down()


@pytest.fixture
def hx_scenario(tmp_path):
    """Run a scenario given as YAML text: `summary = hx_scenario(text)`."""
    runs = itertools.count(1)

    def run(text: str) -> dict:
        return run_scenario(loads(text, tmp_path / "scenario.yaml"), tmp_path / f"run-{next(runs)}")
    return run
