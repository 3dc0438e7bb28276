"""The run's reports (``nautes_e2e.report``), written to ``<reports-dir>/<run-id>/`` once the session is
over, and what closes the terminal output: the stage table and, uncut, why the run did not pass. Both only
if a stage ran, and only on the controller (xdist workers ship their records to it instead).

The run's result decides the exit status where the stages decide it (pytest said 0 or 1): a failed
teardown turns 0 into 1, a run stopped only by its configuration turns 1 into 4
(:mod:`~nautes_e2e.plugin.errors`). An interrupt (2) and an internal error (3) are pytest's own and stay.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

import pytest

from nautes_e2e.plugin.errors import session_errors
from nautes_e2e.plugin.run import run_state
from nautes_e2e.plugin.xdist import is_xdist_worker
from nautes_e2e.report import (
    Report,
    RunSummary,
    collect_environment,
    run_result,
    terminal_diagnoses,
    terminal_table,
    write_reports,
)
from nautes_e2e.secrets import redact

REPORT_KEY = pytest.StashKey[Report]()
#: pytest's statuses that mean "the tests ran to the end": the stages' outcome decides between them.
_VERDICT_STATUSES = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports after every fixture, the teardown stage included, has finished."""
    config = session.config
    state = run_state(config)
    recorder = state.recorder
    if is_xdist_worker(config) or not recorder.records:
        return
    recorder.close_unfinished()
    stages = tuple(recorder.records.values())
    options = state.options
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    error = None if interrupted else session_errors(config).run_error(stages, exitstatus, session.testsfailed)
    summary = RunSummary(
        id=options.run_id,
        started=state.started,
        finished=datetime.now(UTC),
        result=run_result(
            stages, session_ok=exitstatus == pytest.ExitCode.OK, interrupted=interrupted, error=error
        ),
        command_line=shlex.join(["pytest", *config.invocation_params.args]),
        kept_environment=options.keep_env,
        error=error,
    )
    report = Report(
        run=summary,
        target=recorder.target,
        scenario=recorder.scenario,
        stages=stages,
        facts=recorder.facts,
        environment=collect_environment(),
    )
    write_reports(report, options.run_dir)
    config.stash[REPORT_KEY] = report
    if session.exitstatus in _VERDICT_STATUSES:
        session.exitstatus = summary.exit_code


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    report = config.stash.get(REPORT_KEY, None)
    if report is None:
        return
    terminalreporter.write_sep("=", f"nautes-e2e stages: {report.run.verdict}")
    width = config.get_terminal_writer().fullwidth
    for line, status in [*terminal_table(report, width), *terminal_diagnoses(report)]:
        terminalreporter.write_line(
            redact(line),
            bold=status is None,
            green=status == "passed",
            red=status in ("failed", "error"),
            yellow=status == "skipped",
        )
    terminalreporter.write_line(f"reports: {run_state(config).options.run_dir}")
