"""The directory a stack runs in: one stack each, private, tidied when the stack stops, and nothing of the
stack outlives it — not even when it is killed outright.

The lock itself is tested in this process (``WorldDirectory.claim``); the command line's behaviour with a
real stack in a subprocess: a second ``up`` into a running stack's directory, modes, what stays after a
stop, a stack killed with SIGKILL (its OpenBao and git children go too).
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nautes_refstack import vault as vault_module
from nautes_refstack.world_dir import LOCK_FILE, NAUTES_API_DIR, WorldDirectory, WorldInUse
from support.processes import alive, child_processes, processes_mentioning

STARTUP_S = 30.0


def test_a_claimed_directory_refuses_a_second_claim_naming_the_holder(tmp_path: Path) -> None:
    directory = tmp_path / "world"
    with WorldDirectory.claim(directory) as first:
        assert first.created
        with pytest.raises(WorldInUse) as caught:
            WorldDirectory.claim(directory)
        assert str(caught.value) == (
            f"{directory} is in use by the reference stack with pid {os.getpid()} (stop it, or choose "
            "another --dir)"
        )
        assert (directory / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    assert sorted(path.name for path in directory.iterdir()) == ["logs"]
    with WorldDirectory.claim(directory):  # free again once released
        pass


def test_a_lock_file_left_by_a_dead_stack_does_not_block(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text("999999999\n")  # nobody holds its lock
    with WorldDirectory.claim(tmp_path) as world:
        assert not world.created
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"


def test_release_keeps_a_given_directory_and_the_logs_and_removes_what_the_stack_wrote(
    tmp_path: Path,
) -> None:
    (tmp_path / "mine.txt").write_text("the user's own file")
    with WorldDirectory.claim(tmp_path) as world:
        for name in ("target.yaml", "credentials.env", "ready", "registry-ca.pem", "kubeconfig-runtime.yaml"):
            (tmp_path / name).write_text("x")
        (tmp_path / "gitlab" / "repositories").mkdir(parents=True)
        (world.logs / "refstack.log").write_text("log")
        world.orphaned = True  # orphaned, but the directory was the user's: it stays
    assert sorted(path.name for path in tmp_path.iterdir()) == ["logs", "mine.txt"]
    assert (tmp_path / "logs" / "refstack.log").read_text() == "log"


def test_an_orphaned_stack_removes_the_directory_it_created(tmp_path: Path) -> None:
    directory = tmp_path / "world"
    with WorldDirectory.claim(directory) as world:
        (world.logs / "refstack.log").write_text("log")
        world.orphaned = True
    assert not directory.exists()


def _start(directory: Path, *extra: str) -> subprocess.Popen[bytes]:
    stack = subprocess.Popen(
        [sys.executable, "-m", "nautes_refstack", "up", "--dir", str(directory), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTUP_S
    while not (directory / "ready").exists():
        assert stack.poll() is None, stack.communicate()
        assert time.monotonic() < deadline, f"the stack was not ready within {STARTUP_S:g} s"
        time.sleep(0.05)
    return stack


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    directory = tmp_path / "world"
    stack = _start(directory)
    try:
        yield directory, stack
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()


def _snapshot(directory: Path) -> dict[str, tuple[int, float]]:
    """Every path below ``directory`` with its size and modification time (logs excepted: they grow)."""
    return {
        str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime)
        for path in sorted(directory.rglob("*"))
        if "logs" not in path.relative_to(directory).parts
    }


def test_a_second_up_into_a_running_stacks_directory_refuses_and_touches_nothing(
    running: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    directory, stack = running
    before = _snapshot(directory)
    second = subprocess.run(
        [sys.executable, "-m", "nautes_refstack", "up", "--dir", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2
    assert second.stderr == (
        f"reference stack not started: {directory} is in use by the reference stack with pid {stack.pid} "
        "(stop it, or choose another --dir)\n"
    )
    assert _snapshot(directory) == before
    assert (directory / "ready").read_text() == f"{stack.pid}\n"
    assert stack.poll() is None


def test_the_directory_it_creates_and_every_file_in_it_are_private(
    running: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    directory, _ = running
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.rglob("*"):
        if path.is_symlink():
            continue
        expected = 0o700 if path.is_dir() else 0o600
        # git keeps pack files and objects read-only (0400/0444 & ~077): never readable by others either
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is {oct(path.stat().st_mode)}"
        if path.name in ("credentials.env", "kubeconfig-runtime.yaml", "target.yaml", "stack.lock"):
            assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_the_nautes_api_clones_inside_the_directory_not_in_the_system_tmp(
    running: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    """A stack killed outright runs no clean-up: what its Nautes API server cloned must be in DIR, where
    the world's removal finds it (before, 259 ``nautes-api-tmp-*`` folders of stacks that never stopped
    piled up in the system's /tmp)."""
    directory, _ = running
    (own,) = (directory / NAUTES_API_DIR).iterdir()
    assert own.is_dir()
    assert own.name.startswith("nautes-api-tmp-")


