"""The run's reports (``nautes_e2e.report``), written to ``<reports-dir>/<run-id>/`` once the session is
over, and what closes the terminal output: the stage table and, uncut, why the run did not pass. Both only
if a stage ran, and only on the controller (xdist workers ship their records to it instead).

The run's result decides the exit status where the stages decide it (pytest said 0 or 1): a failed
teardown turns 0 into 1, a run stopped only by its configuration turns 1 into 4
(:mod:`~nautes_e2e.plugin.errors`). An interrupt (2) and an internal error (3) are pytest's own and stay.

A run with instances (:mod:`~nautes_e2e.plugin.instances`) writes each instance's reports into
``instances/<name>/`` exactly as a run of one writes its own, each judged on its own tests and stages, then
``matrix.json`` (:mod:`~nautes_e2e.plugin.matrix_file`) and the run's ``summary.md`` and ``report.html``
(:func:`~nautes_e2e.report.matrix.write_matrix_summary`); the run exits with its worst instance's code.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nautes_e2e.plugin.errors import SessionErrors, session_errors, stack_bug_error
from nautes_e2e.plugin.instances import Instance, instance_in_nodeid
from nautes_e2e.plugin.matrix_file import (
    NOT_RUN,
    MatrixEntry,
    instance_report_path,
    worst_exit_code,
    write_matrix,
)
from nautes_e2e.plugin.run import RunState, run_state
from nautes_e2e.plugin.xdist import is_xdist_worker
from nautes_e2e.report import (
    ExitCode,
    Report,
    RunSummary,
    collect_environment,
    run_result,
    terminal_diagnoses,
    terminal_table,
    write_reports,
)
from nautes_e2e.report.matrix import grid_text, read_instance, write_matrix_summary
from nautes_e2e.report.terminal import TerminalLines
from nautes_e2e.secrets import redact
from nautes_e2e.stages.model import StageRecord

#: The reports written, by instance name (``None``: the run of one).
REPORT_KEY = pytest.StashKey[dict[str | None, Report]]()
#: A run with instances: each instance's ``report.json`` that was written, by name, for the terminal's grid.
MATRIX_KEY = pytest.StashKey[dict[str, Path]]()
#: pytest's statuses that mean "the tests ran to the end": the stages' outcome decides between them.
_VERDICT_STATUSES = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports after every fixture, the teardown stage included, has finished."""
    config = session.config
    state = run_state(config)
    if is_xdist_worker(config):
        return
    if state.instances:
        _finish_instances(session, state, exitstatus)
        return
    if not state.recorder.records:
        return
    errors = session_errors(config)
    ok = exitstatus == pytest.ExitCode.OK
    report = _report(config, state, exitstatus, errors, session.testsfailed, session_ok=ok)
    written: dict[str | None, Report] = {None: report}
    config.stash[REPORT_KEY] = written
    if session.exitstatus in _VERDICT_STATUSES:
        session.exitstatus = report.run.exit_code


def _report(
    config: pytest.Config,
    state: RunState,
    exitstatus: int,
    errors: SessionErrors,
    tests_failed: int,
    *,
    session_ok: bool,
    finished: datetime | None = None,
    instance: Instance | None = None,
) -> Report:
    """Write the reports of the run (or of one instance: its state, errors and failed tests, whether its
    tests all passed, and when its last stage ended) into its folder."""
    recorder = state.recorder
    recorder.close_unfinished()
    stages = tuple(recorder.records.values())
    options = state.options
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    error = None if interrupted else errors.run_error(stages, exitstatus, tests_failed)
    if error is None and not interrupted:
        error = stack_bug_error(recorder.facts)
    summary = RunSummary(
        id=options.run_id,
        started=state.started,
        finished=finished or datetime.now(UTC),
        result=run_result(stages, session_ok=session_ok, interrupted=interrupted, error=error),
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
        instance=None if instance is None else instance.to_dict(),
    )
    write_reports(report, options.run_dir)
    return report


@dataclass
class FailedTests:
    """On the controller: the failed test reports of each instance, counted as pytest counts
    ``session.testsfailed`` (every failed phase), to judge each instance on its own tests."""

    names: list[str]
    counts: Counter[str | None] = field(default_factory=Counter)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and not hasattr(report, "wasxfail"):
            self.counts[instance_in_nodeid(report.nodeid, self.names)] += 1


FAILED_TESTS_KEY = pytest.StashKey[FailedTests]()


