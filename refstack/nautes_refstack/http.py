"""Serving aiohttp applications on loopback: the one way every emulated server is started and stopped."""

from __future__ import annotations

import socket
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


def bind_loopback(address: str = LOOPBACK) -> socket.socket:
    """A socket bound to a free port of ``address`` (127.0.0.1 unless told otherwise), for a server whose
    URL must be known before it serves.

    Holding the bound socket (rather than probing a port and binding it again later) means no other
    server started meanwhile can take the port; hand it to :func:`serve` as ``sock``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((address, 0))
    except OSError:
        sock.close()
        raise
    return sock


async def serve(
    app: web.Application,
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    sock: socket.socket | None = None,
) -> RunningSite:
    """Start ``app`` on 127.0.0.1 (a free port unless ``port`` or a bound ``sock`` is given; HTTPS with
    ``ssl_context``). If it cannot listen, nothing of it is left behind (``sock`` is closed too)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site: web.BaseSite
    if sock is not None:
        site = web.SockSite(runner, sock, ssl_context=ssl_context)
    else:
        site = web.TCPSite(runner, LOOPBACK, port, ssl_context=ssl_context, reuse_address=True)
    try:
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if not sockets:
            raise RuntimeError("aiohttp site did not bind a socket")
    except BaseException:
        await runner.cleanup()
        if sock is not None:
            sock.close()
        raise
    return RunningSite(runner=runner, port=int(sockets[0].getsockname()[1]), tls=ssl_context is not None)
