"""The seam between the executor and ClusterTask implementations.

An implementation is ``async def run(ctx: TaskContext) -> TaskOutcome`` registered under the ClusterTask's
name with :func:`register_cluster_task`. It runs the task's steps in order through ``async with
ctx.step(name)``: each step has its own container log (``step-<name>``, what ``kubectl logs`` shows) and its
own terminated state in the TaskRun status, and under the ``real`` pace it runs for the step's real
duration (:mod:`.durations`) before its body does the work. (A plain ``with ctx.step(name)`` records the
same states but cannot wait: such a step takes no time at any pace.) A step fails by raising
:class:`StepFailed` with the exit code the real container would have had; the TaskRun then fails the way
Tekton reports a failed step.

Implementations run on the host, so the pod's filesystem is a private directory: ``ctx.pod_path("/x")``
is where the pod's ``/x`` lives (the vault agent's ``/root/.ssh`` is ``ctx.pod_path("/root/.ssh")``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from nautes_refstack.children import die_with_stack
from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.kube import ObjectStore
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.tekton.durations import step_seconds
from nautes_refstack.tekton.objects import now
from nautes_refstack.tekton.variables import ParamValue

_URL_PASSWORD = re.compile(r"(://[^/@\s:]*):[^/@\s]+@")
_LINE_LIMIT = 1 << 20  # git and shell scripts may print long lines; asyncio's default is 64 KiB
# A path ends here: not followed by more of the same file name ("/claims/pvc-1" is no prefix of ".../pvc-10").
_WHOLE_NAME = r"(?![\w.-])"
_HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def redact_credentials(text: str) -> str:
    """Hide the password/token part of ``scheme://user:secret@host`` URLs in log text."""
    return _URL_PASSWORD.sub(r"\1:***@", text)


class StepFailed(Exception):
    """A step ended with a non-zero exit code; ``reason`` is what its tool prints last, logged to the step's
    container log, unless ``printed`` says the failed command's own output already was (Tekton's
    entrypoint adds nothing to a step's log: the exit code goes to the termination message only,
    cmd/entrypoint/main.go)."""

    def __init__(self, exit_code: int, reason: str, *, printed: bool = False) -> None:
        super().__init__(reason)
        self.exit_code = exit_code
        self.reason = reason
        self.printed = printed


@dataclass
class TaskOutcome:
    """What a successful task produced: its results and, optionally, a message for its Succeeded condition."""

    results: dict[str, str] = field(default_factory=dict)
    message: str | None = None


@dataclass
class StepState:
    """One step container's lifecycle, reported in ``status.steps`` of the TaskRun."""

    name: str
    image: str
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None

    @property
    def container(self) -> str:
        return f"step-{self.name}"

    def to_status(self) -> dict[str, Any]:
        state: dict[str, Any] = {"name": self.name, "container": self.container, "imageID": self.image}
        if self.exit_code is not None:
            state["terminated"] = {
                "exitCode": self.exit_code,
                "reason": "Completed" if self.exit_code == 0 else "Error",
                "startedAt": self.started_at or self.finished_at,
                "finishedAt": self.finished_at,
            }
        elif self.started_at is not None:
            state["running"] = {"startedAt": self.started_at}
        else:
            state["waiting"] = {"reason": "PodInitializing"}
        return state


@dataclass
class CommandResult:
    exit_code: int
    output: str


class Step:
    """A running step: write to its container log and run host commands whose output goes there too."""

    def __init__(self, context: TaskContext, state: StepState) -> None:
        self._context = context
        self.state = state

    def log(self, text: str) -> None:
        """Append ``text`` (a newline is added) to this step's log, with URL credentials hidden and host
        paths shown as the pod sees them (``/workspace/<name>/...``, ``/root/...``)."""
        self._context.store.append_pod_log(
            self._context.namespace,
            self._context.pod,
            self.state.container,
            self._context.as_pod_sees(redact_credentials(text)) + "\n",
        )

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        echo: bool = True,
        check: bool = True,
        dies_with_stack: bool = True,
    ) -> CommandResult:
        """Run ``argv`` with a clean environment (HOME = the task's home), streaming output to the log.

        ``echo`` prints the command first, like ``set -x``; ``check`` turns a non-zero exit into
        :class:`StepFailed` with the same exit code. ``dies_with_stack=False`` is for a short command that
        ends by itself once the stack is gone (git on the workspace, or talking to the stack's GitLab): the
        death signal a user's script needs makes the spawn fork the whole stack, ~4.5 ms of CPU instead of
        ~0.2 ms (:mod:`nautes_refstack.children`).
        """
        if echo:
            self.log("+ " + shlex.join(argv))
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd),
            env=self._context.command_environment(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            limit=_LINE_LIMIT,
            preexec_fn=die_with_stack() if dies_with_stack else None,
        )
        assert process.stdout is not None, "stdout was requested as a pipe"
        output: list[str] = []
        try:
            async for raw_line in process.stdout:
                line = raw_line.decode(errors="replace").rstrip("\n")
                output.append(line)
                self.log(line)
            exit_code = await process.wait()
        except asyncio.CancelledError:
            _kill_process_group(process)
            await process.wait()
            raise
        if check and exit_code != 0:
            raise StepFailed(exit_code, f"{shlex.join(argv[:2])} exited with code {exit_code}", printed=True)
        return CommandResult(exit_code, "\n".join(output))


