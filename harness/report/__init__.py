"""Reports of a judged run: terminal table, summary.json, junit.xml."""
from __future__ import annotations

import json
from pathlib import Path

from harness.report.junit import junit_xml


def write_reports(out_dir: Path, summary: dict) -> None:
    """Write summary.json and junit.xml next to the journal."""
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / "junit.xml").write_text(junit_xml(summary))
