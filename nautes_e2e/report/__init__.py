"""A run's reports: ``report.json`` (schema version 2), ``junit.xml``, ``summary.md``, ``report.html`` and the
terminal table, all rendered from one :class:`Report` and all scrubbed of secrets."""

from __future__ import annotations

from nautes_e2e.report.environment import collect_environment
from nautes_e2e.report.exit_codes import ExitCode
from nautes_e2e.report.html import render_html
from nautes_e2e.report.model import (
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    Report,
    RunError,
    RunSummary,
    run_result,
)
from nautes_e2e.report.terminal import terminal_diagnoses, terminal_table
from nautes_e2e.report.writer import write_reports
from nautes_e2e.stages.model import ScenarioSummary, TargetSummary

__all__ = [
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "ExitCode",
    "Report",
    "RunError",
    "RunSummary",
    "ScenarioSummary",
    "TargetSummary",
    "collect_environment",
    "render_html",
    "run_result",
    "terminal_diagnoses",
    "terminal_table",
    "write_reports",
]