def _kill_process_group(process: asyncio.subprocess.Process) -> None:
    """A cancelled step takes its whole command tree with it (``bash -c`` starts children)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class TaskContext:
    """Everything one TaskRun's implementation may use."""

    store: ObjectStore
    namespace: str
    task_run: str
    pod: str
    pipeline_task: str
    cluster_task: str
    service_account: str
    params: Mapping[str, ParamValue]
    workspaces: Mapping[str, Path]
    pod_root: Path
    steps: Mapping[str, StepState]
    on_step_change: Callable[[], None] = field(default=lambda: None)
    #: The stack's faults; a task implementation holding a fault hook asks ``ctx.faults.active(name)``.
    faults: Faults = NO_FAULTS
    #: The stack's pace: under ``real`` each ``async with ctx.step(...)`` lasts its step's real duration.
    pace: Pace = INSTANT

    def param(self, name: str) -> str:
        value = self.params[name]
        if not isinstance(value, str):
            raise TypeError(f"param {name} of ClusterTask {self.cluster_task} is an array, not a string")
        return value

    def array_param(self, name: str) -> list[str]:
        value = self.params[name]
        if not isinstance(value, list):
            raise TypeError(f"param {name} of ClusterTask {self.cluster_task} is a string, not an array")
        return value

    def workspace(self, name: str) -> Path | None:
        """The directory bound to workspace ``name``, or None when an optional workspace is not bound."""
        return self.workspaces.get(name)

    def required_workspace(self, name: str) -> Path:
        path = self.workspaces.get(name)
        if path is None:
            raise RuntimeError(f"required workspace {name} is not bound (validation should have caught it)")
        return path

    def pod_path(self, path: str) -> Path:
        """Where the pod's absolute ``path`` lives on the host (inside this TaskRun's private root)."""
        return self.pod_root / path.lstrip("/")

    def as_pod_sees(self, text: str) -> str:
        """``text`` with the host directories behind the workspaces and the pod's filesystem replaced by
        the paths the pod has for them: a real step log never shows where the emulation keeps them."""
        mounts = {str(path): f"/workspace/{name}" for name, path in self.workspaces.items()}
        for host in sorted(mounts, key=len, reverse=True):
            text = re.sub(re.escape(host) + _WHOLE_NAME, mounts[host], text)  # workspace names: [a-z0-9-]
        return re.sub(re.escape(str(self.pod_root)) + r"(?:/|" + _WHOLE_NAME + ")", "/", text)

    @property
    def root_home(self) -> Path:
        """The home directory of root (uid 0) in the pod: where ssh looks for keys."""
        return self.pod_path("/root")

    def command_environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A minimal environment: no host variables leak into task commands (they may hold tokens)."""
        environment = {
            "PATH": os.environ.get("PATH", _HOST_PATH),
            "HOME": str(self.root_home),
            "LANG": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }
        environment.update(extra or {})
        return environment

    def step(self, name: str) -> StepScope:
        """Run step ``name`` of the ClusterTask: records its start, end and exit code."""
        state = self.steps.get(name)
        if state is None:
            raise RuntimeError(f"ClusterTask {self.cluster_task} has no step named {name}")
        return StepScope(self, state)


class StepScope:
    """One step from its start to its end: ``async with`` lets the step's real duration pass after it
    starts (under the ``real`` pace); ``with`` only records the start and end."""

    def __init__(self, context: TaskContext, state: StepState) -> None:
        self._context = context
        self._state = state

    def __enter__(self) -> Step:
        self._state.started_at = now()
        self._context.on_step_change()
        return Step(self._context, self._state)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if isinstance(error, StepFailed):
            if not error.printed:
                Step(self._context, self._state).log(error.reason)
            self._state.exit_code, self._state.finished_at = error.exit_code, now()
            self._context.on_step_change()
        elif error is None:
            self._state.exit_code, self._state.finished_at = 0, now()
            self._context.on_step_change()

    async def __aenter__(self) -> Step:
        step = self.__enter__()
        await self._context.pace.wait(step_seconds(self._context.cluster_task, self._state.name))
        return step

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.__exit__(kind, error, trace)


ClusterTaskImplementation = Callable[[TaskContext], Awaitable[TaskOutcome]]
_IMPLEMENTATIONS: dict[str, ClusterTaskImplementation] = {}


def register_cluster_task(name: str, implementation: ClusterTaskImplementation) -> None:
    """Make ClusterTask ``name`` executable (a later registration replaces an earlier one)."""
    _IMPLEMENTATIONS[name] = implementation


def cluster_task_implementation(name: str) -> ClusterTaskImplementation | None:
    return _IMPLEMENTATIONS.get(name)
