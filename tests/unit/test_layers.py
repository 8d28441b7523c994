"""The module layers of docs/architecture.md: judging a journal never loads the Docker side."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = "name: tiny\nphases: [{name: steady, duration: 1s}]\nexpect: ['steady: publish.success_rate >= 0.99']\n"

CHECK = """
import sys
from harness.cli import main
status = main(["report", sys.argv[1]])
# The Docker side: the docker library and every harness module that drives containers or the load.
loaded = sorted(m for m in sys.modules if m == "docker" or m.startswith(("docker.", "harness.cluster.cluster",
                "harness.runner", "harness.faults.factory", "harness.faults.container", "harness.workload.load",
                "harness.observe.watcher")))
print(status, loaded)
"""


def test_harness_report_imports_no_docker(tmp_path: Path):
    journal = tmp_path / "journal.jsonl"
    events = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": 0.5, "source": SCENARIO},
              {"t": 0.0, "kind": "phase_start", "phase": "steady"},
              {"t": 0.2, "kind": "publish", "pub": "p1", "seq": 0, "channel": "c", "sent": 0.1, "ok": True},
              {"t": 1.0, "kind": "phase_end", "phase": "steady"}, {"t": 1.1, "kind": "run_end", "error": None}]
    journal.write_text("".join(json.dumps({"wall": 1.7e9 + e["t"], **e}) + "\n" for e in events))
    out = subprocess.run([sys.executable, "-c", CHECK, str(journal)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    status, loaded = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert loaded == "[]", f"harness report loaded the run side: {loaded}"
    assert status in {"0", "1"}


JUDGE_SIDE = ("strict_yaml", "journal_schema", "journal_receipts", "journal", "windows", "duration", "percentile", "vocabulary", "counters", "recovery", "alerts",
              "probe_metrics", "analysis", "expect", "alert_expect", "story", "judge")
RUN_SIDE = ("harness.runner", "harness.cluster.cluster", "harness.faults", "harness.workload", "harness.observe",
            "harness.scenario", "harness.report")


def _imports(path: Path) -> set[str]:
    import ast
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_the_judge_side_imports_only_down_the_data_flow():
    root = Path(__file__).resolve().parents[2] / "harness"
    for name in JUDGE_SIDE:
        bad = {m for m in _imports(root / f"{name}.py") if m.startswith(RUN_SIDE) or m == "docker"}
        # judge.py names the Scenario type only under TYPE_CHECKING (never imported at run time).
        allowed = {"harness.scenario", "harness.scenario.Scenario"} if name == "judge" else set()
        assert bad <= allowed, (name, bad)


def test_pure_data_imports_no_docker_backed_module():
    root = Path(__file__).resolve().parents[2] / "harness"
    for path in (root / "faults" / "catalog.py", root / "workload" / "rate.py", root / "cluster" / "services.py"):
        assert not {m for m in _imports(path) if m.startswith(("harness.cluster.cluster", "docker"))}, path
    for path in (root / "workload" / "load.py", root / "scenario.py"):
        assert not {m for m in _imports(path) if m.startswith("harness.analysis")}, path


JUDGE_MODULES = "harness.judge, harness.hunt.classify"
# The explorer and the shrinker may read the fault catalogue (pure data, beside the cluster's service names).
HUNT_MODULES = "harness.hunt.plan, harness.hunt.classify, harness.hunt.shrink"
DOCKER_SIDE = ("docker", "harness.runner", "harness.cluster.cluster", "harness.faults.factory", "harness.workload.load",
               "harness.observe.watcher")
RUN_SIDE_ALL = ("docker", "httpx", "websockets", "harness.systems", "harness.workload", "harness.cluster",
                "harness.faults", "harness.observe", "harness.runner")


@pytest.mark.parametrize("modules, forbidden", [(JUDGE_MODULES, RUN_SIDE_ALL), (HUNT_MODULES, DOCKER_SIDE)],
                         ids=["judge", "hunt-pure"])
def test_pure_modules_load_no_run_side_module_even_indirectly(modules, forbidden):
    # The direct imports above can look clean while a package's __init__ pulls the run side in (the
    # analysis once loaded the workload's HTTP and WebSocket client through harness.systems).
    check = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.startswith({forbidden!r})))"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
