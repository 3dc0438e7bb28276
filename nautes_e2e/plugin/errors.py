"""Errors a CI can act on: a run stopped by its configuration exits 4 (not 1) and says so in one line per
problem; a service that never answered is one line too; a crash of the harness is told apart (exit 3).

The exit codes are :class:`~nautes_e2e.report.exit_codes.ExitCode` (pytest's numbers). pytest itself gives
0, 1, 2 (interrupted), 3 (internal error), 4 (a ``pytest.UsageError``: a bad option stops before the session)
and 5 (nothing collected). What it cannot know is that a stage which errored because the target file names
an environment variable that is not set did not find Nautes broken: to pytest that is an error in the setup
of ``test_preflight``, exit 1, under fifty lines of traceback through the fixtures. This module recognises
such errors (:func:`configuration_error_types`) wherever a test reports them — raised in a session fixture
they surface in the setup of the first stage that asks for it — replaces the traceback with the message
(which already names the file and the field), and keeps them for :mod:`~nautes_e2e.plugin.reporting`,
which ends the run as ``error`` (``configuration``) with exit 4 when they are all that went wrong.

Why a failed preflight of a k3d/kind world (:class:`~nautes_e2e.targets.cluster.PreflightError`: Docker,
``k3d``/``kind``/``kubectl`` missing or too old, too little memory, a low inotify limit, a port or subnet in
use, an image that cannot be had) is a configuration error and not a failed stage: preflight runs before
anything is created and says so ("nothing was created"); what it found is the machine the job was given,
not the Nautes under test, and the remedy (install the binary, free the port, load the image) is a change
to the job, never to Nautes. Exit 1 would send whoever reads the nightly matrix looking for a Nautes
regression that does not exist. The same holds for ``--reuse-env`` naming a world that is not there
(:class:`~nautes_e2e.targets.cluster.ReuseError`).

A target may re-raise a configuration error as its own :class:`~nautes_e2e.targets.TargetError` (the k3d
and kind targets do for the world config): it is still the error the new one was raised while handling
(``__context__``), and is recognised there.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from nautes_e2e.clients.errors import ServiceUnreachable
from nautes_e2e.clients.kube import NoFreeCluster
from nautes_e2e.report import RunError
from nautes_e2e.scenario import ScenarioError
from nautes_e2e.secrets import redact
from nautes_e2e.stages.model import UNSUCCESSFUL, StageRecord
from nautes_e2e.targets import TargetFileError


def configuration_error_types() -> tuple[type[BaseException], ...]:
    """What the run was given and cannot use: each says which file and field (or which check) is at fault.

    The k3d/kind worlds' errors are imported when a report failed, not when the plugin loads: their
    modules bring in Docker's and testcontainers' clients, start-up time every other run would pay. Not
    cached: the classes are looked up in ``sys.modules`` each time, so a module imported afresh (pytester's
    in-process runs restore ``sys.modules``) is still matched by its current classes."""
    from nautes_e2e.targets.cluster import PreflightError, ReuseError
    from nautes_e2e.worlds.settings import WorldConfigError

    return (TargetFileError, ScenarioError, WorldConfigError, PreflightError, ReuseError, NoFreeCluster)


#: Attribute of a test report carrying the configuration error's text, also from an xdist worker to the
#: controller (reports travel as JSON, exceptions do not).
CONFIGURATION_ATTRIBUTE = "nautes_e2e_configuration_error"


@dataclass
class SessionErrors:
    """What went wrong in the session that is not a stage's verdict on the world."""

    #: Configuration errors by the test report that carried them (node id and phase), in the order seen.
    configuration: dict[tuple[str, str], str] = field(default_factory=dict)
    #: The first internal error pytest reported (a bug in nautes-e2e or another plugin), one line.
    harness: str | None = None

    def run_error(self, stages: Iterable[StageRecord], exitstatus: int, tests_failed: int) -> RunError | None:
        """The run's error, if something other than a stage's verdict on the world ended it: the harness,
        when pytest had an internal error; the configuration, when pytest refused its usage or when
        configuration errors are all that went wrong (every failed test report, and every unsuccessful
        stage's diagnosis, is one of them); else none, and the stages' verdict stands."""
        if exitstatus == pytest.ExitCode.INTERNAL_ERROR:
            return RunError("harness", self.harness or "pytest reported an internal error (INTERNALERROR)")
        if exitstatus == pytest.ExitCode.USAGE_ERROR:
            return RunError("configuration", "pytest refused the command line (see ERROR above)")
        if not self.configuration or tests_failed > len(self.configuration):
            return None
        messages = list(dict.fromkeys(self.configuration.values()))
        unsuccessful = [stage for stage in stages if stage.status in UNSUCCESSFUL]
        if not all(_stopped_by(stage, messages) for stage in unsuccessful):
            return None
        return RunError("configuration", "\n".join(messages))


