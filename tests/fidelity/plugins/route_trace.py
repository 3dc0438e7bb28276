"""Notes, per test, which stretch of the reference stack's route log it caused and how it ended, so
``benchmarks/fidelity.py`` can say which routes each test exercised.

Loaded by every upstream session :func:`tests.fidelity.runner.run_upstream_suite` starts, and through pytest's
own ``PYTEST_PLUGINS=route_trace`` (with this directory on ``PYTHONPATH``) by the sessions
``benchmarks/fidelity.py`` starts. With ``NAUTES_E2E_REFSTACK_ROUTE_LOG`` (the stack's route log) and
``NAUTES_E2E_ROUTE_TRACE`` set, each test appends one JSON line to the trace: its rootdir (the upstream
tree's for an upstream test), node id, outcome and the log's size before and after it. The stack writes a
request's line before the client has its answer, so the lines between the two sizes are the test's
requests (and whatever the stack did meanwhile on its own). Without the variables it does nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path

import pytest

ROUTE_LOG_ENV = "NAUTES_E2E_REFSTACK_ROUTE_LOG"
TRACE_ENV = "NAUTES_E2E_ROUTE_TRACE"


def pytest_configure(config: pytest.Config) -> None:
    route_log, trace = os.environ.get(ROUTE_LOG_ENV), os.environ.get(TRACE_ENV)
    if route_log and trace:
        config.pluginmanager.register(RouteTrace(str(config.rootpath), Path(route_log), Path(trace)))


class RouteTrace:
    """Appends each test's stretch of ``route_log`` to ``trace``."""

    def __init__(self, root: str, route_log: Path, trace: Path) -> None:
        self._root = root
        self._route_log = route_log
        self._trace = trace
        self._outcomes: dict[str, str] = {}

    def _size(self) -> int:
        try:
            return self._route_log.stat().st_size
        except FileNotFoundError:
            return 0

    def _note(self, node_id: str, start: int, end: int) -> None:
        outcome = self._outcomes.get(node_id, "failed")
        line = {"root": self._root, "test": node_id, "outcome": outcome, "start": start, "end": end}
        with self._trace.open("a") as file:
            file.write(json.dumps(line) + "\n")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, None, None]:
        start = self._size()
        yield
        self._note(item.nodeid, start, self._size())

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A test that failed in any phase failed; one skipped and never failed was skipped; else it
        passed once its call did (as ``fidelity_outcomes`` counts, so the ratios agree)."""
        previous = self._outcomes.get(report.nodeid)
        if report.failed:
            self._outcomes[report.nodeid] = "failed"
        elif report.skipped and previous != "failed":
            self._outcomes[report.nodeid] = "skipped"
        elif report.when == "call" and previous is None:
            self._outcomes[report.nodeid] = "passed"

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module that failed to collect is a failed test under its own id: its tests never ran."""
        if report.failed:
            self._outcomes[report.nodeid] = "failed"
            self._note(report.nodeid, self._size(), self._size())
