"""HTTPS doubles: like :mod:`tests.support.http`, with a certificate signed by the private test CA.

``CA_PEM`` is that CA (tests/support/tls/README.md): a client trusts the double only when given it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from tests.support.http import LOOPBACK, Served
from tests.support.loop import BackgroundLoop

TLS_DIR = Path(__file__).resolve().parent / "tls"
CA_PEM = TLS_DIR / "ca.pem"


@contextmanager
def serve_tls(loop: BackgroundLoop, app: web.Application) -> Iterator[Served]:
    """Serve ``app`` over HTTPS on a free port of 127.0.0.1 until the block ends."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS_DIR / "server.pem")
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    loop.run(runner.setup())
    try:
        loop.run(web.TCPSite(runner, LOOPBACK, 0, ssl_context=context).start())
        (_, port), *_ = runner.addresses
        yield Served(port=int(port))
    finally:
        loop.run(runner.cleanup())
