"""A throw-away certificate authority and serving certificate for an emulated API server on loopback.

Why TLS at all on 127.0.0.1: client-go (so kubectl) reads a kubeconfig's credentials only when the
server URL is ``https`` (``tools/clientcmd/client_config.go``: "only try to read the auth information if
we are secure"). Against a plain-HTTP server kubectl sends no token and every request is a 401. The
kubernetes Python client and OpenBao send tokens over either scheme.
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

VALIDITY = timedelta(days=30)
# Names a client may use for the API server: the loopback address plus the in-cluster service names.
SERVER_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
SERVER_ADDRESSES = ("127.0.0.1",)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _certificate(
    subject: str,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name | None,
    signing_key: ec.EllipticCurvePrivateKey,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(signing_key, hashes.SHA256())


def self_signed_ca_pem(subject: str = "refstack-kube-ca") -> str:
    """A throw-away CA certificate (PEM), for what must name a CA but never verifies against it: OpenBao's
    ``kubernetes_ca_cert`` for a plain-HTTP API server wants one with ``disable_local_ca_jwt``."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(
        subject, key.public_key(), None, key, [(x509.BasicConstraints(ca=True, path_length=None), True)]
    )
    return ca.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class ServingCertificate:
    """A CA certificate (what kubeconfigs and OpenBao trust) and the server certificate it signed."""

    ca_pem: str
    certificate_pem: str
    key_pem: str

    @classmethod
    def generate(cls) -> ServingCertificate:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate(
            "refstack-kube-ca",
            ca_key.public_key(),
            None,
            ca_key,
            [
                (x509.BasicConstraints(ca=True, path_length=0), True),
                (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
            ],
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in SERVER_NAMES]
        alternative_names += [x509.IPAddress(ipaddress.ip_address(address)) for address in SERVER_ADDRESSES]
        server = _certificate(
            "kube-apiserver",
            server_key.public_key(),
            ca.subject,
            ca_key,
            [
                (x509.BasicConstraints(ca=False, path_length=None), True),
                (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
                (x509.SubjectAlternativeName(alternative_names), False),
            ],
        )
        return cls(
            ca_pem=ca.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            certificate_pem=server.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            key_pem=_pem_key(server_key),
        )

    def server_context(self) -> ssl.SSLContext:
        """An SSL context serving this certificate (the key touches disk only inside a 0700 temp dir)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="kube-tls-") as directory:
            chain = os.path.join(directory, "server.pem")
            with open(os.open(chain, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="ascii") as handle:
                handle.write(self.certificate_pem + self.key_pem)
            context.load_cert_chain(chain)
        return context
