"""Each quickstart stage catches the breakage it names: proven by running the real main job against a
reference stack with that breakage injected. Most cases share one warm stack per test process, each run
with a suffix of its own and its fault armed for that run only (``tests/support/warm_stack.py``); a case
marked ``own_stack`` starts a stack with the fault (``NAUTES_E2E_REFSTACK_FAULTS``).

For every fault the run must exit 1 with the named stage ``failed`` and a diagnosis that names the
breakage; the stages after it that need it skipped as "blocked by" it; the stages before it passed; the
teardown passed (or, where the breakage also breaks removal, failed and said why); the fault really acted
(the stack's log says so); the stack met no bug of its own (its log names none: ``stack_bug_lines``);
and nothing of the run left running.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.targets.local import stack_bug_lines
from tests.faults.cases import CASES, GREEN_CASES, TEARDOWN, FaultCase, GreenCase
from tests.support.quickstart import (
    RUN_ID,
    QuickstartRun,
    processes_of_run,
    run_quickstart,
)
from tests.support.warm_stack import WarmStack, start_warm_stack

pytestmark = pytest.mark.faults

STAGE_TIMEOUT_S = "8"  # generous: under `-n auto` load a healthy stage must never time out
# How the reference stack learns its faults: an environment variable, the one interface the two packages share
# besides the command line (nautes_refstack.faults.FAULTS_ENV; the harness never imports the stack).
FAULTS_ENV = "NAUTES_E2E_REFSTACK_FAULTS"
#: The scenario's own suffix: what an ``own_stack`` case's run is named with.
DEFAULT_SUFFIX = "quickstart"
#: Warm cases run side by side, this many at a time: a run spends much of its time waiting (for the
#: stack's controllers, for the stage timeout its fault runs into), so two together take little longer than
#: one; more would overload 2 cores until healthy stages time out (seen with 3 under load).
WARM_CONCURRENCY = 2
#: Runtime clusters of the warm stack (the most it offers): one per concurrent run, and the rest to spare for
#: runs whose breakage keeps their registration (a teardown that fails before it removes the cluster).
WARM_CLUSTERS = "8"


@pytest.fixture(scope="session")
def warm_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmStack]:
    """One standalone stack per test process, started once, shared by the cases run here."""
    stack = start_warm_stack(tmp_path_factory.mktemp("warm") / "world", "--clusters", WARM_CLUSTERS)
    try:
        yield stack
    finally:
        stack.stop()


class WarmRuns:
    """The runs of the warm cases, each with a suffix of its own and its fault armed for it only,
    :data:`WARM_CONCURRENCY` at a time; a test waits for its own."""

    def __init__(self, stack: WarmStack, work: Path, ahead: list[FaultCase]) -> None:
        self._stack = stack
        self._work = work
        self._pool = ThreadPoolExecutor(max_workers=WARM_CONCURRENCY, thread_name_prefix="warm-run")
        self._started = {case.fault: self._pool.submit(self._run, case) for case in ahead}

    def result(self, case: FaultCase) -> tuple[str, QuickstartRun]:
        """The suffix and the finished run of ``case`` (started now if it was not started ahead)."""
        started = self._started.pop(case.fault, None) or self._pool.submit(self._run, case)
        return started.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, case: FaultCase) -> tuple[str, QuickstartRun]:
        suffix = self._stack.new_suffix()
        self._stack.arm(suffix, case.fault)
        try:
            return suffix, self._stack.run(self._work / suffix, suffix, stage_timeout_s=STAGE_TIMEOUT_S)
        finally:
            self._stack.disarm(suffix)


@pytest.fixture(scope="session")
def warm_runs(
    request: pytest.FixtureRequest, warm_stack: WarmStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WarmRuns]:
    """Without xdist every warm case selected runs in this process: they are started ahead, side by side.
    An xdist worker (``workerinput``) runs only the cases it is handed, each started when its test is: the
    workers, each with a warm stack of its own, run cases side by side instead."""
    ahead: list[FaultCase] = []
    if getattr(request.config, "workerinput", None) is None:
        for item in request.session.items:
            callspec = getattr(item, "callspec", None)
            case = callspec.params.get("case") if callspec is not None else None
            if isinstance(case, FaultCase) and not case.own_stack:
                ahead.append(case)
    runs = WarmRuns(warm_stack, tmp_path_factory.mktemp("warm-runs"), ahead)
    try:
        yield runs
    finally:
        runs.close()


def transitive_dependents(stages: dict[str, dict[str, Any]], root: str) -> set[str]:
    """The stages that need ``root``, directly or through other stages."""
    dependents: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, stage in stages.items():
            if name not in dependents and {root, *dependents} & set(stage["needs"]):
                dependents.add(name)
                changed = True
    return dependents


@pytest.mark.parametrize("case", CASES, ids=[case.fault for case in CASES])
def test_the_stage_that_names_the_breakage_catches_it(
    case: FaultCase, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if case.own_stack:
        suffix = DEFAULT_SUFFIX
        run = run_quickstart(
            tmp_path, {FAULTS_ENV: case.fault}, stage_timeout_s=STAGE_TIMEOUT_S, arguments=case.options
        )
        stack_log = run.stack_log()
        acted = f"fault {case.fault} acts:" in stack_log
    else:
        runs: WarmRuns = request.getfixturevalue("warm_runs")
        suffix, run = runs.result(case)
        stack_log = request.getfixturevalue("warm_stack").log()
        acted = f"fault {case.fault} acts for run {suffix}:" in stack_log

    assert stack_bug_lines(stack_log) == [], "the stack hit a bug of its own: this run proves nothing"
    assert processes_of_run(run) == [], "the run left processes behind"
    assert acted, (
        "the fault never acted: the test proves nothing (armed for one run, its hook must name what it acts "
        f"on with about=..., or the case must say own_stack=True); the run's output:\n{run.tail()}"
    )
    keyword, teardown_keyword = (
        text.replace("{suffix}", suffix) for text in (case.keyword, case.teardown_keyword)
    )
    stages = run.stages
    order = list(stages)
    failed = stages[case.stage]
    assert failed["status"] == "failed", f"{case.stage} is {failed['status']}; output:\n{run.tail()}"
    assert keyword in (failed["diagnosis"] or ""), (
        f"the diagnosis of {case.stage} does not name {keyword!r}: {failed['diagnosis']!r}"
    )
    assert run.returncode == 1, run.tail()
    failed_stages = sorted(name for name, stage in stages.items() if stage["status"] == "failed")
    before = order[: order.index(case.stage)]
    assert {name: stages[name]["status"] for name in before} == dict.fromkeys(before, "passed")
    for name in sorted(transitive_dependents(stages, case.stage) - {TEARDOWN}):
        stage = stages[name]
        assert stage["status"] == "skipped", f"{name} needs {case.stage} but is {stage['status']}"
        # A block names the root failure: this stage, or another stage the same breakage failed too
        # (force-push-setting-ignored fails both pushes).
        blocker = str(stage["skip_reason"]).removeprefix("blocked by ")
        assert blocker in failed_stages, f"{name}: {stage['skip_reason']!r}, failed stages {failed_stages}"
    # Nothing was applied before preflight, so then there is nothing to tear down (and no teardown stage).
    if case.stage != "preflight" or TEARDOWN in stages:
        teardown = stages[TEARDOWN]
        assert teardown["status"] == case.teardown, teardown["diagnosis"]
        assert teardown_keyword in (teardown["diagnosis"] or ""), teardown["diagnosis"]


#: Green faults whose transient answers every client must resend, and the stages whose evidence
#: (``transient-retries.json``) must show the harness's resends to GitLab: the preflight's come first of all.
RESENDS_SHOWN_IN = {"gitlab-502-first-request": ("preflight",)}


@pytest.mark.parametrize("case", GREEN_CASES, ids=[case.fault for case in GREEN_CASES])
def test_the_run_absorbs_what_a_healthy_installation_does(case: GreenCase, tmp_path: Path) -> None:
    """Slow answers within the timeouts, late webhooks and a restarting GitLab's 502s are what a healthy
    installation does: the run passes every stage, the fault really acted, the stack met no bug of its own,
    and a resend says so."""
    run = run_quickstart(tmp_path, {FAULTS_ENV: case.fault}, stage_timeout_s=STAGE_TIMEOUT_S)

    assert processes_of_run(run) == [], "the run left processes behind"
    stack_log = run.stack_log()
    assert stack_bug_lines(stack_log) == [], "the stack hit a bug of its own"
    assert f"fault {case.fault} acts" in stack_log, "the fault never acted: the test proves nothing"
    assert run.returncode == 0, run.tail()
    stages = run.stages
    not_passed = {name: stages[name]["diagnosis"] for name in stages if stages[name]["status"] != "passed"}
    assert not_passed == {}, f"{case.fault} must not fail the run ({case.why})"
    shown_in = RESENDS_SHOWN_IN.get(case.fault, ())
    for stage in shown_in:
        kept = tmp_path / "reports" / RUN_ID / "evidence" / stage / "transient-retries.json"
        assert kept.is_file(), f"{stage} kept no transient-retries.json: the resends are hidden"
        assert "GitLab answered GET /api/v4/" in kept.read_text(), kept.read_text()
    if shown_in:  # the stack's go-gitlab clients (Nautes, Argo Events) resent too, as retryablehttp logs it
        assert "(status: 502): retrying in" in run.stack_log()
