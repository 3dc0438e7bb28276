"""Readiness checks testcontainers does not have: an HTTP check over TLS verified against a private CA.

testcontainers 4.15's ``HttpWaitStrategy.using_tls()`` either verifies against the system's CAs or not at
all. A world's services carry certificates of the world's own CA, and a readiness check that skipped
verification would pass a container serving the wrong certificate, which the installer and the stages
would then refuse. So the check trusts exactly that CA.
"""

from __future__ import annotations

import ssl

from testcontainers.core.wait_strategies import HttpWaitStrategy


class HttpsWaitStrategy(HttpWaitStrategy):
    """``HttpWaitStrategy(port, path).using_tls()`` whose TLS handshake verifies the server's certificate
    (chain and host name) against ``ca_pem`` only."""

    def __init__(self, port: int, path: str, ca_pem: bytes) -> None:
        super().__init__(port, path)
        self.using_tls()
        self._ca_pem = ca_pem

    def _setup_ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self._ca_pem.decode())


def http_check(port: int, path: str, ca_pem: bytes | None) -> HttpWaitStrategy:
    """An HTTP readiness check on ``port``: plain, or over TLS verified against ``ca_pem``."""
    return HttpWaitStrategy(port, path) if ca_pem is None else HttpsWaitStrategy(port, path, ca_pem)
