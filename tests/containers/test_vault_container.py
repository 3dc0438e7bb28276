"""VaultContainer against the locally built OpenBao image: dev mode as the local target uses it, server mode
as the installer's vault-init expects it (uninitialised, TLS with the world's CA)."""

from __future__ import annotations

import re
import time

import docker
import hvac
import pytest
import requests

from nautes_e2e.containers.errors import ContainerNotReady
from nautes_e2e.containers.images import OPENBAO_IMAGE
from nautes_e2e.containers.labels import COMPONENT_LABEL, OWNER_LABEL, WORLD_LABEL
from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.containers.vault import INSTALLER_VAULT_IMAGE, VaultContainer
from nautes_e2e.secrets import Secret
from tests.support.https import CA_PEM
from tests.support.service_containers import ca_signed_tls, containers_of, require_image


@pytest.fixture(scope="module")
def image(docker_engine: docker.DockerClient) -> str:
    return require_image(docker_engine, OPENBAO_IMAGE)


@pytest.mark.parametrize("host_network", [False, True], ids=["bridge", "host-network"])
def test_dev_mode_serves_the_vault_api_with_the_chosen_root_token(
    docker_engine: docker.DockerClient, image: str, world: str, host_network: bool
) -> None:
    token = Secret("root-" + "7" * 20)
    vault = VaultContainer(image, world=world, root_token=token, host_network=host_network)
    vault.start()
    try:
        assert vault.url.startswith("http://127.0.0.1:")
        assert vault.startup_s is not None
        assert vault.startup_s < 30
        assert requests.get(f"{vault.url}/v1/sys/health", timeout=5).json()["initialized"] is True
        client = hvac.Client(url=vault.url, token=token.reveal())
        client.sys.enable_secrets_engine("kv", path="git", options={"version": "2"})
        client.secrets.kv.v2.create_or_update_secret(
            mount_point="git", path="gitlab/repo-12/default/readonly", secret={"deploykey": "k-1"}
        )
        read = client.secrets.kv.v2.read_secret_version(
            mount_point="git", path="gitlab/repo-12/default/readonly", raise_on_deleted_version=True
        )
        assert read["data"]["data"] == {"deploykey": "k-1"}

        attrs = vault.get_wrapped_container().attrs
        assert attrs["Config"]["Labels"][OWNER_LABEL] == "nautes-e2e"
        assert attrs["Config"]["Labels"][WORLD_LABEL] == world
        assert attrs["Config"]["Labels"][COMPONENT_LABEL] == "vault"
        assert token.reveal() not in " ".join(attrs["Args"] + [attrs["Path"]])  # env, never argv
        assert attrs["HostConfig"]["NetworkMode"] == ("host" if host_network else "default")
        if not host_network:
            bindings = attrs["HostConfig"]["PortBindings"]["8200/tcp"]
            assert [binding["HostIp"] for binding in bindings] == ["127.0.0.1"]
        assert token.reveal() not in vault.logs_redacted()
        assert "core: vault is unsealed" in vault.logs_redacted()
    finally:
        vault.stop()
    assert containers_of(docker_engine, world) == []
    vault.stop()  # idempotent


def test_server_mode_is_uninitialised_behind_tls_of_the_world_ca(image: str, world: str) -> None:
    tls = ca_signed_tls()
    vault = VaultContainer(image, mode="server", world=world, tls=tls)
    assert vault.root_token is None
    vault.start()
    try:
        assert vault.url.startswith("https://127.0.0.1:")
        # Verified against the test CA (the certificate names 127.0.0.1) ...
        health = requests.get(f"{vault.url}/v1/sys/health", verify=str(CA_PEM), timeout=5)
        assert (health.status_code, health.json()["initialized"]) == (501, False)
        # ... and refused by a client that trusts only the system's CAs.
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{vault.url}/v1/sys/health", timeout=5)
        # What the installer's vault-init waits for (HTTP 200 on the root, the UI redirect followed).
        assert requests.get(vault.url, verify=str(CA_PEM), timeout=5).status_code == 200
        # init-vault's unseal (nautes-labs/init-vault v0.2.0 pkg/vault/unseal.go): 3 shares, threshold 2.
        client = hvac.Client(url=vault.url, verify=str(CA_PEM))
        keys = client.sys.initialize(secret_shares=3, secret_threshold=2)
        client.sys.submit_unseal_keys(keys["keys"][:2])
        assert client.sys.is_sealed() is False
        assert "OpenBao v2.7.2" in vault.exec(["/bin/bao", "version"]).output.decode()
    finally:
        vault.stop()


