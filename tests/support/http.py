"""HTTP doubles: an aiohttp application served on 127.0.0.1 (a free port) by the background loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from tests.support.loop import BackgroundLoop

LOOPBACK = "127.0.0.1"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Served:
    """Where a served double listens; ``url`` has no trailing slash."""

    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


def catch_all(handler: Handler) -> web.Application:
    """An application giving every request, whatever its method and path, to ``handler``."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@contextmanager
def serve(loop: BackgroundLoop, app: web.Application) -> Iterator[Served]:
    """Serve ``app`` on a port the system picks (so parallel tests never collide) until the block ends."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    loop.run(runner.setup())
    try:
        loop.run(web.TCPSite(runner, LOOPBACK, 0).start())
        (_, port), *_ = runner.addresses
        yield Served(port=int(port))
    finally:
        loop.run(runner.cleanup())
