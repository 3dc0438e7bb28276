"""Secrets never reach what pytest itself prints and writes about a test.

A traceback quotes assertion operands and, with ``--showlocals``, every local variable of every frame: a
token revealed into a ``str`` a moment before the failure would be printed, cut or split over lines, and
written by ``--junitxml``. So every report is masked where it is made, before anything reads it:

* test and collection reports: the failure (walked in place, so that pytest still renders it with its
  structure and colours and ``-r`` still shows one line of it), captured output and logs, user
  properties, and whatever a plugin attached (the stage records an xdist worker ships). On an xdist worker
  this is the only chance: the secrets a worker registered are unknown to the controller that prints;
* warnings (``PytestUnraisableExceptionWarning`` carries a whole traceback) before they are shown or sent;
* what the terminal writer writes and what ``--log-file`` gets, for whatever else pytest or a plugin prints
  (live logs, ``--setup-show``, a plugin's summary);
* the ``--junitxml`` file once written (``record_testsuite_property`` is not in any report).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.secrets import redact

#: Report attributes that name the test or time it: nothing there comes from a test's data.
_NOT_DATA = frozenset(
    {"_id", "nodeid", "location", "keywords", "outcome", "when", "duration", "start", "stop", "result"}
)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport() -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Outermost: the report is masked after every other plugin has written into it."""
    report = yield
    redact_report(report)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report() -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module that fails to import reports the exception, message and locals included."""
    report = yield
    redact_report(report)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_warning_recorded(warning_message: warnings.WarningMessage) -> None:
    """First: the terminal summary and an xdist worker's message to the controller read it afterwards."""
    message = warning_message.message
    text = str(message)
    safe = redact(text)
    if safe == text:
        return
    if isinstance(message, Warning):
        message.args = (safe,)
    else:
        warning_message.message = safe


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Before the terminal reporter's header; the logging plugin exists by now (it is configured last)."""
    _redact_terminal(session.config)
    _redact_log_file(session.config)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """After the junitxml plugin has written its file."""
    config = session.config
    option = config.getoption("xmlpath", None)
    if not option or hasattr(config, "workerinput"):
        return
    path = config.invocation_params.dir / os.path.expanduser(os.path.expandvars(str(option)))
    if path.is_file():
        _redact_file(path)


def redact_report(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Mask every secret in what ``report`` carries (in place)."""
    for name, value in list(vars(report).items()):
        if name not in _NOT_DATA:
            setattr(report, name, _redacted(value))
    longrepr = report.longrepr
    if hasattr(longrepr, "toterminal"):
        text = str(longrepr)
        safe = redact(text)
        if safe != text:  # a representation the walk could not reach into: shown as its masked text
            report.longrepr = safe


def _redacted(value: Any) -> Any:
    """``value`` with its texts masked: pytest's failure representations in place, data as a copy."""
    if isinstance(value, str):
        return redact(value)
    if hasattr(value, "toterminal"):
        for name, attribute in list(vars(value).items()):
            lines = isinstance(attribute, list) and all(isinstance(line, str) for line in attribute)
            setattr(value, name, _redacted_lines(attribute) if lines else _redacted(attribute))
        return value
    if type(value) in (tuple, list):  # exactly: a named tuple is built differently, and is no test data
        return type(value)(_redacted(item) for item in value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    return value


def _redacted_lines(lines: list[str]) -> list[str]:
    """Lines masked together: a value pytest split over two lines is masked across the break."""
    native = all(line.endswith("\n") for line in lines)  # a native traceback's lines keep their ends
    text = "".join(lines) if native else "\n".join(lines)
    safe = redact(text)
    if safe == text:
        return lines
    return safe.splitlines(keepends=True) if native else safe.split("\n")


def _redact_terminal(config: pytest.Config) -> None:
    if config.pluginmanager.get_plugin("terminalreporter") is None:
        return
    writer = config.get_terminal_writer()
    write_raw = writer.write_raw

    def redacted_write_raw(msg: str, *, flush: bool = False) -> None:
        write_raw(redact(msg), flush=flush)

    writer.write_raw = redacted_write_raw  # type: ignore[method-assign]


class _RedactingFormatter(logging.Formatter):
    """Formats as ``inner`` does, then masks: message, arguments and exception text alike."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def _redact_log_file(config: pytest.Config) -> None:
    handler = getattr(config.pluginmanager.get_plugin("logging-plugin"), "log_file_handler", None)
    if isinstance(handler, logging.Handler) and handler.formatter is not None:
        handler.setFormatter(_RedactingFormatter(handler.formatter))


def _redact_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    safe = redact(text)
    if safe != text:
        path.write_text(safe, encoding="utf-8")
