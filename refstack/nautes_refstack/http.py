"""Serving aiohttp applications on loopback: the one way every emulated server is started and stopped.

Being the one way, it is also where the opt-in route log lives: with ``NAUTES_E2E_REFSTACK_ROUTE_LOG=FILE``
in the stack's environment every answer appends ``{"server", "method", "route", "status"}`` to FILE as
one JSON line, ``route`` being the route's pattern (:mod:`.route_patterns`), never the concrete path with
its names, ids or tokens. ``nautes-refstack routes`` lists the routes; the fidelity benchmark counts which
of them the clients' own tests exercise. Unset, serving costs nothing more.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

LOOPBACK = "127.0.0.1"
ROUTE_LOG_ENV = "NAUTES_E2E_REFSTACK_ROUTE_LOG"
# Applications served while :func:`collecting_served_apps` is active, with the emulation each belongs to.
_SERVED_APPS: ContextVar[list[tuple[str, web.Application]] | None] = ContextVar("served_apps", default=None)


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
    *,
    name: str | None = None,
) -> RunningSite:
    """Start ``app`` on 127.0.0.1 (a free port unless ``port`` or a bound ``sock`` is given; HTTPS with
    ``ssl_context``). If it cannot listen, nothing of it is left behind (``sock`` is closed too).

    ``name`` is the emulation it belongs to in the route log (by default the one its handlers' modules
    belong to, see :func:`.route_patterns.emulation_of`)."""
    route_log = os.environ.get(ROUTE_LOG_ENV)
    served = _SERVED_APPS.get()
    if route_log or served is not None:
        # Imported here: it reads the emulations' own routing tables, and their modules import this one.
        from nautes_refstack.route_patterns import emulation_of

        server = name or emulation_of(app)
        if route_log:
            _log_routes(app, server, Path(route_log))
        if served is not None:
            served.append((server, app))
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


@contextlib.contextmanager
def collecting_served_apps() -> Iterator[list[tuple[str, web.Application]]]:
    """Within this block (and the tasks started in it), every application :func:`serve` starts is added,
    with its emulation's name, to the list this yields: how ``nautes-refstack routes`` finds every route a
    started stack serves, whoever built the application."""
    served: list[tuple[str, web.Application]] = []
    token = _SERVED_APPS.set(served)
    try:
        yield served
    finally:
        _SERVED_APPS.reset(token)


def _log_routes(app: web.Application, server: str, path: Path) -> None:
    """Append one JSON line per answer of ``app`` to ``path`` (opened per line in append mode, so that
    the stack's servers and several stacks can share one file without mixing their lines)."""
    from nautes_refstack.route_patterns import request_pattern

    async def note(request: web.Request, response: web.StreamResponse) -> None:
        line = {
            "server": server,
            "method": request.method,
            "route": request_pattern(server, request),
            "status": response.status,
        }
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)

    app.on_response_prepare.append(note)
