"""Stages as pytest tests: ``@pytest.mark.stage(name, needs=(...))``.

Before a stage runs, it is skipped as ``blocked by <stage>`` if a stage it needs (transitively) did not
pass, in the spirit of pytest's "incremental testing" recipe, but declared by name rather than by class. Its
outcome, timing, facts, diagnosis and evidence go to the run's :class:`~nautes_e2e.stages.StageRecorder`.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from nautes_e2e.plugin.run import instance_name, item_state
from nautes_e2e.stages import StageContext, StageFailure, StageRecorder, StageStatus


@dataclass(frozen=True)
class StageSpec:
    """What ``@pytest.mark.stage(name, needs=(...))`` declares."""

    name: str
    needs: tuple[str, ...]
    #: The stage's default wait on a real installation (``timeout_s=`` of the marker), in seconds.
    timeout_s: float | None = None

    @classmethod
    def of(cls, item: pytest.Item) -> StageSpec | None:
        mark = item.get_closest_marker("stage")
        if mark is None:
            return None
        name = mark.args[0] if mark.args else mark.kwargs.get("name")
        needs = mark.kwargs.get("needs", mark.args[1] if len(mark.args) > 1 else ())
        timeout_s = mark.kwargs.get("timeout_s")
        if isinstance(needs, str):
            needs = (needs,)
        valid_timeout = timeout_s is None or (
            isinstance(timeout_s, int | float) and not isinstance(timeout_s, bool) and timeout_s > 0
        )
        if (
            not isinstance(name, str)
            or not name
            or not all(isinstance(need, str) for need in needs)
            or not valid_timeout
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: use @pytest.mark.stage('name', needs=('stage', ...), timeout_s=SECONDS), "
                f"not {mark!r}"
            )
        return cls(name=name, needs=tuple(needs), timeout_s=None if timeout_s is None else float(timeout_s))


SPEC_KEY = pytest.StashKey[StageSpec]()


def stage_spec(item: pytest.Item) -> StageSpec | None:
    """The stage ``item`` is, or ``None`` for an ordinary test."""
    return item.stash.get(SPEC_KEY, None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "stage(name, needs=(), timeout_s=None): a Nautes e2e stage; skipped as 'blocked by <stage>' when a "
        "stage it needs did not pass; timeout_s is its default wait on a real installation",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Read every stage marker before deselection, so that ordering mistakes show whatever ``-k`` says.
    Each instance of a run with instances is a chain of its own."""
    specs = [(item, spec) for item in items if (spec := StageSpec.of(item)) is not None]
    chains: dict[str | None, list[tuple[pytest.Item, StageSpec]]] = {}
    for item, spec in specs:
        chains.setdefault(instance_name(item), []).append((item, spec))
    for chain in chains.values():
        _check_order(chain)
    for item, spec in specs:
        item.stash[SPEC_KEY] = spec


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None]:
    """Begin the stage's record; skip it before any fixture starts if a stage it needs did not pass."""
    spec = stage_spec(item)
    if spec is None:
        return (yield)
    recorder = item_state(item).recorder
    recorder.begin(spec.name, spec.needs, test_id=item.nodeid, timeout_s=spec.timeout_s)
    blocker = recorder.blocker(spec.needs)
    if blocker is not None:
        pytest.skip(f"blocked by {blocker}")
    with _interrupt_recorded(recorder, spec.name):
        return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    spec = stage_spec(item)
    if spec is None:
        return (yield)
    recorder = item_state(item).recorder
    recorder.count_attempt(spec.name)
    with _interrupt_recorded(recorder, spec.name):
        return (yield)


@contextmanager
def _interrupt_recorded(recorder: StageRecorder, name: str) -> Iterator[None]:
    """pytest makes no report of a phase that Ctrl-C (or a signal the plugin turns into one) cut short, so
    the stage's outcome and the time it ran until then are recorded here."""
    started = time.monotonic()
    try:
        yield
    except KeyboardInterrupt as interrupt:
        recorder.add_duration(name, time.monotonic() - started)
        recorder.failed(name, interrupt, status="error")
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record the phase's outcome; a blocked skip and a decided failure read as what they are."""
    report = yield
    spec = stage_spec(item)
    if spec is None:
        return report
    _record_phase(item_state(item).recorder, spec.name, report, call)
    record = item_state(item).recorder.records[spec.name]
    if report.skipped and record.blocked:
        # "SKIPPED ... blocked by <stage>" points at the stage's test, not at this plugin.
        path, line, _ = item.reportinfo()
        report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {record.skip_reason}")
    if report.failed and call.excinfo is not None and isinstance(call.excinfo.value, StageFailure):
        report.longrepr = _failure_text(spec.name, item, call)
    return report


@pytest.fixture
def stage(request: pytest.FixtureRequest) -> StageContext:
    """The running stage: ``fact``, ``evidence``, ``progress``, ``note``, ``wait_for``, ``follow``, ``fail``.

    Only for tests marked ``@pytest.mark.stage(...)``.
    """
    spec = stage_spec(request.node)
    if spec is None:
        pytest.fail(
            f"{request.node.nodeid}: the 'stage' fixture needs @pytest.mark.stage(...)", pytrace=False
        )
    return item_state(request.node).recorder.context(spec.name)


def _record_phase(
    recorder: StageRecorder, name: str, report: pytest.TestReport, call: pytest.CallInfo[None]
) -> None:
    # The last test's teardown phase also runs the session finalizers (``nautes remove``, stopping the
    # world); that time belongs to the ``teardown`` stage, which records it itself.
    if report.when != "teardown":
        recorder.add_duration(name, report.duration)
    if report.skipped:
        recorder.skipped(name, _skip_reason(report))
    elif report.failed and call.excinfo is not None:
        status: StageStatus = "failed" if report.when == "call" else "error"
        recorder.failed(name, call.excinfo.value, status=status)
    elif report.when == "teardown":
        recorder.passed(name)


def _failure_text(name: str, item: pytest.Item, call: pytest.CallInfo[None]) -> str:
    """A decided failure reads as its diagnosis, where it was raised, and the evidence kept; the traceback
    through waits and clients would bury it."""
    state = item_state(item)
    record = state.recorder.records[name]
    assert call.excinfo is not None  # only called for a failed phase
    in_test_file = [entry for entry in call.excinfo.traceback if entry.path == item.path]
    where = f"{in_test_file[-1].path}:{in_test_file[-1].lineno + 1}" if in_test_file else item.nodeid
    lines = [f"stage {name} failed: {record.diagnosis}", f"  raised at {where}"]
    lines += [f"  evidence: {state.options.run_dir / path}" for path in record.evidence]
    return "\n".join(lines)


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
