"""Running the world's CLIs (k3d, kind, kubectl, docker): argv lists, never a shell, each timed and logged.

A world is brought up by a few dozen commands; which ones, in which order, is the thing worth testing, so
everything goes through a :class:`CommandRunner` and tests substitute one that records. The real one,
:class:`SubprocessRunner`, keeps a log of every command with its duration and output (secrets masked),
and can be cancelled: an interrupted bring-up kills the ``k3d cluster create`` still running in another
thread before the teardown starts.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nautes_e2e.secrets import redact

#: How much of a failed command's output an error message quotes (the log keeps it all).
ERROR_TAIL_CHARS = 2000


@dataclass(frozen=True)
class Command:
    """One command: its argv, the environment variables it needs on top of the process's, and whether its
    standard output is a secret (a kubeconfig) that no log may hold."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    secret_output: bool = False

    def __str__(self) -> str:
        prefix = "".join(f"{name}={value} " for name, value in sorted(self.env.items()))
        return prefix + " ".join(self.argv)


@dataclass(frozen=True)
class CommandResult:
    command: Command
    returncode: int
    stdout: str
    stderr: str
    seconds: float


class CommandError(RuntimeError):
    """A command exited non-zero (or could not start); the text names it and quotes its output, masked."""

    def __init__(self, result: CommandResult) -> None:
        output = result.stderr.strip() or ("" if result.command.secret_output else result.stdout.strip())
        tail = redact(output[-ERROR_TAIL_CHARS:]) or "(no output)"
        super().__init__(
            f"`{redact(str(result.command))}` exited with status {result.returncode} "
            f"after {result.seconds:.1f}s:\n{tail}"
        )
        self.result = result


class CommandRunner(Protocol):
    """Runs one command to completion; raises :class:`CommandError` when it fails and ``check`` is set."""

    def run(
        self, command: Command, *, check: bool = True, timeout_s: float | None = None
    ) -> CommandResult: ...


class CancellableRunner(CommandRunner, Protocol):
    """A runner whose running commands can be killed at once (the bring-up is being torn down)."""

    def cancel(self) -> None: ...


class CommandCancelled(RuntimeError):
    """The runner was cancelled (the bring-up is being torn down) before or while the command ran."""


class SubprocessRunner:
    """Runs commands as child processes, appends each to ``log`` (masked), kills them on :meth:`cancel`."""

    def __init__(self, log: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.log = log
        self.environ = dict(os.environ if environ is None else environ)
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()
        self._cancelled = False

    def run(self, command: Command, *, check: bool = True, timeout_s: float | None = None) -> CommandResult:
        started = time.monotonic()
        with self._lock:
            if self._cancelled:
                raise CommandCancelled(f"not started, the bring-up is torn down: {redact(str(command))}")
            try:
                process = subprocess.Popen(
                    list(command.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**self.environ, **command.env},
                    start_new_session=True,
                )
            except OSError as error:
                problem = f"cannot run {command.argv[0]}: {error.strerror}"
                result = CommandResult(command, 127, "", problem, 0.0)
                self._write_log(result)
                raise CommandError(result) from None
            self._running.add(process)
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            stderr += f"\n(killed after {timeout_s:g}s)"
        finally:
            with self._lock:
                self._running.discard(process)
        result = CommandResult(command, process.returncode, stdout, stderr, time.monotonic() - started)
        self._write_log(result)
        if self._cancelled:
            raise CommandCancelled(f"cancelled while running: {redact(str(command))}")
        if check and result.returncode != 0:
            raise CommandError(result)
        return result

    def cancel(self) -> None:
        """Kill every running command and refuse new ones (the teardown uses a fresh runner)."""
        with self._lock:
            self._cancelled = True
            running = list(self._running)
        for process in running:
            if process.poll() is None:
                process.kill()

    def _write_log(self, result: CommandResult) -> None:
        if self.log is None:
            return
        stdout = "(secret output, not logged)" if result.command.secret_output else result.stdout
        entry = (
            f"$ {result.command}\n# exit {result.returncode} after {result.seconds:.2f}s\n"
            f"{stdout}{result.stderr}\n"
        )
        with self._lock:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("a") as log:
                log.write(redact(entry))


def command(*argv: str, env: Mapping[str, str] | None = None, secret_output: bool = False) -> Command:
    """``command("k3d", "cluster", "list")``: the usual way to spell one."""
    return Command(tuple(argv), dict(env or {}), secret_output)
