"""The ``local`` target's kept world: ``--keep-env`` leaves the reference stack running, ``--reuse-env NAME``
uses it again, ``nautes-e2e world prune --world NAME`` stops it.

A k3d or kind world outlives its run by itself (its containers run on); the reference stack is a child
process that stops with its run (``--exit-with-parent``). Kept, it is started without that flag and left
running when the run ends, and it gets a world state file like a k3d/kind world's
(:mod:`nautes_e2e.worlds.state`, provider ``local``, no Docker resources): named after the run's world
directory (``nautes-e2e-world-...``), naming the stack's ``target.yaml``, in which the stack's processes
are recorded (``.processes``). ``--reuse-env NAME`` reads that target file and its ``credentials.env``
once it has checked the stack still runs; whatever the stack holds (the Nautes API's repositories, the
clusters' objects, OpenBao's secrets) is in its memory, which is why the process itself must be kept.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from nautes_e2e.targets import processes
from nautes_e2e.targets.bringup import UNREPORTED, BringUp
from nautes_e2e.targets.local import _STARTED, LocalTarget, read_credentials
from nautes_e2e.targets.target_file import load_target_file
from nautes_e2e.targets.workdir import PROCESSES_FILE
from nautes_e2e.targets.world import World
from nautes_e2e.worlds.state import StateError, StateFile, WorldState, known_worlds

#: The provider a kept reference stack's state file names.
LOCAL_PROVIDER = "local"
#: The flag that makes the stack stop with its parent: a kept stack is started without it.
EXIT_WITH_PARENT = "--exit-with-parent"
KEEP_STEP = "keep"
REUSE_STEP = "reuse"


class KeptLocalTarget(LocalTarget):
    """The ``local`` target under ``--keep-env`` (the stack outlives the run) or ``--reuse-env NAME`` (a
    stack an earlier run kept)."""

    def __init__(
        self,
        work_dir: Path,
        *,
        state_root: Path,
        keep_env: bool = False,
        reuse_env: str | None = None,
        environ: Mapping[str, str] | None = None,
        services: Mapping[str, str] | None = None,
        bringup: BringUp = UNREPORTED,
    ) -> None:
        super().__init__(work_dir, environ=environ, services=services, bringup=bringup)
        self.state_root = state_root
        self.keep_env = keep_env
        self.reuse_env = reuse_env
        #: Whether the stack this run started became ready: one that did not is stopped, never kept.
        self._ready = False

    @property
    def command(self) -> list[str]:
        command = super().command
        return [part for part in command if part != EXIT_WITH_PARENT] if self.keep_env else command

    def _start(self) -> World:
        if self.reuse_env is None:
            world = super()._start()
            self._ready = True
            return world
        with self.bringup.step(REUSE_STEP) as step:
            target_file = kept_target_file(self.state_root, self.reuse_env)
            step.fact("world", self.reuse_env)
            step.fact("target_file", str(target_file))
        self.kept_state = self.state_root / self.reuse_env
        credentials = read_credentials(target_file.parent / "credentials.env")
        return load_target_file(target_file, {**self.environ, **credentials}, target_name=self.name)

    def stop(self) -> None:
        """Under ``--keep-env`` a stack that became ready and runs is left running and recorded as a kept
        world (so are its service containers); otherwise it stops as the local target's does. A reused
        stack is never stopped here: ``world prune`` stops it."""
        process = self._process
        if not self.keep_env or not self._ready or process is None or process.poll() is not None:
            super().stop()
            return
        self._process, self._containers = None, None
        _STARTED.discard(process)
        name = self.work_dir.name
        state = StateFile(self.state_root, name)
        state.create(LOCAL_PROVIDER)
        state.update(kept=True, target_file=self.stack_dir / "target.yaml")
        self.kept_state = state.directory
        with self.bringup.step(KEEP_STEP) as step:
            step.fact("world", name)
            step.note(
                f"the reference stack {name} keeps running ({state.path}): reuse it with --target local "
                f"--reuse-env {name}; stop it with 'nautes-e2e world prune --world {name}'"
            )


def kept_target_file(root: Path, name: str) -> Path:
    """The target file of the kept stack ``name``, once it is known to be all there: kept, local, its
    target file present, its stack running. A :class:`~nautes_e2e.targets.cluster.ReuseError` (a
    configuration error: exit 4) names what is missing."""
    from nautes_e2e.targets.cluster import ReuseError  # the k3d/kind module loads Docker's clients

    try:
        state = StateFile(root, name).load()
    except StateError as error:
        raise ReuseError(f"--reuse-env {name}: {error}") from None
    problems = missing_pieces(state)
    if problems or state.target_file is None:
        raise ReuseError(
            f"--reuse-env {name}: the kept reference stack is not all there ({'; '.join(problems)}); remove "
            f"it with 'nautes-e2e world prune --world {name}'"
        )
    return Path(state.target_file)


def missing_pieces(state: WorldState) -> list[str]:
    """What keeps ``state`` from being reused as a kept reference stack."""
    if state.provider != LOCAL_PROVIDER:
        return [f"it is a {state.provider} world, not a reference stack (use --target {state.provider})"]
    problems = []
    if not state.kept:
        problems.append("it was not kept with --keep-env")
    target_file = Path(state.target_file) if state.target_file else None
    if target_file is None or not target_file.is_file():
        return [*problems, "its target file is missing"]
    if not (target_file.parent / "ready").is_file():
        problems.append("its stack never said it was ready")
    if not any(started.alive() for started in _stack_processes(target_file)):
        problems.append("its stack no longer runs")
    return problems


def _stack_processes(target_file: Path) -> list[processes.Process]:
    """The processes recorded in the world directory that holds the stack's directory (``.processes``)."""
    try:
        lines = (target_file.parent.parent / PROCESSES_FILE).read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        pid, _, start = line.strip().partition(" ")
        if pid.isdigit():
            found.append(processes.Process(int(pid), start))
    return found


def release_kept_stacks(root: Path, world: str | None = None, *, dry_run: bool = False) -> list[str]:
    """Stop every kept reference stack (or only ``world``) with all it started, and remove its world
    directory and state; one line per stack said. Docker-backed worlds are left to
    :func:`nautes_e2e.worlds.prune.prune`."""
    said = []
    for state in known_worlds(root):
        if state.provider != LOCAL_PROVIDER or (world is not None and state.name != world):
            continue
        if dry_run:
            said.append(f"would stop the kept reference stack {state.name}")
            continue
        if state.target_file is not None:
            target_file = Path(state.target_file)
            for started in _stack_processes(target_file):
                if started.alive():
                    processes.kill(processes.tree(started.pid))
            shutil.rmtree(target_file.parent.parent, ignore_errors=True)
        shutil.rmtree(root / state.name, ignore_errors=True)
        said.append(f"stopped the kept reference stack {state.name}")
    return said
