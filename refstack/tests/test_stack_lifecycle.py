"""The reference stack as a whole: what it leaves behind when it stops, fails to start or is signalled, and
which secrets its own logs hold (none).

Leftovers are read from ``/proc``: child processes (OpenBao, git), listening sockets of this process, and
the stack's scratch directories.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nautes_refstack import vault as vault_module
from nautes_refstack.http import bind_loopback
from nautes_refstack.registry import Registry
from nautes_refstack.stack import ReferenceStack
from nautes_refstack.vault import OpenBao
from nautes_refstack.world_dir import NAUTES_API_DIR
from support.processes import alive, child_processes

TCP_LISTEN = "0A"


def listening_ports(pid: int | str = "self") -> set[int]:
    """TCP ports on which ``pid`` holds a listening socket."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == TCP_LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_a_start_that_fails_half_way_leaves_nothing_running_or_listening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One piece fails while the others are still starting: they must not finish starting after stop()."""

    async def refuse(self: Registry) -> None:
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(Registry, "start", refuse)
    ports_before = listening_ports()

    async def start_and_stop() -> None:
        stack = ReferenceStack(tmp_path)
        try:
            with pytest.raises(OSError, match="Address already in use"):
                await stack.start()
        finally:
            await stack.stop()
        await asyncio.sleep(0.5)  # anything still starting in the background would be up by now
        assert child_processes(os.getpid()) == {}
        assert listening_ports() == ports_before
        leftover_tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        assert leftover_tasks == []

    asyncio.run(start_and_stop())
    assert not (tmp_path / "ready").exists()


def test_openbao_keeps_its_root_token_out_of_argv_the_log_and_the_home_directory(tmp_path: Path) -> None:
    vault = OpenBao(log_path=tmp_path / "logs" / "openbao.log")
    vault.log_path.parent.mkdir()

    async def run() -> list[str]:
        await vault.start()
        try:
            # The dev banner may come after /v1/sys/health answers: wait for it, so that its masking is
            # what this test sees (not a race with stop()).
            deadline = asyncio.get_running_loop().time() + 10
            while "Root Token:" not in vault.log_path.read_text():
                assert asyncio.get_running_loop().time() < deadline, "OpenBao printed no dev banner"
                await asyncio.sleep(0.05)
            return list(child_processes(os.getpid()).values())
        finally:
            await vault.stop()

    commands = asyncio.run(run())
    assert len(commands) == 1
    assert "bao server -dev" in commands[0]
    assert vault.root_token not in commands[0]
    log = vault.log_path.read_text()
    # The banner is there, its secrets are not.
    assert "Root Token: ***" in log
    assert "Unseal Key: ***" in log
    assert vault.root_token not in log
    assert sorted(path.name for path in vault.log_path.parent.iterdir()) == ["openbao.log"]  # no .vault-token


def test_openbao_whose_probed_port_was_taken_meanwhile_starts_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with bind_loopback() as taken:
        taken.listen()
        taken_port = int(taken.getsockname()[1])
        port, log = _openbao_first_offered(taken_port, tmp_path, monkeypatch)
        assert port != taken_port
        assert "address already in use" in log


