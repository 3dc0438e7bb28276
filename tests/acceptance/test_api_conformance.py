"""``pytest suites/api_conformance`` as CI runs it, in a subprocess: on the embedded reference stack
(``--target local``), and against a standalone stack (``nautes-e2e refstack up --dir D``) through
``--target existing``. Each run must pass with at least 25 checks, read from its ``report.json`` (every
check is a stage), and leave nothing behind: the teardown stage passed, and GitLab holds no group of the
suite's any more.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gitlab
import pytest
import yaml

from tests.support.warm_stack import WarmStack, start_warm_stack

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "run"
RUN_TIMEOUT_S = 300.0
#: What the brief of the suite asks for: at least this many checks, all passing.
MIN_CHECKS = 25
#: Stages of the run that are not checks: the product the checks work in, and its removal.
NOT_CHECKS = ("conformance-product", "teardown")
#: Every group the suite creates starts so (suites/api_conformance/conftest.py ``ConformanceNames``).
GROUP_PREFIX = "apiconf-"


@dataclass(frozen=True)
class ConformanceRun:
    returncode: int
    output: str
    report: dict[str, Any]

    @property
    def statuses(self) -> dict[str, str]:
        return {stage["name"]: stage["status"] for stage in self.report["stages"]}

    @property
    def checks(self) -> dict[str, str]:
        """Each check's status (the world's bring-up stages and the suite's setup and teardown left out)."""
        return {
            name: status
            for name, status in self.statuses.items()
            if name not in NOT_CHECKS and not name.startswith("world-")
        }

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_conformance(work_dir: Path, environ: Mapping[str, str], *arguments: str) -> ConformanceRun:
    """The suite in its own session, reports and temporary directories under ``work_dir``."""
    temporary = work_dir / "tmp"
    temporary.mkdir(parents=True)
    inherited = {key: value for key, value in environ.items() if not key.startswith("PYTEST_")}
    command = [
        sys.executable, "-m", "pytest", "suites/api_conformance", "-q", "-p", "no:cacheprovider",
        "--reports-dir", str(work_dir / "reports"), "--run-id", RUN_ID,
        "--basetemp", str(work_dir / "basetemp"), *arguments,
    ]  # fmt: skip
    completed = subprocess.run(
        command,
        cwd=ROOT,
        env=inherited | {"TMPDIR": str(temporary)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    report_path = work_dir / "reports" / RUN_ID / "report.json"
    assert report_path.is_file(), (
        f"no report.json; output:\n{completed.stdout[-4000:]}{completed.stderr[-2000:]}"
    )
    return ConformanceRun(
        completed.returncode, completed.stdout + completed.stderr, json.loads(report_path.read_text())
    )


def assert_conformant(run: ConformanceRun) -> None:
    """Exit 0, the report says passed, at least ``MIN_CHECKS`` checks, every one passed, the teardown too,
    and pytest counted as many passed tests as the report has checks."""
    assert run.returncode == 0, run.tail()
    assert run.report["run"]["result"] == "passed", run.tail()
    failed = {name: status for name, status in run.checks.items() if status != "passed"}
    assert not failed, f"checks that did not pass: {failed}\n{run.tail()}"
    assert len(run.checks) >= MIN_CHECKS, f"only {len(run.checks)} checks: {sorted(run.checks)}"
    assert run.statuses.get("teardown") == "passed", "the teardown removes the suite's product"
    summary = re.search(r"(\d+) passed", run.output)
    assert summary, run.tail()
    assert int(summary[1]) == len(run.checks), f"pytest's count differs from the report's:\n{run.tail()}"


def test_conformance_on_the_embedded_stack(tmp_path: Path) -> None:
    assert_conformant(run_conformance(tmp_path, os.environ))


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[WarmStack]:
    """``nautes-e2e refstack up --dir D``, stopped with SIGINT (as a user's Ctrl-C) after the test."""
    stack = start_warm_stack(tmp_path / "world")
    try:
        yield stack
    finally:
        stack.stop()


def test_conformance_against_a_standalone_stack(standalone: WarmStack, tmp_path: Path) -> None:
    environ = {**os.environ, **standalone.credentials}
    target_file = standalone.directory / "target.yaml"
    run = run_conformance(
        tmp_path / "run", environ, "--target", "existing", "--target-file", str(target_file), "--suffix", "ci"
    )
    assert_conformant(run)
    gitlab_url = yaml.safe_load(target_file.read_text())["gitlab"]["url"]
    client = gitlab.Gitlab(gitlab_url, private_token=environ["NAUTES_E2E_GITLAB_TOKEN"])
    left = [group.full_path for group in client.groups.list(get_all=True)]
    assert not [path for path in left if path.startswith(GROUP_PREFIX)], f"groups left behind: {left}"
