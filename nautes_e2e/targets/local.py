"""The ``local`` target: the embedded reference stack, started as a separate process for the run.

The stack is its own distribution (``nautes-refstack``) that the harness never imports (import-linter enforces
it). The target runs ``python -m nautes_refstack up
--dir <dir>`` in its own process group, waits for ``<dir>/ready`` and then reads ``<dir>/target.yaml`` exactly
as the ``existing`` target would, with ``<dir>/credentials.env`` merged over the environment. Stopping sends
SIGTERM to the whole process group, then SIGKILL if it does not go away in time; whatever the stack started
outside its group and left running is killed after it (:mod:`~nautes_e2e.targets.processes`). A run told
to stop at once kills every stack it started with :func:`kill_started_stacks`.

``--service vault=container`` / ``registry=container`` swap an emulated service for a real one in a container
(:mod:`~nautes_e2e.targets.local_services`): checked before anything starts, started before the stack (and
reported as bring-up steps), handed to the stack on its command line; stopped after the stack.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from nautes_e2e.secrets import Secret, redact
from nautes_e2e.targets import processes
from nautes_e2e.targets.base import Target
from nautes_e2e.targets.bringup import UNREPORTED, BringUp
from nautes_e2e.targets.services import CONTAINER
from nautes_e2e.targets.target_file import TargetError, load_target_file
from nautes_e2e.targets.workdir import record_process
from nautes_e2e.targets.world import World

if TYPE_CHECKING:  # imported when a service is swapped: Docker's clients cost every other run start-up time
    from nautes_e2e.targets.local_services import LocalServices

#: The reference stack's importable name, run as ``python -m``: with the target file it writes, the one
#: interface between the two distributions.
REFSTACK_MODULE = "nautes_refstack"
#: How to get the stack where it is missing: the harness alone is enough for ``--target existing``.
REFSTACK_INSTALL_HINT = (
    "the embedded reference stack (distribution nautes-refstack) is not installed in this Python; from a "
    "clone of nautes-e2e: pip install -e ./refstack (or run --target existing against a world of your own)"
)
LOG_TAIL_LINES = 20
#: How the reference stack's log marks a bug of its own: its supervision logger at ERROR
#: (``nautes_refstack/supervision.py``; the log's format is ``<time> <LEVEL> <logger>: <message>``).
STACK_BUG_MARKER = " ERROR nautes_refstack.supervision: "
#: How often the start looks for ``ready``: the stack is ready in well under a second, and every run waits
#: for it, so half this pause is lost on average (an existence check costs next to nothing).
READY_POLL_S = 0.01

#: The stacks this process started and has not stopped yet (what :func:`kill_started_stacks` kills).
_STARTED: set[subprocess.Popen[bytes]] = set()


def kill_started_stacks() -> None:
    """SIGKILL every reference stack this process started and has not stopped, with every process it
    started: the last resort of a run told twice to stop. Never waits; safe in a signal handler."""
    for process in list(_STARTED):
        processes.kill(processes.tree(process.pid))


def refstack_available() -> bool:
    """Whether ``python -m nautes_refstack`` can run in this interpreter (looked up, never imported)."""
    return importlib.util.find_spec(REFSTACK_MODULE) is not None


def stack_bug_lines(stack_log: str) -> list[str]:
    """The lines of a reference stack's log (``DIR/logs/refstack.log``) that name a bug of its own."""
    return [line for line in stack_log.splitlines() if STACK_BUG_MARKER in line]