def test_openbao_whose_probed_port_another_server_took_answers_there_starts_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another stack's SSH server took the probed port and greets the health probe with its banner: not an
    HTTP answer, which must not end the start (it did: "Bad status line ... SSH-2.0-AsyncSSH")."""
    with bind_loopback() as taken:
        taken.listen()
        taken_port = int(taken.getsockname()[1])
        greeter = threading.Thread(target=_greet_like_ssh, args=(taken,), daemon=True)
        greeter.start()
        try:
            port, log = _openbao_first_offered(taken_port, tmp_path, monkeypatch)
        finally:
            # Wake the greeter's accept() before the socket is closed: a listener closed while a thread
            # waits in accept() stays listening, held by no descriptor, as long as that thread waits.
            taken.shutdown(socket.SHUT_RDWR)
            greeter.join(timeout=5)
        assert port != taken_port
        assert "address already in use" in log


def _openbao_first_offered(port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """Start OpenBao with ``port`` as the first free port it is offered (any free one after that), stop it,
    and return the port it listened on and its log."""
    probes = iter([port])
    monkeypatch.setattr(vault_module, "free_port", lambda: next(probes, 0) or _probe())
    vault = OpenBao(log_path=tmp_path / "openbao.log")

    async def run() -> int:
        await asyncio.wait_for(vault.start(), timeout=30)
        try:
            return vault.port
        finally:
            await vault.stop()

    return asyncio.run(run()), vault.log_path.read_text()


def _greet_like_ssh(listener: socket.socket) -> None:
    """Answer every connection with an SSH banner, as asyncssh does, until the listener is closed."""
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.sendall(b"SSH-2.0-AsyncSSH_2.24.1\r\n")


def test_openbao_on_a_taken_port_fails_clearly_and_leaves_no_process(tmp_path: Path) -> None:
    with bind_loopback() as taken:
        taken.listen()
        vault = OpenBao(log_path=tmp_path / "openbao.log", port=int(taken.getsockname()[1]))
        with pytest.raises(RuntimeError, match=r"OpenBao could not listen on .*address already in use"):
            asyncio.run(asyncio.wait_for(vault.start(), timeout=30))
    assert child_processes(os.getpid()) == {}


def test_refstack_up_on_an_unusable_directory_says_so_and_exits_non_zero(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "nautes_refstack", "up", "--dir", str(not_a_directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"reference stack not started: cannot use {not_a_directory}: Not a directory\n"


def _probe() -> int:
    with bind_loopback() as sock:
        return int(sock.getsockname()[1])


def test_refstack_up_stops_everything_on_sigterm_and_its_logs_hold_no_secret(tmp_path: Path) -> None:
    directory = tmp_path / "stack"
    scratch = tmp_path / "tmp"  # TMPDIR: the stack keeps its temporary folders in DIR, none may stay here
    scratch.mkdir()
    stack = subprocess.Popen(
        [sys.executable, "-m", "nautes_refstack", "up", "--dir", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(scratch)},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (directory / "ready").exists():
            assert stack.poll() is None, stack.communicate()
            assert time.monotonic() < deadline, "the stack was not ready within 30 s"
            time.sleep(0.05)
        children = child_processes(stack.pid)
        assert any("bao server" in command for command in children.values())
        assert list((directory / NAUTES_API_DIR).iterdir())  # the Nautes API server's /tmp is in DIR
        secrets = [
            line.split("=", 1)[1] for line in (directory / "credentials.env").read_text().splitlines() if line
        ]
        ports = listening_ports(stack.pid)
        assert len(ports) >= 6  # GitLab HTTP + SSH, Kubernetes, registry, Nautes API, Argo Events webhooks

        stack.send_signal(signal.SIGTERM)  # the process alone, not its group: the stack must stop OpenBao
        _, stderr = stack.communicate(timeout=20)
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()

    assert stack.returncode == 0, stderr
    assert not [pid for pid in children if alive(pid)]
    assert not listening_ports_anywhere() & ports
    assert list(scratch.iterdir()) == []
    # what the stack wrote is gone with it, its logs stay (for whoever reads them next)
    assert sorted(path.name for path in directory.iterdir()) == ["logs"]
    assert len(secrets) == 4
    for path in (directory / "logs").rglob("*"):
        text = path.read_text(errors="replace")
        assert not [secret for secret in secrets if secret in text], f"{path.name} holds a secret"


def listening_ports_anywhere() -> set[int]:
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == TCP_LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


# A parent that starts the stack the way the harness's local target does (its own session,
# --exit-with-parent), prints the stack's pid, and then waits to be killed.
PARENT = """
import subprocess, sys, time
stack = subprocess.Popen(
    [sys.executable, "-m", "nautes_refstack", "up", "--dir", sys.argv[1], "--exit-with-parent"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
)
print(stack.pid, flush=True)
time.sleep(600)
"""


def test_a_stack_started_with_exit_with_parent_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A SIGKILL runs no finalizer: a harness killed outright cannot stop the stack it started, so the stack
    notices that its parent is gone and stops itself, OpenBao and all."""
    directory = tmp_path / "stack"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(directory)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert parent.stdout is not None
    stack_pid = int(parent.stdout.readline())
    try:
        deadline = time.monotonic() + 30
        while not (directory / "ready").exists():
            assert alive(stack_pid), "the stack exited before it was ready"
            assert time.monotonic() < deadline, "the stack was not ready within 30 s"
            time.sleep(0.05)
        children = child_processes(stack_pid)
        assert any("bao server" in command for command in children.values())

        os.killpg(parent.pid, signal.SIGKILL)  # the parent's group only: the stack has a session of its own
        parent.wait()
        deadline = time.monotonic() + 20
        while alive(stack_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(stack_pid), "the stack outlived its killed parent"
        assert not [pid for pid in children if alive(pid)]
        # nobody is left to read its logs: the directory it created goes entirely
        assert not directory.exists()
    finally:
        if alive(stack_pid):
            os.killpg(stack_pid, signal.SIGKILL)
