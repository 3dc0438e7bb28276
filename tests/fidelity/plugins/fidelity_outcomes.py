"""Records each upstream test's outcome by node id into ``$NAUTES_E2E_FIDELITY_OUTCOMES`` (JSON), so
:func:`tests.fidelity.runner.run_upstream_suite` reads exact ids instead of parsing pytest's terminal output.

A test that failed in any phase (setup, call, teardown) failed; one skipped (or xfailed) anywhere and never
failed is skipped; otherwise it passed once its call passed. A module that failed to collect is a failure
under its own id: its tests never ran.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

OUTCOMES_ENV = "NAUTES_E2E_FIDELITY_OUTCOMES"
_outcomes: dict[str, str] = {}


def _record(node_id: str, outcome: str) -> None:
    previous = _outcomes.get(node_id)
    if previous == "failed" or (previous == "skipped" and outcome == "passed"):
        return
    _outcomes[node_id] = outcome


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        _record(report.nodeid, "failed")
    elif report.skipped:
        _record(report.nodeid, "skipped")
    elif report.when == "call":
        _record(report.nodeid, "passed")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _record(report.nodeid, "failed")


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(OUTCOMES_ENV)
    if path:
        Path(path).write_text(json.dumps(_outcomes, indent=1, sort_keys=True))
