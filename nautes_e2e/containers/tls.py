"""The certificate files a service container serves TLS with: its own certificate and key, and the CA that
signed them (so that a client, or the installer, can trust the one CA of the world)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TlsFiles:
    """PEM bytes of a certificate, its private key and the CA certificate that issued it."""

    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes
