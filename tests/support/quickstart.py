"""The main job run as CI runs it, in a subprocess, for the tests that judge a whole run: what it reported,
what the stack logged, and what it left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nautes_e2e.targets.processes import Process, process

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
    work_dir: Path,
    environment: Mapping[str, str],
    *,
    stage_timeout_s: str | None = None,
    arguments: Sequence[str] = (),
) -> QuickstartRun:
    """The main job, as CI runs it, with ``environment`` added to this process's (how the reference stack
    learns its faults and its pace) and ``arguments`` to its command line.

    Reports, pytest's temporary directories and every temporary directory of the run (``TMPDIR``: the
    world's, hence the stack's) live under ``work_dir``, and the stack picks free ports, so runs can go in
    parallel (``-n 2``)."""
    marker = uuid.uuid4().hex
    process = subprocess.Popen(
        quickstart_command(
            work_dir, *(["--stage-timeout", stage_timeout_s] if stage_timeout_s else []), *arguments
        ),
        cwd=REPO_ROOT,
        env=_run_environment(work_dir, environment, marker),
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


def quickstart_command(work_dir: Path, *arguments: str) -> list[str]:
    """``pytest suites/quickstart`` with its reports, run id and temporary directories under ``work_dir``."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "suites/quickstart",
        "-q",
        "-p",
        "no:cacheprovider",
        "--reports-dir",
        str(work_dir / "reports"),
        "--run-id",
        RUN_ID,
        "--basetemp",
        str(work_dir / "basetemp"),
        *arguments,
    ]


def _run_environment(work_dir: Path, environment: Mapping[str, str], marker: str) -> dict[str, str]:
    temporary = work_dir / "tmp"
    temporary.mkdir(parents=True)
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return inherited | {**environment, RUN_MARKER: marker, "TMPDIR": str(temporary)}


@dataclass
class StartedQuickstart:
    """A main job still running, in a session of its own (as a CI job runs it), its output in a file: for
    the tests that act on a run while it runs (signals)."""

    process: subprocess.Popen[bytes]
    work_dir: Path
    marker: str

    @property
    def output_path(self) -> Path:
        return self.work_dir / "output.txt"

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def wait_until(self, condition: Callable[[], bool], what: str, timeout_s: float = RUN_TIMEOUT_S) -> None:
        """Wait until ``condition()`` holds; fails naming ``what`` if the run ends first or it takes longer
        than ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            ended = self.process.poll()
            assert ended is None, f"the run ended (status {ended}) before {what}:\n{self.tail()}"
            assert time.monotonic() < deadline, f"no {what} within {timeout_s:g} s:\n{self.tail()}"
            time.sleep(0.02)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the run's whole process group, as a CI runner cancelling the job does."""
        os.killpg(self.process.pid, signum)

    def finish(self, timeout_s: float = RUN_TIMEOUT_S) -> QuickstartRun:
        """Wait for the run to end (killing it after ``timeout_s``) and return it."""
        try:
            returncode = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            returncode = self.process.wait()
        return QuickstartRun(returncode, self.output(), self.work_dir, self.marker)


def start_quickstart(work_dir: Path, environment: Mapping[str, str], *arguments: str) -> StartedQuickstart:
    """Start the main job as :func:`run_quickstart` runs it, with ``arguments`` added, and return at once."""
    marker = uuid.uuid4().hex
    environ = _run_environment(work_dir, environment, marker)
    with (work_dir / "output.txt").open("wb") as output:
        process = subprocess.Popen(
            quickstart_command(work_dir, *arguments),
            cwd=REPO_ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return StartedQuickstart(process, work_dir, marker)


def world_directories(work_dir: Path) -> list[Path]:
    """The world directories a run under ``work_dir`` made (the harness's ``nautes-e2e-world-*``)."""
    return sorted((work_dir / "tmp").glob("nautes-e2e-world-*"))


def listeners(pids: Iterable[int]) -> dict[int, Process]:
    """The TCP ports the processes ``pids`` listen on, and which process listens on each (Linux
    ``/proc``)."""
    owners: dict[str, Process] = {}
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in (Path("/proc") / str(pid) / "fd").iterdir()]
        except OSError:  # gone meanwhile
            continue
        owner = process(pid)
        owners |= {link[len("socket:[") : -1]: owner for link in links if link.startswith("socket:[")}
    return {port: owners[inode] for port, inode in _listening_sockets() if inode in owners}


def still_listening(before: Mapping[int, Process]) -> dict[int, Process]:
    """Those of ``before`` (what :func:`listeners` found) that the very same process still listens on: a
    port another process took since is not a leak of the run."""
    alive = [owner.pid for owner in set(before.values()) if owner.alive()]
    return {port: owner for port, owner in listeners(alive).items() if before.get(port) == owner}


def _listening_sockets() -> list[tuple[int, str]]:
    """(port, socket inode) of every listening TCP socket, IPv4 and IPv6."""
    sockets: list[tuple[int, str]] = []
    for table in ("tcp", "tcp6"):
        try:
            lines = (Path("/proc/net") / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                sockets.append((int(fields[1].rsplit(":", 1)[1], 16), fields[9]))
    return sockets


def processes_of_run(run: QuickstartRun | StartedQuickstart) -> list[str]:
    """Live processes started by the run: they carry its marker, or its directory in their command line,
    environment or working directory. Zombies (exited, not reaped by this machine's PID 1) do not count."""
    left: list[str] = []
    for pid in pids_of_run(run):
        try:
            cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        argv = cmdline.split(b"\0")[:3]  # never the whole command line: it may hold a token
        left.append(f"pid {pid}: {b' '.join(argv).decode(errors='replace')}")
    return left


def pids_of_run(run: QuickstartRun | StartedQuickstart) -> list[int]:
    """The pids of :func:`processes_of_run`."""
    directory = str(run.work_dir).encode()
    found: list[int] = []
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
            found.append(int(entry.name))
    return found
