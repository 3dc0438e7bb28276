"""The local target's kept world (:mod:`nautes_e2e.targets.kept_stack`) without a stack: what ``--reuse-env``
checks before it trusts a kept stack (exit 4 naming what is missing), the command a kept stack starts with,
and ``world prune`` stopping a kept stack's processes and removing its directories."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nautes_e2e.targets.cluster import ReuseError
from nautes_e2e.targets.kept_stack import (
    EXIT_WITH_PARENT,
    LOCAL_PROVIDER,
    KeptLocalTarget,
    kept_target_file,
    release_kept_stacks,
)
from nautes_e2e.targets.processes import process
from nautes_e2e.targets.target_file import TargetError
from nautes_e2e.targets.workdir import PROCESSES_FILE
from nautes_e2e.worlds.state import StateFile

NAME = "nautes-e2e-world-kept"


def kept_stack(
    tmp_path: Path, pid: int | None, *, provider: str = LOCAL_PROVIDER, ready: bool = True
) -> Path:
    """A kept stack's world directory and state, its stack recorded as ``pid``; returns the state root."""
    stack = tmp_path / "tmp" / NAME / "stack"
    stack.mkdir(parents=True)
    (stack / "target.yaml").write_text("schema: 1\n")
    if ready:
        (stack / "ready").write_text("")
    if pid is not None:
        started = process(pid)
        (stack.parent / PROCESSES_FILE).write_text(f"{started.pid} {started.start}\n")
    root = tmp_path / "state"
    state = StateFile(root, NAME)
    state.create(provider)
    state.update(kept=True, target_file=stack / "target.yaml")
    return root


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(["sleep", "60"])
    yield child
    child.kill()
    child.wait()


def test_a_kept_stack_that_runs_is_reused_by_its_target_file(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    root = kept_stack(tmp_path, sleeper.pid)

    assert kept_target_file(root, NAME) == tmp_path / "tmp" / NAME / "stack" / "target.yaml"


@pytest.mark.parametrize(
    ("running", "provider", "ready", "problem"),
    [
        (False, LOCAL_PROVIDER, True, "its stack no longer runs"),
        (True, LOCAL_PROVIDER, False, "its stack never said it was ready"),
        (True, "k3d", True, "it is a k3d world, not a reference stack (use --target k3d)"),
    ],
)
def test_a_kept_stack_that_is_not_all_there_is_refused_naming_what_is_missing(
    tmp_path: Path,
    sleeper: subprocess.Popen[bytes],
    running: bool,
    provider: str,
    ready: bool,
    problem: str,
) -> None:
    root = kept_stack(tmp_path, sleeper.pid if running else None, provider=provider, ready=ready)

    with pytest.raises(ReuseError) as refused:
        kept_target_file(root, NAME)

    message = str(refused.value)
    assert message.startswith(f"--reuse-env {NAME}: the kept reference stack is not all there (")
    assert problem in message
    assert message.endswith(f"remove it with 'nautes-e2e world prune --world {NAME}'")


def test_an_unknown_world_is_refused_naming_its_state_file(tmp_path: Path) -> None:
    with pytest.raises(
        ReuseError, match=r"--reuse-env gone: .*gone/state\.json: cannot read the world's state"
    ):
        kept_target_file(tmp_path, "gone")


def test_a_kept_stack_is_started_without_exiting_with_its_parent(tmp_path: Path) -> None:
    kept = KeptLocalTarget(tmp_path / "w", state_root=tmp_path / "state", keep_env=True)
    plain = KeptLocalTarget(tmp_path / "w", state_root=tmp_path / "state", reuse_env=NAME)

    assert EXIT_WITH_PARENT not in kept.command
    assert EXIT_WITH_PARENT in plain.command


def test_prune_stops_a_kept_stack_and_removes_its_directories(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    root = kept_stack(tmp_path, sleeper.pid)

    assert release_kept_stacks(root, dry_run=True) == [f"would stop the kept reference stack {NAME}"]
    assert sleeper.poll() is None
    assert release_kept_stacks(root, "another-world") == []
    assert release_kept_stacks(root, NAME) == [f"stopped the kept reference stack {NAME}"]

    assert sleeper.wait(timeout=10) != 0
    assert not (tmp_path / "tmp" / NAME).exists()
    assert not (root / NAME).exists()


def test_a_stack_that_never_became_ready_is_stopped_not_kept(tmp_path: Path) -> None:
    (tmp_path / "never_ready.py").write_text("import time\ntime.sleep(60)\n")
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    target = KeptLocalTarget(
        work_dir, state_root=tmp_path / "state", keep_env=True, environ={"PYTHONPATH": str(tmp_path)}
    )
    target.module, target.startup_timeout_s = "never_ready", 0.5

    with pytest.raises(TargetError, match=r"was not ready after 0\.5s"):
        target.start()

    assert target.kept_state is None
    assert not (tmp_path / "state").exists()
    started = (work_dir / PROCESSES_FILE).read_text().split()
    assert not process(int(started[0])).alive(), "the stack that never became ready still runs"
