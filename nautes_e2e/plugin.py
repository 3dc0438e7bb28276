"""The nautes-e2e pytest plugin (``pytest11`` entry point ``nautes_e2e``): options, stages, reports.

* Options live in the ``nautes-e2e`` group; the run's state is a :class:`RunState` under :data:`STATE_KEY`
  in ``config.stash``.
* A test marked ``@pytest.mark.stage("name", needs=(...))`` is a stage. Before it runs, the plugin skips it
  as ``blocked by <stage>`` if a stage it needs (transitively) did not pass, in the spirit of pytest's
  "incremental testing" recipe, but declared by name rather than by class. Its outcome, timing, facts,
  diagnosis and evidence go to the :class:`~nautes_e2e.stages.StageRecorder`.
* At the end of the session the reports (``nautes_e2e.report``) are written to ``<reports-dir>/<run-id>/``
  and a table closes the terminal output, only if a stage ran.
* pytest-xdist: all stages share one ``xdist_group`` (they share one world, and need each other's
  outcomes), workers write no reports, and each worker ships its recorder's state to the controller on
  the test reports, so that the controller's reports are complete.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Generator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest

from nautes_e2e.report import (
    Report,
    RunSummary,
    ScenarioSummary,
    TargetSummary,
    collect_environment,
    run_result,
    terminal_table,
    write_reports,
)
from nautes_e2e.secrets import redact
from nautes_e2e.stages import (
    EvidenceStore,
    ProgressSink,
    StageContext,
    StageFailure,
    StageRecorder,
    StageStatus,
)

TARGETS = ("local", "existing")
DEFAULT_STAGE_TIMEOUT_S = 120.0
#: All stages run on one xdist worker: they share the session's world and need each other's outcomes.
XDIST_GROUP = "nautes-e2e-stages"
_RUN_ID_WORKERINPUT = "nautes_e2e_run_id"
#: Attribute of a worker's test report that carries the worker recorder's state to the controller.
_EXPORT_ATTRIBUTE = "nautes_e2e_recorder"
_RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: A suffix ends up in Kubernetes namespaces and GitLab paths: lowercase letters, digits and inner dashes
#: (an RFC 1123 label), the characters both accept.
_SUFFIX_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


class _XdistWorkerNode(Protocol):
    """The part of pytest-xdist's ``WorkerController`` the plugin uses (xdist ships no type hints)."""

    config: pytest.Config
    workerinput: dict[str, Any]


@dataclass(frozen=True)
class RunOptions:
    """The command-line options of the ``nautes-e2e`` group, resolved to absolute paths."""

    target: str
    target_file: Path | None
    keep_env: bool
    reports_dir: Path
    run_id: str
    suffix: str | None
    scenario_dir: Path
    stage_timeout_s: float

    @property
    def run_dir(self) -> Path:
        return self.reports_dir / self.run_id

    @classmethod
    def from_config(cls, config: pytest.Config) -> RunOptions:
        invocation_dir = config.invocation_params.dir
        target_file = config.getoption("nautes_target_file")
        reports_dir = config.getoption("nautes_reports_dir")
        scenario_dir = config.getoption("nautes_scenario_dir")
        options = cls(
            target=config.getoption("nautes_target"),
            target_file=invocation_dir / target_file if target_file else None,
            keep_env=bool(config.getoption("nautes_keep_env")),
            reports_dir=invocation_dir / reports_dir if reports_dir else config.rootpath / "reports",
            run_id=_run_id(config),
            suffix=config.getoption("nautes_suffix"),
            scenario_dir=(
                invocation_dir / scenario_dir
                if scenario_dir
                else config.rootpath / "scenarios" / "quickstart"
            ),
            stage_timeout_s=float(config.getoption("nautes_stage_timeout")),
        )
        if options.target == "existing" and options.target_file is None:
            raise pytest.UsageError("--target existing needs --target-file PATH (the world's target.yaml)")
        if options.suffix is not None and not _SUFFIX_PATTERN.fullmatch(options.suffix):
            raise pytest.UsageError(
                f"--suffix must be lowercase letters, digits and inner dashes (it ends up in Kubernetes "
                f"namespaces and GitLab paths), not {options.suffix!r}"
            )
        if options.stage_timeout_s <= 0:
            raise pytest.UsageError(f"--stage-timeout must be positive, not {options.stage_timeout_s:g}")
        return options


