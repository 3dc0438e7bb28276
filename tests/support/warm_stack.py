"""A reference stack kept running for many main jobs (a "warm" stack), each run with a suffix of its own and
its own faults armed on the running stack (``python -m nautes_refstack.fault_control``; the harness's tests
reach the stack only as a process).

Starting a stack costs seconds; a run on a warm one costs only the run. What one run does cannot reach the
next: each run has its own names (its suffix), a fault armed for it acts only on those names, and each run
claims a runtime cluster no registration uses (the stack offers several, ``--clusters``), so a run whose
breakage kept its registration (a teardown that failed) leaves the others a cluster to claim.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from nautes_e2e.targets.local import stack_bug_lines
from tests.support.quickstart import QuickstartRun, run_quickstart

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass
class WarmStack:
    """A running standalone stack (``nautes-e2e refstack up --dir DIR``) and what a run needs to use it."""

    directory: Path
    process: subprocess.Popen[bytes]
    credentials: dict[str, str]
    _suffixes: itertools.count[int] = field(default_factory=itertools.count)
    _tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def new_suffix(self) -> str:
        """A suffix no other run on this stack had: names, and faults armed for them, are this run's own."""
        return f"w{self._tag}{next(self._suffixes)}"

    def arm(self, suffix: str, *faults: str) -> None:
        """Arm ``faults`` (``NAME[=ARG]``) for the run ``suffix``; fails naming the stack's refusal."""
        self._control("arm", suffix, *faults)

    def disarm(self, suffix: str) -> None:
        self._control("disarm", suffix)

    def run(self, work_dir: Path, suffix: str, *, stage_timeout_s: str | None = None) -> QuickstartRun:
        """The main job against this stack (``--target existing``), as a user runs it on a shared world."""
        target = ["--target", "existing", "--target-file", str(self.directory / "target.yaml")]
        return run_quickstart(
            work_dir,
            self.credentials,
            stage_timeout_s=stage_timeout_s,
            arguments=[*target, "--suffix", suffix],
        )

    def log(self) -> str:
        """The stack's own log so far (``DIR/logs/refstack.log``): which faults acted, for which run."""
        return (self.directory / "logs" / "refstack.log").read_text()

    def stop(self) -> None:
        """SIGINT, as Ctrl-C stops it; killed (and failing) if it does not stop in time. Fails too if one
        of its controllers died, or hit a bug it survived, meanwhile: the runs that met it met a world the
        stack did not mean, whatever they concluded."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError(f"the warm stack did not stop within {STOP_TIMEOUT_S:g} s") from None
        bugs = stack_bug_lines(self.log())
        assert not bugs, "the warm stack hit a bug of its own:\n" + "\n".join(bugs)

    def _control(self, command: str, suffix: str, *faults: str) -> None:
        module = [sys.executable, "-m", "nautes_refstack.fault_control"]
        result = subprocess.run(
            [*module, command, "--dir", str(self.directory), "--run", suffix, *faults],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"{command} {suffix} {' '.join(faults)}: {result.stderr.strip()}"


def start_warm_stack(directory: Path, *arguments: str) -> WarmStack:
    """Start ``nautes-e2e refstack up --dir DIRECTORY ARGUMENTS`` and wait until it is ready. It stops by
    itself once this process is gone (``--exit-with-parent``): a test session killed outright runs no
    finalizer, and the stack runs in a session of its own."""
    script = Path(sys.executable).with_name("nautes-e2e")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "nautes_e2e.cli"]
    follow = f"--exit-with-parent={os.getpid()}"
    process = subprocess.Popen(
        [*command, "refstack", "up", "--dir", str(directory), follow, *arguments],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not (directory / "ready").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError(
                f"the warm stack was not ready within {READY_TIMEOUT_S:g} s (exit {process.returncode})"
            )
        time.sleep(0.05)
    text = (directory / "credentials.env").read_text()
    credentials = dict(line.split("=", 1) for line in text.splitlines() if line)
    return WarmStack(directory, process, credentials)
