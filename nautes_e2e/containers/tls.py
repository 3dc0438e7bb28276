"""The certificate files a service container serves TLS with: its own certificate and key, and the CA that
signed them (so that a client, or the installer, can trust the one CA of the world)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TlsFiles:
    """PEM bytes of a certificate, its private key and the CA certificate that issued it.

    The key is left out of ``repr()``: a dataclass in a traceback or a log line must not carry a private key.
    """

    cert_pem: bytes
    key_pem: bytes = field(repr=False)
    ca_pem: bytes
