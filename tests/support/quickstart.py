"""The main job run as CI runs it, in a subprocess, for the tests that judge a whole run: what it reported,
what the stack logged, and what it left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "run"
RUN_TIMEOUT_S = 300.0
# Every process the run starts inherits this variable (the stack's children that get a fresh
# environment are found by the run's directory in their command line, environment or working directory).
RUN_MARKER = "NAUTES_E2E_FAULT_RUN"


@dataclass(frozen=True)
class QuickstartRun:
    """One finished ``pytest suites/quickstart`` run: exit code, output, report, and where it ran."""

    returncode: int
    output: str
    work_dir: Path
    marker: str

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        report_path = self.work_dir / "reports" / RUN_ID / "report.json"
        assert report_path.is_file(), f"the run wrote no report.json; its output:\n{self.tail()}"
        report: dict[str, Any] = json.loads(report_path.read_text())
        return {stage["name"]: stage for stage in report["stages"]}

    def stack_log(self) -> str:
        """The stack's own log, as the run keeps it in its evidence (the world's directory is gone)."""
        evidence = self.work_dir / "reports" / RUN_ID / "evidence"
        logs = sorted(evidence.rglob("stack/logs/refstack.log"))
        assert logs, f"no stack/logs/refstack.log in {evidence}; output:\n{self.tail()}"
        return logs[0].read_text()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_quickstart(
    work_dir: Path, environment: Mapping[str, str], *, stage_timeout_s: str | None = None
) -> QuickstartRun:
    """The main job, as CI runs it, with ``environment`` added to this process's (how the reference stack
    learns its faults and its pace).

    Reports, pytest's temporary directories and every temporary directory of the run (``TMPDIR``: the
    world's, hence the stack's) live under ``work_dir``, and the stack picks free ports, so runs can go in
    parallel (``-n 2``)."""
    marker = uuid.uuid4().hex
    temporary = work_dir / "tmp"
    temporary.mkdir()
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    inherited |= {**environment, RUN_MARKER: marker, "TMPDIR": str(temporary)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "suites/quickstart",
        "-q",
        "-p",
        "no:cacheprovider",
        "--reports-dir",
        str(work_dir / "reports"),
        *(["--stage-timeout", stage_timeout_s] if stage_timeout_s else []),
        "--run-id",
        RUN_ID,
        "--basetemp",
        str(work_dir / "basetemp"),
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=inherited,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        output += f"\n(killed after {RUN_TIMEOUT_S:g} s)"
    return QuickstartRun(process.returncode, output, work_dir, marker)


def processes_of_run(run: QuickstartRun) -> list[str]:
    """Live processes started by the run: they carry its marker, or its directory in their command line,
    environment or working directory. Zombies (exited, not reaped by this machine's PID 1) do not count."""
    directory = str(run.work_dir).encode()
    left: list[str] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            cwd = os.readlink(entry / "cwd").encode()
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if (
            directory in cmdline
            or directory in environ
            or run.marker.encode() in environ
            or cwd.startswith(directory)
        ):
            argv = cmdline.split(b"\0")[:3]  # never the whole command line: it may hold a token
            left.append(f"pid {entry.name}: {b' '.join(argv).decode(errors='replace')}")
    return left