#: The run's fact naming the bugs of the embedded reference stack its world met (``Target.stack_bugs``).
STACK_BUGS_FACT = "reference_stack_bugs"


def stack_bug_error(facts: Mapping[str, Any]) -> RunError | None:
    """The run's error when its world, the embedded reference stack, met a bug of its own: a harness error
    (the stack is part of nautes-e2e), since what the stages concluded on that world proves nothing."""
    bugs = facts.get(STACK_BUGS_FACT)
    if not bugs:
        return None
    return RunError(
        "harness",
        "the embedded reference stack hit a bug of its own, so the stages' verdicts prove nothing "
        f"(evidence/world/stack/logs/refstack.log): {'; '.join(bugs)}",
    )


ERRORS_KEY = pytest.StashKey[SessionErrors]()


def session_errors(config: pytest.Config) -> SessionErrors:
    return config.stash[ERRORS_KEY]


def configuration_error(error: BaseException) -> BaseException | None:
    """``error`` if it is a configuration error, else the configuration error it was raised while handling
    (its cause or context, however deep), else ``None``."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, configuration_error_types()):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def pytest_configure(config: pytest.Config) -> None:
    errors = SessionErrors()
    config.stash[ERRORS_KEY] = errors
    config.pluginmanager.register(ErrorCollector(errors), "nautes-e2e-errors")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Mark a report that failed on a configuration error, and give it (or a service that never answered)
    the error's own words instead of a traceback, unless ``--fulltrace`` asks for one."""
    report = yield
    if not report.failed or call.excinfo is None:
        return report
    error = call.excinfo.value
    found = configuration_error(error)
    full_trace = bool(item.config.getoption("fulltrace", False))
    if found is not None:
        message = redact(str(found).strip())
        setattr(report, CONFIGURATION_ATTRIBUTE, message)
        if not full_trace:
            report.longrepr = f"configuration error: {message}"
    elif isinstance(error, ServiceUnreachable) and not full_trace:
        report.longrepr = f"{error}\n  raised at {_where(item, call)}"
    return report


class ErrorCollector:
    """Collects the session's errors from the hooks that get no ``config`` to find the stash by."""

    def __init__(self, errors: SessionErrors) -> None:
        self.errors = errors

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the marked reports; on the controller this sees the reports of xdist workers too."""
        message = getattr(report, CONFIGURATION_ATTRIBUTE, None)
        if isinstance(message, str) and report.failed:
            self.errors.configuration.setdefault((report.nodeid, report.when), message)

    def pytest_internalerror(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Keep the first internal error as the harness's, in one line (pytest prints its traceback)."""
        if self.errors.harness is None:
            text = f"{excinfo.typename}: {excinfo.value}" if str(excinfo.value) else excinfo.typename
            self.errors.harness = redact(text.splitlines()[0])


def _stopped_by(stage: StageRecord, messages: list[str]) -> bool:
    """Whether ``stage`` did not pass because of one of the configuration errors: its diagnosis quotes one
    (a bring-up step that found the machine lacking records the same text the target raises)."""
    diagnosis = stage.diagnosis or ""
    return any(message in diagnosis for message in messages)


def _where(item: pytest.Item, call: pytest.CallInfo[None]) -> str:
    assert call.excinfo is not None  # only called for a failed phase
    in_test_file = [entry for entry in call.excinfo.traceback if entry.path == item.path]
    return f"{in_test_file[-1].path}:{in_test_file[-1].lineno + 1}" if in_test_file else item.nodeid
