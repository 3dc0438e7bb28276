"""Writes a run's report files. Every byte goes through :func:`nautes_e2e.secrets.redact` on the way out:
a diagnosis or a fact may quote an API answer that echoed a token."""

from __future__ import annotations

import json
from pathlib import Path

from nautes_e2e.report.html import render_html
from nautes_e2e.report.junit import render_junit
from nautes_e2e.report.model import Report
from nautes_e2e.report.summary import render_summary
from nautes_e2e.secrets import redact


def write_reports(report: Report, run_dir: Path) -> list[Path]:
    """Write ``report.json``, ``junit.xml``, ``summary.md`` and ``report.html`` into ``run_dir``; return
    their paths."""
    run_dir.mkdir(parents=True, exist_ok=True)
    documents = {
        "report.json": json.dumps(report.to_dict(), indent=2, default=str) + "\n",
        "junit.xml": render_junit(report),
        "summary.md": render_summary(report),
        "report.html": render_html(report),
    }
    written = []
    for name, text in documents.items():
        path = run_dir / name
        path.write_text(redact(text), encoding="utf-8")
        written.append(path)
    return written
