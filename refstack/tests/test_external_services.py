"""``up --external-vault URL`` and ``--external-registry URL``: the stack uses a Vault and a registry someone
else runs (the harness's containers, here the stack's own OpenBao and registry started by the test), with
their credentials from the environment, and starts neither of its own."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from nautes_refstack.registry import Registry
from nautes_refstack.vault import KV_MOUNTS, OpenBao, ensure_kv_mounts
from support.command import refused_start
from support.loop import BackgroundLoop

VAULT_TOKEN_ENV = "NAUTES_E2E_REFSTACK_VAULT_TOKEN"
USERNAME_ENV, PASSWORD_ENV = "NAUTES_E2E_REFSTACK_REGISTRY_USERNAME", "NAUTES_E2E_REFSTACK_REGISTRY_PASSWORD"
USER, PASSWORD = "outside-pusher", "outside-registry-password-1"


@dataclass(frozen=True)
class Outside:
    """The services the stack is pointed at."""

    vault: OpenBao
    registry: Registry
    loop: BackgroundLoop


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outside]:
    logs = tmp_path_factory.mktemp("outside")
    with BackgroundLoop("outside-services") as loop:
        vault, registry = OpenBao(log_path=logs / "openbao.log"), Registry(USER, PASSWORD)
        loop.run(vault.start())
        loop.run(registry.start())
        yield Outside(vault, registry, loop)
        loop.run(registry.stop())
        loop.run(vault.stop())


def stack_children(pid: int) -> list[str]:
    """Command lines of the living children of ``pid``."""
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            cmdline = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(cmdline)
    return found


def test_the_stack_uses_them_and_starts_neither_of_its_own(tmp_path: Path, outside: Outside) -> None:
    directory = tmp_path / "stack"
    arguments = ["--external-vault", outside.vault.url, "--external-registry", outside.registry.url]
    secrets = {VAULT_TOKEN_ENV: outside.vault.root_token, USERNAME_ENV: USER, PASSWORD_ENV: PASSWORD}
    stack = subprocess.Popen(
        [sys.executable, "-m", "nautes_refstack", "up", "--dir", str(directory), *arguments],
        env={**os.environ, **secrets},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (directory / "ready").exists():
            assert stack.poll() is None, stack.communicate()
            assert time.monotonic() < deadline, "the stack was not ready within 60 s"
            time.sleep(0.05)
        assert not [command for command in stack_children(stack.pid) if "bao server" in command]
        target = yaml.safe_load((directory / "target.yaml").read_text())
        assert target["vault"] == {"url": outside.vault.url, "tokenEnv": "NAUTES_E2E_VAULT_TOKEN"}
        assert target["registry"] == {
            "url": outside.registry.host,
            "scheme": "http",
            "usernameEnv": "NAUTES_E2E_REGISTRY_USERNAME",
            "passwordEnv": "NAUTES_E2E_REGISTRY_PASSWORD",
        }
        credentials = dict(
            line.split("=", 1) for line in (directory / "credentials.env").read_text().splitlines()
        )
        assert credentials["NAUTES_E2E_VAULT_TOKEN"] == outside.vault.root_token
        assert credentials["NAUTES_E2E_REGISTRY_USERNAME"] == USER
        assert credentials["NAUTES_E2E_REGISTRY_PASSWORD"] == PASSWORD
        mounts = requests.get(
            f"{outside.vault.url}/v1/sys/mounts",
            headers={"X-Vault-Token": outside.vault.root_token},
            timeout=5,
        ).json()["data"]
        assert {f"{mount}/" for mount in KV_MOUNTS} <= set(mounts)
        assert all(mounts[f"{mount}/"]["options"]["version"] == "2" for mount in KV_MOUNTS)
        assert sorted(path.name for path in (directory / "logs").iterdir()) == [
            "refstack.log"
        ]  # no openbao.log

        stack.send_signal(signal.SIGTERM)
        stack.communicate(timeout=30)
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.communicate()
    assert stack.returncode == 0
    # Not the stack's to stop: both still answer.
    assert requests.get(f"{outside.vault.url}/v1/sys/health", timeout=5).status_code == 200
    assert requests.get(f"{outside.registry.url}/v2/", auth=(USER, PASSWORD), timeout=5).status_code == 200
    log = (directory / "logs" / "refstack.log").read_text()
    assert outside.vault.root_token not in log
    assert PASSWORD not in log


def test_mounting_the_kv_engines_again_is_harmless(outside: Outside) -> None:
    outside.loop.run(ensure_kv_mounts(outside.vault.url, outside.vault.root_token))
    outside.loop.run(ensure_kv_mounts(outside.vault.url, outside.vault.root_token))


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        (
            ["--external-vault", "http://127.0.0.1:8200"],
            {},
            f"--external-vault takes its credential from {VAULT_TOKEN_ENV}, which is not set",
        ),
        (
            ["--external-vault", "https://127.0.0.1:8200"],
            {VAULT_TOKEN_ENV: "token-that-must-not-show"},
            "--external-vault 'https://127.0.0.1:8200': expected http://HOST:PORT (plain HTTP, no path)",
        ),
        (
            ["--external-registry", "http://127.0.0.1:5000/org"],
            {USERNAME_ENV: "u", PASSWORD_ENV: "password-that-must-not-show"},
            "--external-registry 'http://127.0.0.1:5000/org': expected http://HOST:PORT "
            "(plain HTTP, no path)",
        ),
        (
            ["--external-registry", "http://127.0.0.1:5000"],
            {USERNAME_ENV: "u"},
            f"--external-registry takes its credential from {PASSWORD_ENV}, which is not set",
        ),
        (
            ["--external-registry", "http://127.0.0.1:5000", "--registry-tls", "ca"],
            {USERNAME_ENV: "u", PASSWORD_ENV: "password-that-must-not-show"},
            "--registry-tls is for the embedded registry, not --external-registry",
        ),
    ],
)
def test_bad_external_services_are_refused_before_anything_starts(
    tmp_path: Path, arguments: list[str], environment: dict[str, str], message: str
) -> None:
    stderr = refused_start(tmp_path / "stack", arguments, environment)
    assert stderr == f"reference stack not started: {message}\n"


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("vault-down", r"--external-vault: http://127\.0\.0\.1:\d+/v1/sys/health does not answer \("),
        ("registry-refuses", r"--external-registry http://127\.0\.0\.1:\d+: /v2/ answered 401 to "),
    ],
)
def test_an_external_service_that_does_not_serve_fails_the_start(
    tmp_path: Path, outside: Outside, which: str, expected: str
) -> None:
    if which == "vault-down":
        closed = OpenBao(log_path=tmp_path / "unused.log")
        closed.port = _free_port()
        arguments = ["--external-vault", closed.url]
        environment = {VAULT_TOKEN_ENV: "some-token-value"}
    else:
        arguments = ["--external-registry", outside.registry.url]
        environment = {USERNAME_ENV: USER, PASSWORD_ENV: "wrong-password-value"}
    result = subprocess.run(
        [sys.executable, "-m", "nautes_refstack", "up", "--dir", str(tmp_path / "stack"), *arguments],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("reference stack failed: ")
    assert re.search(expected, result.stderr), result.stderr
    assert "wrong-password-value" not in result.stderr
    assert not (tmp_path / "stack" / "ready").exists()


def _free_port() -> int:
    async def probe() -> int:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = int(server.sockets[0].getsockname()[1])
        server.close()
        await server.wait_closed()
        return port

    return asyncio.run(probe())