def read_credentials(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (blank lines and ``#`` comments skipped); errors name the line, not the value."""
    credentials: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, separator, value = line.partition("=")
        if not separator or not name.strip().isidentifier():
            raise TargetError(f"{path}: line {number} is not NAME=value")
        credentials[name.strip()] = value
        Secret(value)  # registered with the redactor from now on
    return credentials


class LocalTarget(Target):
    """Starts the reference stack under ``<work_dir>/stack`` and stops it again."""

    name = "local"

    def __init__(
        self,
        work_dir: Path,
        *,
        environ: Mapping[str, str] | None = None,
        module: str = REFSTACK_MODULE,
        startup_timeout_s: float = 120.0,
        stop_timeout_s: float = 15.0,
        services: Mapping[str, str] | None = None,
        bringup: BringUp = UNREPORTED,
    ) -> None:
        self.work_dir = work_dir
        self.services = dict(services or {})
        self.bringup = bringup
        self.stack_dir = work_dir / "stack"
        self.log_path = work_dir / "refstack.log"
        self.environ = dict(os.environ if environ is None else environ)
        self.module = module
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._containers: LocalServices | None = None
        self._stack_arguments: list[str] = []

    @property
    def command(self) -> list[str]:
        # --exit-with-parent: a run killed outright (SIGKILL, an OOM kill) must not leave its stack running.
        base = [sys.executable, "-m", self.module, "up", "--dir", str(self.stack_dir), "--exit-with-parent"]
        return base + self._stack_arguments

    @property
    def swapped_services(self) -> list[str]:
        """The services that run in a container instead of the stack's emulation (``--service``)."""
        return [name for name, kind in self.services.items() if kind == CONTAINER]

    def _start(self) -> World:
        """Spawn the stack, wait for ``ready``, return its world (``start`` stops it on any failure)."""
        if self._process is not None:
            raise TargetError(f"the reference stack in {self.stack_dir} is already running")
        environ = dict(self.environ)
        if self.swapped_services:
            from nautes_e2e.targets.local_services import LocalServices

            self._containers = LocalServices(
                self.swapped_services,
                world=self.work_dir.name,
                work_dir=self.work_dir,
                environ=self.environ,
                bringup=self.bringup,
            )
            self._containers.check()
            wiring = self._containers.start()
            self._stack_arguments = wiring.arguments
            environ |= wiring.environment
        self.stack_dir.mkdir(parents=True, exist_ok=True)
        # The stack's scratch files (work copies, task workspaces) live in the world's directory too, so
        # that removing it removes them, even after a stack killed before it could clean up.
        scratch = self.work_dir / "tmp"
        scratch.mkdir(exist_ok=True)
        environ["TMPDIR"] = str(scratch)
        ready = self.stack_dir / "ready"
        ready.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environ,
                start_new_session=True,
            )
        _STARTED.add(self._process)
        record_process(self.work_dir, self._process.pid)
        self._wait_until_ready(self._process, ready)
        credentials_path = self.stack_dir / "credentials.env"
        credentials = read_credentials(credentials_path) if credentials_path.exists() else {}
        return load_target_file(
            self.stack_dir / "target.yaml", {**self.environ, **credentials}, target_name=self.name
        )

    def stop(self) -> None:
        """The stack first (SIGTERM to its process group, SIGKILL on timeout, then whatever it started and
        left running), then the service containers it used; does nothing when nothing runs."""
        process, self._process = self._process, None
        try:
            if process is not None:
                started = processes.tree(process.pid)
                _signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout=self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    processes.kill(processes.tree(process.pid))
                    process.wait()
                processes.kill(started)
                _STARTED.discard(process)
        finally:
            containers, self._containers = self._containers, None
            if containers is not None:
                containers.stop()

    def stack_bugs(self) -> list[str]:
        """What the stack's log names as its own bugs, each without the line's timestamp, secrets masked."""
        try:
            text = (self.stack_dir / "logs" / "refstack.log").read_text(errors="replace")
        except OSError:
            return []
        return [redact(line.split(STACK_BUG_MARKER, 1)[1]) for line in stack_bug_lines(text)]

    def _wait_until_ready(self, process: subprocess.Popen[bytes], ready: Path) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while not ready.exists():
            try:
                # Waiting on the process doubles as the pause between checks: a crash ends it at once.
                code = process.wait(timeout=READY_POLL_S)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise TargetError(
                        f"the reference stack was not ready after {self.startup_timeout_s:g}s "
                        f"({' '.join(self.command)}); last lines of {self.log_path}:\n{self._log_tail()}"
                    ) from None
                continue
            tail = self._log_tail()
            if f"No module named {self.module}" in tail:  # what ``python -m`` says of a missing module
                raise TargetError(REFSTACK_INSTALL_HINT)
            raise TargetError(
                f"the reference stack exited with status {code} before it was ready "
                f"({' '.join(self.command)}); last lines of {self.log_path}:\n{tail}"
            )

    def _log_tail(self) -> str:
        credentials_path = self.stack_dir / "credentials.env"
        if credentials_path.exists():
            with contextlib.suppress(TargetError):
                read_credentials(credentials_path)  # registers whatever the stack already handed out
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            return "(no log)"
        return redact("\n".join(lines)) or "(empty log)"


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
