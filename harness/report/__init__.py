"""Reports of a judged run: terminal table, summary.json, summary.md, junit.xml, report.html."""
from __future__ import annotations

import json
from pathlib import Path

from harness.report.html import render_html
from harness.report.junit import junit_xml
from harness.report.markdown import render_markdown


def write_reports(out_dir: Path, summary: dict) -> None:
    """Write summary.json, summary.md, junit.xml and report.html next to the journal."""
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / "summary.md").write_text(render_markdown(summary))
    (out_dir / "junit.xml").write_text(junit_xml(summary))
    (out_dir / "report.html").write_text(render_html(summary))