@dataclass
class RunState:
    """Everything the plugin knows about the run; fixtures describe the target and scenario into it."""

    options: RunOptions
    recorder: StageRecorder
    started: datetime
    target: TargetSummary | None = None
    scenario: ScenarioSummary | None = None


@dataclass(frozen=True)
class StageSpec:
    """What ``@pytest.mark.stage(name, needs=(...))`` declares."""

    name: str
    needs: tuple[str, ...]

    @classmethod
    def of(cls, item: pytest.Item) -> StageSpec | None:
        mark = item.get_closest_marker("stage")
        if mark is None:
            return None
        name = mark.args[0] if mark.args else mark.kwargs.get("name")
        needs = mark.kwargs.get("needs", mark.args[1] if len(mark.args) > 1 else ())
        if isinstance(needs, str):
            needs = (needs,)
        if not isinstance(name, str) or not name or not all(isinstance(need, str) for need in needs):
            raise pytest.UsageError(
                f"{item.nodeid}: use @pytest.mark.stage('name', needs=('stage', ...)), not {mark!r}"
            )
        return cls(name=name, needs=tuple(needs))


STATE_KEY = pytest.StashKey[RunState]()
_SPEC_KEY = pytest.StashKey[StageSpec]()


def run_state(config: pytest.Config) -> RunState:
    return config.stash[STATE_KEY]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nautes-e2e", "Nautes end-to-end harness")
    group.addoption(
        "--target",
        dest="nautes_target",
        choices=TARGETS,
        default="local",
        help="the world to run against: 'local' starts the embedded reference stack, 'existing' reads "
        "--target-file (default: local).",
    )
    group.addoption(
        "--target-file",
        dest="nautes_target_file",
        metavar="PATH",
        help="target.yaml of an existing world (secrets come from the environment variables it names).",
    )
    group.addoption(
        "--keep-env",
        dest="nautes_keep_env",
        action="store_true",
        help="keep what the run applied (skip the 'nautes remove' teardown) for debugging.",
    )
    group.addoption(
        "--reports-dir",
        dest="nautes_reports_dir",
        metavar="DIR",
        help="where each run writes <run-id>/ with its reports (default: reports/ under the rootdir).",
    )
    group.addoption(
        "--run-id",
        dest="nautes_run_id",
        metavar="ID",
        help="name of this run's report folder (default: UTC time + random hex).",
    )
    group.addoption(
        "--suffix",
        dest="nautes_suffix",
        metavar="SUFFIX",
        help="suffix of every name the scenario creates (default: the scenario's).",
    )
    group.addoption(
        "--scenario-dir",
        dest="nautes_scenario_dir",
        metavar="DIR",
        help="the scenario to run (default: scenarios/quickstart under the rootdir).",
    )
    group.addoption(
        "--stage-timeout",
        dest="nautes_stage_timeout",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_STAGE_TIMEOUT_S,
        help=f"how long a stage waits for the world to reach a state (default: {DEFAULT_STAGE_TIMEOUT_S:g}).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "stage(name, needs=()): a Nautes e2e stage; skipped as 'blocked by <stage>' when a stage it needs "
        "did not pass",
    )
    options = RunOptions.from_config(config)
    recorder = StageRecorder(EvidenceStore(options.run_dir), _terminal_line_writer(config))
    config.stash[STATE_KEY] = RunState(options=options, recorder=recorder, started=datetime.now(UTC))
    config.pluginmanager.register(StagePlugin(config), "nautes-e2e-stages")


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = run_state(config).options
    target = options.target if options.target_file is None else f"{options.target} ({options.target_file})"
    return [f"nautes-e2e: target {target}, reports in {options.run_dir}"]


