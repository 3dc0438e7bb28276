"""A registry served over HTTPS with a private CA, at an address kaniko treats as a real registry host.

Why 127.0.0.2 and not 127.0.0.1: kaniko resolves registries through go-containerregistry, whose
``pkg/name/registry.go`` ``Registry.Scheme()`` allows plain HTTP (and retries over it after an HTTPS failure)
for ``localhost``, ``127.0.0.1``, ``::1``, ``*.local`` and RFC 1918 addresses. Any other address is spoken to
over HTTPS only, as ghcr.io or a Harbor host are; 127.0.0.2 is such an address and is still loopback (all of
127.0.0.0/8 is on Linux), so the stack stays unreachable from outside.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TLS_ADDRESS = "127.0.0.2"
VALIDITY = timedelta(days=30)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass(frozen=True)
class RegistryCertificate:
    """A private CA (``ca_pem``, what a target's ``registry.caBundle`` holds) and the serving certificate
    it signed for :data:`TLS_ADDRESS`; the CA's key is discarded once it has signed."""

    ca_pem: str
    chain_pem: str  # the serving certificate and its key

    @classmethod
    def generate(cls) -> RegistryCertificate:
        now = datetime.now(UTC)
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = (
            x509.CertificateBuilder()
            .subject_name(_name("refstack-registry-ca"))
            .issuer_name(_name("refstack-registry-ca"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(ca_key, hashes.SHA256())
        )
        server = (
            x509.CertificateBuilder()
            .subject_name(_name("refstack-registry"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(TLS_ADDRESS))]),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")
        return cls(
            ca_pem=ca.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            chain_pem=server.public_bytes(serialization.Encoding.PEM).decode("ascii") + key_pem,
        )

    def server_context(self) -> ssl.SSLContext:
        """An SSL context serving the certificate (the key touches disk only inside a 0700 temp dir)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="registry-tls-") as directory:
            chain = os.path.join(directory, "server.pem")
            with open(os.open(chain, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="ascii") as handle:
                handle.write(self.chain_pem)
            context.load_cert_chain(chain)
        return context
