"""Serving aiohttp applications on loopback: the one way every emulated server is started and stopped."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from aiohttp import web

LOOPBACK = "127.0.0.1"


@dataclass
class RunningSite:
    """An aiohttp application listening on 127.0.0.1; ``url`` has no trailing slash."""

    runner: web.AppRunner
    port: int
    tls: bool = False

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{LOOPBACK}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def serve(
    app: web.Application, port: int = 0, ssl_context: ssl.SSLContext | None = None
) -> RunningSite:
    """Start ``app`` on 127.0.0.1 (a free port unless ``port`` is given; HTTPS with ``ssl_context``)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, port, ssl_context=ssl_context, reuse_address=True)
    await site.start()
    sockets = getattr(site._server, "sockets", None)
    if not sockets:
        raise RuntimeError("aiohttp site did not bind a socket")
    return RunningSite(runner=runner, port=int(sockets[0].getsockname()[1]), tls=ssl_context is not None)