# The directory of the stage suites (design §2): each module there is one chain of stages.
SUITES_DIR = "suites"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``-n``, keep each stage suite's module on one worker, in order. ``xdist_group`` should do this,
    but pytest-xdist 3.8 cannot tag items on pytest 9.2 (pytest-dev/pytest-xdist#1386), and a split chain
    runs stages without the facts of the ones before them. Only runs that select ``suites/`` are
    scheduled by module; the harness's own tests keep xdist's finer default."""
    if str(config.getoption("dist", "no")) not in ("load", "loadgroup", "worksteal"):
        return None
    selected = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    suites = config.rootpath / SUITES_DIR
    if not any(path == suites or suites in path.parents for path in selected):
        return None
    from xdist.scheduler import LoadScopeScheduling

    return LoadScopeScheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: _XdistWorkerNode) -> None:
    """pytest-xdist: every worker writes evidence into the controller's run folder."""
    node.workerinput[_RUN_ID_WORKERINPUT] = run_state(node.config).options.run_id


@pytest.fixture
def stage(request: pytest.FixtureRequest) -> StageContext:
    """The running stage: ``fact``, ``evidence``, ``progress``, ``note`` and ``fail``.

    Only for tests marked ``@pytest.mark.stage(...)``.
    """
    spec = request.node.stash.get(_SPEC_KEY, None)
    if spec is None:
        pytest.fail(
            f"{request.node.nodeid}: the 'stage' fixture needs @pytest.mark.stage(...)", pytrace=False
        )
    return run_state(request.config).recorder.context(spec.name)


@pytest.fixture(scope="session")
def stage_timeout(pytestconfig: pytest.Config) -> float:
    """Seconds a stage waits for the world to reach a state (``--stage-timeout``)."""
    return run_state(pytestconfig).options.stage_timeout_s


@pytest.fixture(scope="session")
def e2e_run(pytestconfig: pytest.Config) -> RunState:
    """The run's options and recorder, for the fixtures that open the target and describe it."""
    return run_state(pytestconfig)


class StagePlugin:
    """Runs stages in order of their needs, records them, and writes the reports at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = run_state(config)
        self.is_worker = hasattr(config, "workerinput")
        self.report: Report | None = None

    @property
    def recorder(self) -> StageRecorder:
        return self.state.recorder

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Read every stage marker before deselection, so that ordering mistakes show whatever ``-k`` says."""
        specs = {item: spec for item in items if (spec := StageSpec.of(item)) is not None}
        _check_order(list(specs.items()))
        for item, spec in specs.items():
            item.stash[_SPEC_KEY] = spec
            if item.get_closest_marker("xdist_group") is None:
                item.add_marker(pytest.mark.xdist_group(XDIST_GROUP))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None]:
        """Begin the stage's record; skip it before any fixture starts if a stage it needs did not pass."""
        spec = item.stash.get(_SPEC_KEY, None)
        if spec is not None:
            self.recorder.begin(spec.name, spec.needs, test_id=item.nodeid)
            blocker = self.recorder.blocker(spec.needs)
            if blocker is not None:
                pytest.skip(f"blocked by {blocker}")
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        spec = item.stash.get(_SPEC_KEY, None)
        if spec is not None:
            self.recorder.count_attempt(spec.name)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        _redact_pytest_report(report)
        spec = item.stash.get(_SPEC_KEY, None)
        if spec is None:
            return report
        self._record_phase(spec.name, report, call)
        record = self.recorder.records[spec.name]
        if report.skipped and record.blocked:
            # "SKIPPED ... blocked by <stage>" points at the stage's test, not at this plugin.
            path, line, _ = item.reportinfo()
            report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {record.skip_reason}")
        error = call.excinfo.value if call.excinfo is not None else None
        if report.failed and isinstance(error, StageFailure):
            report.longrepr = self._failure_text(spec.name, item, call)
        if self.is_worker:
            setattr(report, _EXPORT_ATTRIBUTE, self.recorder.export())
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        exported = getattr(report, _EXPORT_ATTRIBUTE, None)
        if exported is not None and not self.is_worker:
            self.recorder.absorb(exported)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the reports after every fixture, the teardown stage included, has finished."""
        if self.is_worker or not self.recorder.records:
            return
        self.recorder.close_unfinished()
        stages = tuple(self.recorder.records.values())
        options = self.state.options
        summary = RunSummary(
            id=options.run_id,
            started=self.state.started,
            finished=datetime.now(UTC),
            result=run_result(stages, session_ok=exitstatus == pytest.ExitCode.OK),
            command_line=shlex.join(["pytest", *self.config.invocation_params.args]),
            kept_environment=options.keep_env,
        )
        self.report = Report(
            run=summary,
            target=self.state.target,
            scenario=self.state.scenario,
            stages=stages,
            facts=self.recorder.facts,
            environment=collect_environment(),
        )
        write_reports(self.report, options.run_dir)
        if summary.result == "failed" and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # e.g. the teardown stage failed

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.report is None:
            return
        terminalreporter.write_sep("=", f"nautes-e2e stages: {self.report.run.result}")
        width = self.config.get_terminal_writer().fullwidth
        for line, status in terminal_table(self.report, width):
            terminalreporter.write_line(
                redact(line),
                bold=status is None,
                green=status == "passed",
                red=status in ("failed", "error"),
                yellow=status == "skipped",
            )
        terminalreporter.write_line(f"reports: {self.state.options.run_dir}")

    def _record_phase(self, name: str, report: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
        # The last test's teardown phase also runs the session finalizers (``nautes remove``, stopping the
        # world); that time belongs to the ``teardown`` stage, which records it itself.
        if report.when != "teardown":
            self.recorder.add_duration(name, report.duration)
        if report.skipped:
            self.recorder.skipped(name, _skip_reason(report))
        elif report.failed and call.excinfo is not None:
            status: StageStatus = "failed" if report.when == "call" else "error"
            self.recorder.failed(name, call.excinfo.value, status=status)
        elif report.when == "teardown":
            self.recorder.passed(name)

    def _failure_text(self, name: str, item: pytest.Item, call: pytest.CallInfo[None]) -> str:
        """A decided failure reads as its diagnosis, where it was raised, and the evidence kept; the
        traceback through waits and clients would bury it."""
        record = self.recorder.records[name]
        assert call.excinfo is not None  # only called for a failed phase
        in_test_file = [entry for entry in call.excinfo.traceback if entry.path == item.path]
        where = f"{in_test_file[-1].path}:{in_test_file[-1].lineno + 1}" if in_test_file else item.nodeid
        lines = [f"stage {name} failed: {record.diagnosis}", f"  raised at {where}"]
        lines += [f"  evidence: {self.state.options.run_dir / path}" for path in record.evidence]
        return "\n".join(lines)


def _redact_pytest_report(report: pytest.TestReport) -> None:
    """Mask every known secret in what pytest itself prints and writes about a test.

    A traceback quotes assertion operands and, with ``--showlocals``, every local variable of every frame:
    a token revealed into a ``str`` a moment before the failure would be printed as is (and written by
    ``--junitxml``). The report's text is replaced (by plain text) only when it holds a secret, so ordinary
    failures keep pytest's structured, coloured rendering.
    """
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


def _check_order(stages: Sequence[tuple[pytest.Item, StageSpec]]) -> None:
    """Stage names are unique, and a stage needs only stages collected before it. A need that is not
    collected at all is allowed: the stage is then blocked by it."""
    all_names = {spec.name for _, spec in stages}
    earlier: dict[str, str] = {}
    for item, spec in stages:
        if spec.name in earlier:
            raise pytest.UsageError(
                f"stage {spec.name!r} is declared twice: {earlier[spec.name]} and {item.nodeid}"
            )
        for need in spec.needs:
            if need in all_names and need not in earlier:
                raise pytest.UsageError(
                    f"{item.nodeid}: stage {spec.name!r} needs {need!r}, which runs after it"
                )
        earlier[spec.name] = item.nodeid


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def _run_id(config: pytest.Config) -> str:
    """The worker's controller decides the run id; otherwise ``--run-id`` or UTC time + random hex."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and _RUN_ID_WORKERINPUT in workerinput:
        return str(workerinput[_RUN_ID_WORKERINPUT])
    run_id = config.getoption("nautes_run_id") or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.urandom(3).hex()}"
    if not _RUN_ID_PATTERN.fullmatch(run_id):
        raise pytest.UsageError(f"--run-id must be one folder name (letters, digits, . _ -), not {run_id!r}")
    return str(run_id)


def _terminal_line_writer(config: pytest.Config) -> ProgressSink:
    """Progress lines reach the terminal at once: capturing is suspended for the line, as pytest's own
    live logging does."""

    def write(line: str) -> None:
        capture = config.pluginmanager.get_plugin("capturemanager")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            if reporter is not None:
                reporter.write_line(line)
            else:
                print(line, file=sys.stderr, flush=True)

    return write
