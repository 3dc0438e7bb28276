"""What a run leaves on the machine when it cannot clean up after itself: world directories of killed runs
are swept by the next run, and a stopped stack takes every process it started with it.

The processes here are real (``sleep``, a fake stack in Python); the directories live under ``tmp_path``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from nautes_e2e.report.exit_codes import ExitCode
from nautes_e2e.targets import LocalTarget, processes
from nautes_e2e.targets.local import kill_started_stacks
from nautes_e2e.targets.workdir import (
    OWNER_FILE,
    disown,
    holds_files,
    make_work_dir,
    record_process,
    sweep_orphaned,
)

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="process trees are read from /proc")


def dead_process() -> processes.Process:
    """A process that ran and is gone (its pid may be handed out again)."""
    child = subprocess.Popen(["sleep", "0"])
    gone = processes.process(child.pid)
    child.wait()
    return gone


def wait_gone(process: processes.Process, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while process.alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; whatever is left of them is killed afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def test_a_world_directory_names_its_owner_and_is_private(tmp_path: Path) -> None:
    work_dir = make_work_dir(tmp_path)

    assert work_dir.name.startswith("nautes-e2e-world-")
    assert work_dir.stat().st_mode & 0o777 == 0o700
    pid, start = (work_dir / OWNER_FILE).read_text().split()
    assert processes.Process(int(pid), start) == processes.process(os.getpid())
    assert not holds_files(work_dir), "the owner stamp is not the world's"


def test_the_sweep_removes_what_killed_runs_left_and_nothing_else(tmp_path: Path) -> None:
    orphaned = make_work_dir(tmp_path)
    gone = dead_process()
    (orphaned / OWNER_FILE).write_text(f"{gone.pid} {gone.start}\n")
    (orphaned / "stack").mkdir()
    (orphaned / "stack" / "credentials.env").write_text("NAUTES_E2E_GITLAB_TOKEN=x\n")
    live = make_work_dir(tmp_path)
    kept = make_work_dir(tmp_path)
    disown(kept)
    foreign = tmp_path / "nautes-e2e-world-foreign"  # not stamped: not made by this harness
    foreign.mkdir()
    unrelated = tmp_path / "something-else"
    unrelated.mkdir()

    assert sweep_orphaned(tmp_path, dry_run=True) == [orphaned]
    assert orphaned.exists(), "a dry run removes nothing"
    assert sweep_orphaned(tmp_path) == [orphaned]

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [live.name, kept.name, foreign.name, unrelated.name]
    )


def test_a_pid_handed_to_another_process_does_not_keep_a_directory(tmp_path: Path) -> None:
    """The owner is known by its pid *and* its start time: a new process with the same pid is not it."""
    reused = make_work_dir(tmp_path)
    me = processes.process(os.getpid())
    (reused / OWNER_FILE).write_text(f"{me.pid} {int(me.start) - 1}\n")

    assert sweep_orphaned(tmp_path) == [reused]


def test_the_sweep_kills_what_still_runs_in_an_orphaned_directory(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    orphaned = make_work_dir(tmp_path)
    gone = dead_process()
    (orphaned / OWNER_FILE).write_text(f"{gone.pid} {gone.start}\n")
    stack = subprocess.Popen(["sleep", "60"], cwd=orphaned, start_new_session=True)
    spawned.append(stack)
    record_process(orphaned, stack.pid)
    child = processes.process(stack.pid)

    sweep_orphaned(tmp_path)

    assert stack.wait(timeout=10) == -signal.SIGKILL
    assert not child.alive()
    assert not orphaned.exists()


FAKE_STACK = textwrap.dedent(
    """
    import pathlib, subprocess, sys, time
    stack = pathlib.Path(sys.argv[sys.argv.index("--dir") + 1])
    # A task step in a session of its own, as the stack runs them: outside the stack's process group.
    step = subprocess.Popen(["sleep", "60"], start_new_session=True)
    (stack / "step.pid").write_text(str(step.pid))
    (stack / "credentials.env").write_text("")
    (stack / "k.yaml").write_text("apiVersion: v1\\nkind: Config\\n")
    (stack / "target.yaml").write_text(
        "schema: 1\\nsimulated: true\\nnautes: {url: 'http://127.0.0.1:1'}\\n"
        "gitlab: {url: 'http://127.0.0.1:2', sshUrl: 'ssh://git@127.0.0.1:3', tokenEnv: T}\\n"
        "vault: {url: 'http://127.0.0.1:4', tokenEnv: T}\\n"
        "registry: {url: '127.0.0.1:5', scheme: http}\\n"
        "clusters: [{name: runtime, kubeconfig: k.yaml, apiServer: 'https://127.0.0.1:6', ip: 127.0.0.1}]\\n"
    )
    (stack / "ready").write_text("")
    while True:
        time.sleep(0.1)
    """
)


def fake_stack_target(tmp_path: Path) -> LocalTarget:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "fake_stack_with_steps.py").write_text(FAKE_STACK)
    environ = {**os.environ, "PYTHONPATH": str(modules), "T": "token"}
    return LocalTarget(tmp_path / "work", environ=environ, module="fake_stack_with_steps")


def test_stopping_the_stack_stops_what_it_started_outside_its_process_group(tmp_path: Path) -> None:
    target = fake_stack_target(tmp_path)
    target.start()
    step = processes.process(int((target.stack_dir / "step.pid").read_text()))
    assert step.alive()

    target.stop()

    try:
        assert wait_gone(step)
    finally:
        processes.kill([step])


def test_a_run_told_twice_to_stop_kills_its_stacks_and_all_they_started(tmp_path: Path) -> None:
    target = fake_stack_target(tmp_path)
    target.start()
    step = processes.process(int((target.stack_dir / "step.pid").read_text()))
    assert target._process is not None
    stack = processes.process(target._process.pid)

    kill_started_stacks()

    try:
        assert target._process.wait(timeout=10) == -signal.SIGKILL
        assert wait_gone(stack)
        assert wait_gone(step)
    finally:
        target.stop()


def test_the_process_tree_lists_children_after_their_parents(spawned: list[subprocess.Popen[bytes]]) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"],
        start_new_session=True,
    )
    spawned.append(parent)
    deadline = time.monotonic() + 10
    while len(tree := processes.tree(parent.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert tree[0].pid == parent.pid
    assert len(tree) == 2
    processes.kill(tree)
    assert all(wait_gone(entry) for entry in tree)


def test_world_prune_sweeps_what_killed_runs_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nautes_e2e.cli import main

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def no_docker() -> None:  # pruning Docker here would take other tests' labelled containers along
        raise docker.errors.DockerException("not in this test")

    monkeypatch.setattr("nautes_e2e.cli.docker_client", no_docker)
    monkeypatch.setenv("NAUTES_E2E_STATE_DIR", str(tmp_path / "state"))
    orphaned = make_work_dir(tmp_path)
    gone = dead_process()
    (orphaned / OWNER_FILE).write_text(f"{gone.pid} {gone.start}\n")

    assert main(["world", "prune", "--dry-run"]) == ExitCode.CONFIGURATION_ERROR  # Docker does not answer
    assert orphaned.exists(), "a dry run removes nothing"
    assert main(["world", "prune"]) == ExitCode.CONFIGURATION_ERROR

    assert not orphaned.exists()
    out = capsys.readouterr().out
    assert f"would remove {orphaned} (its run was killed)" in out
    assert f"removed {orphaned} (its run was killed)" in out
