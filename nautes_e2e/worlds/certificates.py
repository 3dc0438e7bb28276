"""One CA for every certificate of a real world.

Every TLS endpoint of a k3d/kind world is signed by the same CA: GitLab, Vault, the registry, and what the
Nautes installer issues itself. The installer takes that CA as ``nautes_ca_keypair`` and signs Vault's
host certificate, vault-proxy's client certificates and the ingress certificate of every Nautes endpoint
with it (nautes-labs/installer v0.3.8, nautes/init.yaml: the CA is copied to ``pki/ca.crt`` and
``pki/ca.pem`` "when nautes_ca_keypair is defined"; nautes/generate_keypair.yaml signs with
``provider: ownca``). It also gives ``pki/ca.crt`` to every Nautes component as the CA of Vault
(``sec_ca``) and hands ``git_ca`` to Dex and the API server as GitLab's CA (tenant-repo-template v0.4.2,
nautes/overlays/tenant/certs.yaml). With one CA, one bundle trusts the whole world: the harness's clients,
the installer, the pods, kaniko.

RSA keys, as the installer's own CA and host keys (nautes/init.yaml, ``type: RSA``), so that
community.crypto's ``ownca`` signs with the same algorithms the installer was written against. The
extensions follow RFC 5280 (section 4.2.1): a CA is ``CA:TRUE`` with ``keyCertSign``/``cRLSign``; a leaf is
``CA:FALSE`` with ``digitalSignature``/``keyEncipherment`` and the extended key usage it serves. A server
certificate must carry its names as SANs: Go (Vault, the Nautes components, kube-rbac-proxy) ignores the
CN since Go 1.15 (Go 1.15 release notes, crypto/x509: "the deprecated, legacy behavior of treating the
CommonName field ... as a host name when no Subject Alternative Names are present is now disabled").
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.secrets import Secret

#: The organisation of every subject, so that a certificate found on a machine says who made it.
ORGANIZATION = "nautes-e2e"
KEY_SIZE = 2048
#: A world lives for a run, or for days when kept (``--keep-env``); 90 days outlives any kept world.
VALIDITY = datetime.timedelta(days=90)
#: Certificates start a little in the past: a container's clock may lag the host's by seconds.
CLOCK_SKEW = datetime.timedelta(minutes=5)
CA_CERT_FILE = "ca.crt"
CA_KEY_FILE = "ca.key"
#: A DNS name as a SAN: labels of letters, digits and dashes; a leading ``*.`` label for a wildcard.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"(?:\*\.)?(?:{_LABEL}\.)*{_LABEL}")


class CertificateError(ValueError):
    """A certificate cannot be issued as asked (the text names the argument and the value)."""


@dataclass(frozen=True)
class TlsPaths:
    """Where :func:`write_tls` put a certificate, its key and the CA."""

    cert: Path
    key: Path
    ca: Path


@dataclass(frozen=True)
class WorldCA:
    """The CA of one world: :meth:`generate` it once, :meth:`issue` every certificate from it."""

    certificate: x509.Certificate
    _key: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def generate(cls, common_name: str, *, validity: datetime.timedelta = VALIDITY) -> WorldCA:
        """A new self-signed CA named ``common_name`` that may sign leaves only (``pathlen:0``)."""
        _check_text("common_name", common_name)
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        name = _name(common_name)
        not_before = _now() - CLOCK_SKEW
        public = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_before + validity)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    @classmethod
    def read(cls, directory: Path) -> WorldCA:
        """The CA :meth:`write` put in ``directory`` (a kept world reuses its CA)."""
        cert_path, key_path = directory / CA_CERT_FILE, directory / CA_KEY_FILE
        try:
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except OSError as failure:
            problem = f"cannot read the world's CA ({failure.strerror})"
            raise CertificateError(f"{failure.filename}: {problem}") from None
        except ValueError:
            problem = f"{CA_CERT_FILE} and {CA_KEY_FILE} are not a PEM certificate and key"
            raise CertificateError(f"{directory}: {problem}") from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.public_key() != certificate.public_key():
            raise CertificateError(f"{key_path}: not the RSA key of {cert_path}")
        return cls(certificate, key)

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate, PEM: the one bundle that trusts every endpoint of the world."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> Secret:
        """The CA's private key, PEM, for the one place that must sign with it (the installer's
        ``nautes_ca_keypair.key``)."""
        return Secret(_private_pem(self._key).decode())

    def issue(
        self,
        common_name: str,
        *,
        dns: Sequence[str] = (),
        ips: Sequence[str] = (),
        server: bool = True,
        client: bool = False,
        validity: datetime.timedelta = VALIDITY,
    ) -> TlsFiles:
        """A leaf certificate for ``common_name`` with the SANs ``dns`` and ``ips``, for TLS servers
        (``serverAuth``), clients (``clientAuth``) or both. A server certificate needs at least one SAN."""
        _check_text("common_name", common_name)
        if not server and not client:
            raise CertificateError("issue: a certificate must be for a server, a client or both")
        names = [x509.DNSName(_dns_name(name)) for name in dns] + [x509.IPAddress(_ip(ip)) for ip in ips]
        if server and not names:
            raise CertificateError(
                f"issue({common_name!r}): a server certificate needs a DNS name or an IP address as SAN "
                "(TLS clients in Go ignore the CN)"
            )
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        not_before = _now() - CLOCK_SKEW
        not_after = min(not_before + validity, self.certificate.not_valid_after_utc)
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())
        return TlsFiles(
            cert_pem=certificate.public_bytes(serialization.Encoding.PEM),
            key_pem=_private_pem(key),
            ca_pem=self.ca_pem,
        )

    def write(self, directory: Path) -> Path:
        """Write ``ca.crt`` and ``ca.key`` (owner-only) to ``directory``; return the certificate's path."""
        directory.mkdir(parents=True, exist_ok=True)
        write_private(directory / CA_KEY_FILE, _private_pem(self._key))
        cert = directory / CA_CERT_FILE
        cert.write_bytes(self.ca_pem)
        return cert


def write_tls(files: TlsFiles, directory: Path, name: str) -> TlsPaths:
    """Write ``<name>.crt``, ``<name>.key`` (owner-only) and ``ca.crt`` to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = TlsPaths(directory / f"{name}.crt", directory / f"{name}.key", directory / CA_CERT_FILE)
    paths.cert.write_bytes(files.cert_pem)
    write_private(paths.key, files.key_pem)
    paths.ca.write_bytes(files.ca_pem)
    return paths


def write_private(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` readable by its owner only, from the first byte on (no window in which
    a key or a token sits in a world-readable file)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    path.chmod(0o600)  # an existing file keeps its mode through O_TRUNC


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(
    *,
    digital_signature: bool = False,
    key_encipherment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _check_text(argument: str, value: str) -> None:
    # A CN is at most 64 characters (RFC 5280, ub-common-name).
    if not value.strip() or len(value) > 64:
        raise CertificateError(f"{argument}: {value!r} must be 1 to 64 characters")


def _dns_name(name: str) -> str:
    if len(name) > 253 or not _DNS_NAME.fullmatch(name):
        raise CertificateError(f"dns: {name!r} is not a DNS name")
    return name


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        raise CertificateError(f"ips: {address!r} is not an IP address") from None
