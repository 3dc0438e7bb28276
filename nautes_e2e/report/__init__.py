"""A run's reports: ``report.json`` (schema version 1), ``junit.xml``, ``summary.md``, ``report.html`` and the
terminal table, all rendered from one :class:`Report` and all scrubbed of secrets."""

from __future__ import annotations

from nautes_e2e.report.environment import collect_environment
from nautes_e2e.report.html import render_html
from nautes_e2e.report.model import (
    SCHEMA_VERSION,
    Report,
    RunSummary,
    run_result,
)
from nautes_e2e.report.terminal import terminal_table
from nautes_e2e.report.writer import write_reports
from nautes_e2e.stages.model import ScenarioSummary, TargetSummary

__all__ = [
    "SCHEMA_VERSION",
    "Report",
    "RunSummary",
    "ScenarioSummary",
    "TargetSummary",
    "collect_environment",
    "render_html",
    "run_result",
    "terminal_table",
    "write_reports",
]
