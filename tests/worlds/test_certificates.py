"""The world's one CA and the certificates it issues: names, usages, constraints, chain, files."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.secrets import redact
from nautes_e2e.worlds.certificates import CertificateError, WorldCA, write_tls


@pytest.fixture(scope="module")
def ca() -> WorldCA:
    return WorldCA.generate("nautes-e2e test CA")


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _cn(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_the_ca_is_a_self_signed_ca_that_signs_leaves_only(ca: WorldCA) -> None:
    certificate = _cert(ca.ca_pem)
    assert _cn(certificate) == "nautes-e2e test CA"
    assert certificate.issuer == certificate.subject
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is True
    assert constraints.value.path_length == 0
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert not usage.value.key_encipherment
    certificate.verify_directly_issued_by(certificate)


def test_a_server_certificate_names_its_host_in_cn_and_sans_and_serves_only(ca: WorldCA) -> None:
    files = ca.issue("gitlab.world.test", dns=["gitlab.world.test", "gitlab"], ips=["10.213.213.1"])
    certificate = _cert(files.cert_pem)
    assert _cn(certificate) == "gitlab.world.test"
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["gitlab.world.test", "gitlab"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.213.213.1")]
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is False
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.key_encipherment
    assert not usage.key_cert_sign
    assert files.ca_pem == ca.ca_pem


def test_a_client_certificate_has_client_auth_and_needs_no_san(ca: WorldCA) -> None:
    certificate = _cert(ca.issue("RUNTIME", server=False, client=True).cert_pem)
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_a_certificate_can_serve_and_authenticate_at_once(ca: WorldCA) -> None:
    certificate = _cert(ca.issue("both", dns=["both"], client=True).cert_pem)
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_every_leaf_chains_to_the_ca_and_its_key_matches(ca: WorldCA) -> None:
    files = ca.issue("vault", ips=["10.213.213.1", "127.0.0.1"])
    leaf, root = _cert(files.cert_pem), _cert(ca.ca_pem)
    leaf.verify_directly_issued_by(root)
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    key = serialization.load_pem_private_key(files.key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.public_key() == leaf.public_key()
    assert leaf.not_valid_after_utc <= root.not_valid_after_utc
    now = datetime.datetime.now(datetime.UTC)
    assert leaf.not_valid_before_utc < now < leaf.not_valid_after_utc


def test_another_ca_does_not_verify_the_leaf(ca: WorldCA) -> None:
    other = WorldCA.generate("another world")
    with pytest.raises((ValueError, TypeError)):
        _cert(ca.issue("x", dns=["x"]).cert_pem).verify_directly_issued_by(_cert(other.ca_pem))


@pytest.fixture
def tls_server(ca: WorldCA, tmp_path: Path) -> Iterator[int]:
    """A TLS server on 127.0.0.1 with a certificate for ``localhost`` and ``127.0.0.1``: one handshake."""
    paths = write_tls(ca.issue("localhost", dns=["localhost"], ips=["127.0.0.1"]), tmp_path, "server")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(paths.cert, paths.key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True) as tls:
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    listener.close()
    thread.join(timeout=5)


def test_a_tls_client_trusting_the_ca_alone_accepts_the_servers_name(ca: WorldCA, tls_server: int) -> None:
    context = ssl.create_default_context(cadata=ca.ca_pem.decode())
    with (
        socket.create_connection(("127.0.0.1", tls_server)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.recv(2) == b"ok"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"common_name": "web"}, "issue('web'): a server certificate needs a DNS name or an IP address"),
        ({"common_name": "x", "dns": ["x"], "server": False}, "issue: a certificate must be for a server"),
        ({"common_name": "x", "ips": ["10.0.0.300"]}, "ips: '10.0.0.300' is not an IP address"),
        ({"common_name": "x", "dns": ["bad name"]}, "dns: 'bad name' is not a DNS name"),
        ({"common_name": "", "dns": ["x"]}, "common_name: '' must be 1 to 64 characters"),
    ],
)
def test_a_certificate_asked_wrongly_is_refused_naming_the_argument(
    ca: WorldCA, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(CertificateError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        ca.issue(**kwargs)  # type: ignore[arg-type]


def test_wildcard_dns_names_are_accepted(ca: WorldCA) -> None:
    certificate = _cert(ca.issue("nautes", dns=["*.10.213.213.1.nip.io"]).cert_pem)
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["*.10.213.213.1.nip.io"]


def test_write_and_read_keep_the_same_ca_with_an_owner_only_key(ca: WorldCA, tmp_path: Path) -> None:
    cert_path = ca.write(tmp_path / "pki")
    assert cert_path == tmp_path / "pki" / "ca.crt"
    assert stat.S_IMODE((tmp_path / "pki" / "ca.key").stat().st_mode) == 0o600
    again = WorldCA.read(tmp_path / "pki")
    assert again.ca_pem == ca.ca_pem
    _cert(again.issue("y", dns=["y"]).cert_pem).verify_directly_issued_by(_cert(ca.ca_pem))


def test_reading_a_missing_or_foreign_ca_names_the_file(ca: WorldCA, tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match=r"ca\.crt: cannot read the world's CA"):
        WorldCA.read(tmp_path)
    ca.write(tmp_path)
    WorldCA.generate("other").write(tmp_path / "other")
    (tmp_path / "ca.key").write_bytes((tmp_path / "other" / "ca.key").read_bytes())
    with pytest.raises(CertificateError, match=r"ca\.key: not the RSA key of .*ca\.crt"):
        WorldCA.read(tmp_path)


def test_write_tls_writes_the_three_files_with_an_owner_only_key(ca: WorldCA, tmp_path: Path) -> None:
    files = ca.issue("registry", dns=["registry"])
    paths = write_tls(files, tmp_path, "registry")
    assert (paths.cert.name, paths.key.name, paths.ca.name) == ("registry.crt", "registry.key", "ca.crt")
    assert TlsFiles(paths.cert.read_bytes(), paths.key.read_bytes(), paths.ca.read_bytes()) == files
    assert stat.S_IMODE(paths.key.stat().st_mode) == 0o600


def test_private_keys_stay_out_of_reprs_and_outputs(ca: WorldCA) -> None:
    files = ca.issue("z", dns=["z"])
    assert files.key_pem.decode() not in repr(files)
    key = ca.key_pem()
    assert "PRIVATE KEY" not in repr(ca)
    assert "PRIVATE KEY" not in str(key)
    assert key.reveal().startswith("-----BEGIN PRIVATE KEY-----")
    assert redact(f"vars: {key.reveal()}") == "vars: ***\n"  # the PEM's own newline stays
