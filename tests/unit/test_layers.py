"""The module layers of docs/architecture.md: judging a journal never loads the Docker side."""
import json
import subprocess
import sys
from pathlib import Path

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
    journal.write_text("".join(json.dumps(e) + "\n" for e in events))
    out = subprocess.run([sys.executable, "-c", CHECK, str(journal)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    status, loaded = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert loaded == "[]", f"harness report loaded the run side: {loaded}"
    assert status in {"0", "1"}
