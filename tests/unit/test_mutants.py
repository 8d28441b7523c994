"""The mutation bench's mutants apply cleanly to today's node, and name scenarios that exist."""
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "mutation"))
spec = importlib.util.spec_from_file_location("mutation_run", ROOT / "bench" / "mutation" / "run.py")
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)


@pytest.mark.parametrize("mutant", run.MUTANTS, ids=lambda m: m.name)
def test_each_mutant_applies_once_and_compiles(mutant, tmp_path):
    shutil.copytree(ROOT / "compose" / "pubsub", tmp_path / "pubsub")
    run.apply(mutant, tmp_path)
    source = (tmp_path / mutant.file).read_text()
    compile(source, mutant.file, "exec")
    assert source != (ROOT / "compose" / mutant.file).read_text()
    assert all((ROOT / "scenarios" / f"{s}.yaml").exists() for s in mutant.scenarios)


def test_at_least_ten_mutants_with_distinct_names():
    names = [m.name for m in run.MUTANTS]
    assert len(names) >= 10 and len(set(names)) == len(names)
