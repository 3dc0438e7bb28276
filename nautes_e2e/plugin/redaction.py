"""Secrets never reach what pytest itself prints and writes about a test.

A traceback quotes assertion operands and, with ``--showlocals``, every local variable of every frame: a
token revealed into a ``str`` a moment before the failure would be printed as is (and written by
``--junitxml``). Every known secret is masked in each report's captured sections and failure text; the text
is replaced (by plain text) only when it holds a secret, so ordinary failures keep pytest's structured,
coloured rendering.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from nautes_e2e.secrets import redact


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport() -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Outermost: the report is masked after every other plugin has written into it."""
    report = yield
    redact_report(report)
    return report


def redact_report(report: pytest.TestReport) -> None:
    report.sections = [(title, redact(content)) for title, content in report.sections]
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        path, line, reason = longrepr
        report.longrepr = (path, line, redact(reason))
    elif longrepr is not None:
        text = str(longrepr)
        redacted = redact(text)
        if redacted != text:
            report.longrepr = redacted
