"""Serving aiohttp applications on loopback: the one way every emulated server is started and stopped."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

LOOPBACK = "127.0.0.1"


@dataclass
class RunningSite:
    """An aiohttp application listening on 127.0.0.1; ``url`` has no trailing slash."""

    runner: web.AppRunner
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def serve(app: web.Application, port: int = 0) -> RunningSite:
    """Start ``app`` on 127.0.0.1 (a free port unless ``port`` is given) and return where it listens."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, port, reuse_address=True)
    await site.start()
    server = site._server
    assert server is not None and server.sockets, "aiohttp site did not bind a socket"  # noqa: S101
    bound_port = int(server.sockets[0].getsockname()[1])
    return RunningSite(runner=runner, port=bound_port)
