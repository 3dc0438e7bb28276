"""Runs that share one world: two quickstarts with different suffixes on one standalone stack side by side,
and a run after a ``--keep-env`` run whose cluster registration is still there (the README's standalone flow
followed by a run with another suffix).

Nautes v0.4.2 itself collides when runs share an installation, and the stack collides the same way (its
tests prove each case, ``refstack/tests/test_nautes_api_concurrency.py`` and
``refstack/tests/test_runtime_cluster_registrations.py``):

* the API server serialises nothing: two requests that clone a repository of the same name in the same
  second collide ("destination path ... already exists", NAUTES ``app/api-server/internal/data/git.go``
  ``Clone``), and a push that loses a race fails the request (``internal/biz/resource.go`` ``PushToGit``);
* one Kubernetes cluster carries one registration: two registrations fight over its vault-agent injector
  (cluster-templates v0.4.0 ``runtimes/_RUNTIME_/production/vault-app.yaml``), and the pipelines of the
  younger one log in at the other's auth path.

So the runs pass only because the harness avoids what real Nautes cannot do: each run claims a runtime
cluster no registration uses (the stack offers two, ``--clusters 2``; the fact ``runtime_cluster`` says which,
and what it passed over), and the Nautes client resends a request Nautes refused because another request
used the same repository at the same moment (``tests/unit/test_nautes_concurrent_use.py``,
``tests/unit/test_runtime_cluster_claim.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.warm_stack import start_warm_stack

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class SharedStack:
    directory: Path
    environ: dict[str, str]


@dataclass(frozen=True)
class Run:
    suffix: str
    returncode: int
    output: str
    report: dict[str, Any] | None

    def summary(self) -> str:
        return f"run {self.suffix} exited {self.returncode}:\n" + "\n".join(self.output.splitlines()[-40:])


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedStack]:
    """One standalone stack with two runtime clusters, as a user starts it (``nautes-e2e refstack up``)."""
    stack = start_warm_stack(tmp_path_factory.mktemp("shared") / "world", "--clusters", "2")
    try:
        inherited = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
        yield SharedStack(stack.directory, {**inherited, **stack.credentials})
    finally:
        stack.stop()


def start_run(shared: SharedStack, suffix: str, work: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "suites/quickstart", "-q", "-p", "no:cacheprovider",
         "--target", "existing", "--target-file", str(shared.directory / "target.yaml"), "--suffix", suffix,
         "--run-id", f"run-{suffix}", "--reports-dir", str(work / "reports"),
         "--basetemp", str(work / f"basetemp-{suffix}"), *extra],
        cwd=ROOT, env=shared.environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def finish(process: subprocess.Popen[str], suffix: str, work: Path) -> Run:
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output = process.communicate()[0] + f"\n(killed after {RUN_TIMEOUT_S:g} s)"
    report_file = work / "reports" / f"run-{suffix}" / "report.json"
    report = json.loads(report_file.read_text()) if report_file.is_file() else None
    return Run(suffix, process.returncode, output, report)


def assert_passed(runs: Sequence[Run], *, kept: bool = False) -> None:
    for run in runs:
        assert run.returncode == 0, run.summary()
        assert run.report is not None, run.summary()
        stages = {stage["name"]: stage["status"] for stage in run.report["stages"]}
        assert stages.pop("teardown") == ("skipped" if kept else "passed"), run.summary()
        assert set(stages.values()) == {"passed"}, run.summary()


def test_two_runs_with_different_suffixes_pass_side_by_side(shared: SharedStack, tmp_path: Path) -> None:
    started = [start_run(shared, suffix, tmp_path) for suffix in ("a", "b")]
    runs = [finish(process, suffix, tmp_path) for process, suffix in zip(started, ("a", "b"), strict=True)]
    assert_passed(runs)
    clusters = [run.report["facts"]["cluster"] for run in runs if run.report is not None]
    assert clusters == ["physical-worker-a", "physical-worker-b"]
    claimed = {run.report["facts"]["runtime_cluster"]["name"] for run in runs if run.report is not None}
    assert claimed == {"runtime", "runtime-2"}, "each run claimed a runtime cluster of its own"


def test_a_run_after_a_kept_run_passes(shared: SharedStack, tmp_path: Path) -> None:
    """The README's flow: a run with ``--keep-env`` leaves its registration; the next run, with another
    suffix, must not use the kept registration's cluster."""
    kept = finish(start_run(shared, "kept", tmp_path, "--keep-env"), "kept", tmp_path)
    assert_passed([kept], kept=True)
    after = finish(start_run(shared, "after", tmp_path), "after", tmp_path)
    assert_passed([after])
    assert kept.report is not None
    assert after.report is not None
    kept_on = kept.report["facts"]["runtime_cluster"]["name"]
    assert after.report["facts"]["runtime_cluster"]["passed_over"] == {
        kept_on: "it carries the Nautes registration physical-worker-kept"
    }