def test_server_mode_configuration_is_what_the_installer_role_writes(
    docker_engine: docker.DockerClient,
) -> None:
    """testcontainers' container asks the engine for its version as soon as it is made."""
    tls = ca_signed_tls()
    listener = (
        'listener "tcp" {\n'
        '  address = "0.0.0.0:8200"\n'
        '  cluster_address = "0.0.0.0:8201"\n'
        '  tls_cert_file = "/vault/config/vault.crt"\n'
        '  tls_key_file = "/vault/config/vault.key"\n'
        '  tls_min_version = "tls12"\n'
        "}\n"
    )
    vault = VaultContainer(
        INSTALLER_VAULT_IMAGE, mode="server", world="w1", tls=tls, network="n", aliases=["vault"]
    )
    assert vault.flavour == "vault"
    assert vault.server_config() == (
        'ui = true\napi_addr = "https://vault:8200"\n'
        'disable_mlock = true\nstorage "file" {\n  path = "/vault/file"\n}\n' + listener
    )
    bao = VaultContainer(OPENBAO_IMAGE, mode="server", world="w1", tls=tls)
    assert bao.flavour == "openbao"
    assert bao.server_config() == (
        'ui = true\napi_addr = "https://127.0.0.1:8200"\n'
        'cluster_addr = "https://127.0.0.1:8201"\n'
        'storage "raft" {\n  path = "/vault/file"\n  node_id = "w1"\n}\n' + listener
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "prod"}, "Vault mode 'prod': one of dev, server"),
        ({"tls": "tls"}, "dev mode serves plain HTTP"),
        ({"mode": "server"}, "server mode serves TLS"),
        ({"mode": "server", "tls": "tls", "root_token": Secret("root-token-1")}, "comes from sys/init"),
        ({"host_network": True, "network": "w"}, "either the host's network or 'w'"),
        ({"aliases": ("vault",)}, "need a network"),
    ],
)
def test_bad_options_are_refused_before_anything_starts(options: dict[str, object], message: str) -> None:
    if options.get("tls") == "tls":
        options = {**options, "tls": ca_signed_tls()}
    with pytest.raises(ValueError, match=message):
        VaultContainer(world="never-started", **options)  # type: ignore[arg-type]


def test_a_certificate_of_another_ca_never_passes_the_readiness_check(image: str, world: str) -> None:
    genuine = ca_signed_tls()
    # The check trusts only the "CA" it is given; here that is the server certificate itself, not its issuer.
    wrong = TlsFiles(cert_pem=genuine.cert_pem, key_pem=genuine.key_pem, ca_pem=genuine.cert_pem)
    vault = VaultContainer(image, mode="server", world=world, tls=wrong, startup_timeout_s=2)
    began = time.monotonic()
    try:
        with pytest.raises(ContainerNotReady) as caught:
            vault.start()
        assert time.monotonic() - began < 20
        text = str(caught.value)
        assert re.match(r"the vault container \w+ \(nautes-e2e/openbao:2\.7\.2\) was not ready: ", text), text
        assert "HTTP endpoint not ready within 2" in text
        assert "http: TLS handshake error" in vault.logs_redacted()  # it ran; the check refused it
    finally:
        vault.stop()