def test_a_stack_killed_outright_takes_its_children_with_it(
    running: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    """SIGKILL runs no code in the stack: its OpenBao (and any git) must end through the kernel."""
    _, stack = running
    children = child_processes(stack.pid)
    assert any("bao server" in command for command in children.values())
    stack.send_signal(signal.SIGKILL)  # the stack alone: its children are in its process group
    stack.wait()
    deadline = time.monotonic() + 10
    while [pid for pid in children if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in children if alive(pid)]


def test_the_openbao_banners_credentials_are_masked_as_the_real_binary_prints_them(tmp_path: Path) -> None:
    """The real ``bao server -dev`` output (every line it prints while starting and stopping), through the
    stack's masking: the unseal key and the root token are gone, in every form the banner prints them."""
    token = "dev-banner-test-token"
    port = vault_module.free_port()
    process = subprocess.Popen(
        [str(vault_module.bao_binary()), "server", "-dev", "-dev-no-store-token",
         f"-dev-listen-address=127.0.0.1:{port}"],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "BAO_DEV_ROOT_TOKEN_ID": token},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    raw = b""
    deadline = time.monotonic() + STARTUP_S
    while b"Root Token:" not in raw and time.monotonic() < deadline:
        raw += process.stdout.readline()
    process.terminate()
    raw += process.communicate(timeout=20)[0]
    unseal_key = re.search(rb"Unseal Key: (\S+)", raw)
    assert unseal_key is not None, raw.decode(errors="replace")[-2000:]
    masked = vault_module._mask(raw, token.encode())
    assert unseal_key.group(1) not in masked
    assert token.encode() not in masked
    assert b"Unseal Key: ***" in masked
    assert b"Root Token: ***" in masked
    assert masked.replace(b"***", b"") == re.sub(rb"(Unseal Key|Root Token): \S+", rb"\1: ", raw).replace(
        token.encode(), b""
    )  # nothing else was touched


# A parent that starts the stack the way the harness's local target does and dies at once, before the stack
# has even read its arguments.
HASTY_PARENT = """
import os, subprocess, sys
stack = subprocess.Popen(
    [sys.executable, "-m", "nautes_refstack", "up", "--dir", sys.argv[1],
     f"--exit-with-parent={os.getpid()}"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
)
print(stack.pid, flush=True)
os._exit(0)
"""


def test_a_stack_whose_parent_died_before_it_got_going_stops_and_leaves_nothing(tmp_path: Path) -> None:
    """Told its parent's pid, the stack notices a parent killed even before the stack looked at it."""
    directory = tmp_path / "world"
    parent = subprocess.run(
        [sys.executable, "-c", HASTY_PARENT, str(directory)], capture_output=True, text=True, timeout=30
    )
    stack_pid = int(parent.stdout)
    deadline = time.monotonic() + STARTUP_S
    while alive(stack_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert not alive(stack_pid), "the stack outlived the parent that died before it started"
        assert not directory.exists()
        assert processes_mentioning(str(directory)) == []
    finally:
        if alive(stack_pid):
            os.killpg(stack_pid, signal.SIGKILL)