def pytest_configure(config: pytest.Config) -> None:
    state = run_state(config)
    if state.instances and not is_xdist_worker(config):
        counter = FailedTests(list(state.instances))
        config.stash[FAILED_TESTS_KEY] = counter
        config.pluginmanager.register(counter, "nautes-e2e-failed-tests")


def _span(stages: Iterable[StageRecord], run_started: datetime) -> tuple[datetime, datetime]:
    """When an instance began (its first stage) and ended (its last stage's end): instances run side by side
    or one after another within the run, and an instance's report tells its own time."""
    starts = [(datetime.fromisoformat(stage.start), stage.duration_s) for stage in stages if stage.start]
    times = [(begun, begun + timedelta(seconds=duration)) for begun, duration in starts]
    if not times:
        return run_started, datetime.now(UTC)
    return min(begun for begun, _ in times), max(ended for _, ended in times)


def _finish_instances(session: pytest.Session, state: RunState, exitstatus: int) -> None:
    """Each instance's reports, then ``matrix.json`` and the run's summary and page; the run exits with the
    worst instance's code."""
    config = session.config
    errors = session_errors(config)
    failed = config.stash[FAILED_TESTS_KEY].counts
    names = list(state.instances)
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    reports: dict[str | None, Report] = {}
    entries = []
    for name, instance in zip(names, state.options.instances, strict=True):
        own = state.instances[name]
        if not own.recorder.records:  # never begun: stopped before it, or deselected
            code = ExitCode.INTERRUPTED if interrupted else ExitCode.NO_TESTS
            entries.append(MatrixEntry(instance, NOT_RUN, code, None))
            continue
        own_errors = SessionErrors(
            configuration={
                key: message
                for key, message in errors.configuration.items()
                if instance_in_nodeid(key[0], names) == name
            },
            harness=errors.harness,
        )
        ok = exitstatus in _VERDICT_STATUSES and not failed[name]
        own.started, finished = _span(own.recorder.records.values(), state.started)
        report = _report(
            config,
            own,
            exitstatus,
            own_errors,
            failed[name],
            session_ok=ok,
            finished=finished,
            instance=instance,
        )
        reports[name] = report
        entries.append(
            MatrixEntry(instance, report.run.result, report.run.exit_code, instance_report_path(name))
        )
    ran = [entry for entry in entries if entry.report is not None]
    if not ran:
        return
    write_matrix(
        state.options.run_root,
        run_id=state.options.run_id,
        started=state.started,
        finished=datetime.now(UTC),
        entries=entries,
        rerun_of=state.options.rerun_of,
    )
    written = {entry.instance.name: state.options.run_root / str(entry.report) for entry in ran}
    write_matrix_summary(state.options.run_root, written)
    config.stash[REPORT_KEY] = reports
    config.stash[MATRIX_KEY] = written
    if session.exitstatus in _VERDICT_STATUSES:
        session.exitstatus = worst_exit_code(entry.exit_code for entry in ran)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """A run of one: its stage table and why it did not pass. A run with instances: the stage-by-instance
    grid, then why each instance that did not pass did not (each one's table is in its summary.md)."""
    reports = config.stash.get(REPORT_KEY, None)
    if reports is None:
        return
    matrix = config.stash.get(MATRIX_KEY, None)
    if matrix is None:
        report = reports[None]
        terminalreporter.write_sep("=", f"nautes-e2e stages: {report.run.verdict}")
        width = config.get_terminal_writer().fullwidth
        _write(terminalreporter, [*terminal_table(report, width), *terminal_diagnoses(report)])
    else:
        unsuccessful = [name for name, report in reports.items() if report.run.result != "passed"]
        verdict = f"{', '.join(map(str, unsuccessful))} did not pass" if unsuccessful else "all passed"
        terminalreporter.write_sep("=", f"nautes-e2e instances: {verdict}")
        columns = [read_instance(name, path) for name, path in matrix.items()]
        terminalreporter.write_line(redact("\n".join(grid_text(columns))))
        for name in unsuccessful:
            terminalreporter.write_sep("-", f"instance {name}: {reports[name].run.verdict}")
            _write(terminalreporter, terminal_diagnoses(reports[name]))
    terminalreporter.write_line(f"reports: {run_state(config).options.run_root}")


def _write(terminalreporter: pytest.TerminalReporter, lines: TerminalLines) -> None:
    for line, status in lines:
        terminalreporter.write_line(
            redact(line),
            bold=status is None,
            green=status == "passed",
            red=status in ("failed", "error"),
            yellow=status == "skipped",
        )
