"""A real OpenBao Kubernetes-auth login against the emulator's TokenReview (what Nautes' Vault roles need)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest
from hvac.exceptions import Forbidden
from kubernetes import client
from nautes_refstack.kube.tls import ServingCertificate
from nautes_refstack.kube.tokens import TokenSigner
from nautes_refstack.vault import OpenBao
from support.kube import RunningKube

MOUNT = "runtime"
POLICY = 'path "git/data/x" { capabilities = ["read"] }'


@pytest.fixture(scope="module")
def kube() -> Iterator[RunningKube]:
    with RunningKube() as running:
        yield running


@pytest.fixture(scope="module")
def bao(kube: RunningKube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    server = OpenBao(Path(tmp_path_factory.mktemp("openbao")) / "openbao.log")
    kube.run(server.start())
    yield server
    kube.run(server.stop())


@pytest.fixture(scope="module")
def root(kube: RunningKube, bao: OpenBao) -> hvac.Client:
    """OpenBao with a secret at git/x and Kubernetes auth at ``runtime/`` (:func:`enable_kubernetes_auth`)."""
    core = client.CoreV1Api(kube.api_client())
    core.create_namespace({"metadata": {"name": "ns1"}})
    for account in ("sa1", "sa2"):
        core.create_namespaced_service_account("ns1", {"metadata": {"name": account}})
    core.create_namespaced_service_account("kube-system", {"metadata": {"name": "vault-reviewer"}})

    vault = hvac.Client(url=bao.url, token=bao.root_token)
    vault.secrets.kv.v2.create_or_update_secret(mount_point="git", path="x", secret={"deploykey": "k1"})
    vault.sys.create_or_update_policy("read-x", POLICY)
    enable_kubernetes_auth(vault, kube, MOUNT)
    return vault


def enable_kubernetes_auth(
    vault: hvac.Client, kube: RunningKube, mount: str, pem_keys: list[str] | None = None
) -> None:
    """Kubernetes auth at ``mount`` trusting the emulator, with role ``r1`` for ns1/sa1 reading git/data/x."""
    vault.sys.enable_auth_method("kubernetes", path=mount)
    config = {
        "kubernetes_host": kube.url,
        # Any PEM will do: the emulator speaks plain HTTP here.
        "kubernetes_ca_cert": ServingCertificate.generate().ca_pem,
        "token_reviewer_jwt": kube.call(
            kube.store.issue_service_account_token, "kube-system", "vault-reviewer"
        ),
        "pem_keys": pem_keys or [],
        "disable_local_ca_jwt": True,
    }
    # Posted directly: hvac's configure() takes only certificates as pem_keys, OpenBao takes public keys too.
    vault.adapter.post(f"/v1/auth/{mount}/config", json=config)
    vault.auth.kubernetes.create_role(
        "r1",
        bound_service_account_names=["sa1"],
        bound_service_account_namespaces=["ns1"],
        policies=["read-x"],
        mount_point=mount,
    )


def login(bao: OpenBao, jwt: str, mount: str = MOUNT) -> hvac.Client:
    user = hvac.Client(url=bao.url)
    user.auth.kubernetes.login("r1", jwt, mount_point=mount)
    return user


def test_service_account_token_logs_in_and_reads_the_secret(
    kube: RunningKube, bao: OpenBao, root: hvac.Client
) -> None:
    user = login(bao, kube.call(kube.store.issue_service_account_token, "ns1", "sa1"))
    secret = user.secrets.kv.v2.read_secret_version(
        mount_point="git", path="x", raise_on_deleted_version=True
    )
    assert secret["data"]["data"] == {"deploykey": "k1"}


def test_token_of_another_service_account_is_refused(
    kube: RunningKube, bao: OpenBao, root: hvac.Client
) -> None:
    with pytest.raises(Forbidden):
        login(bao, kube.call(kube.store.issue_service_account_token, "ns1", "sa2"))


def test_token_of_a_deleted_service_account_is_refused(
    kube: RunningKube, bao: OpenBao, root: hvac.Client
) -> None:
    core = client.CoreV1Api(kube.api_client())
    old_jwt = kube.call(kube.store.issue_service_account_token, "ns1", "sa1")
    core.delete_namespaced_service_account("sa1", "ns1")
    core.create_namespaced_service_account("ns1", {"metadata": {"name": "sa1"}})  # same name, new uid
    with pytest.raises(Forbidden):
        login(bao, old_jwt)
    assert login(bao, kube.call(kube.store.issue_service_account_token, "ns1", "sa1")).is_authenticated()


def test_openbao_checks_the_signature_against_the_public_key(
    kube: RunningKube, bao: OpenBao, root: hvac.Client
) -> None:
    enable_kubernetes_auth(root, kube, "verified", pem_keys=[kube.store.token_signer.public_key_pem()])
    enable_kubernetes_auth(root, kube, "wrong-key", pem_keys=[TokenSigner().public_key_pem()])
    jwt = kube.call(kube.store.issue_service_account_token, "ns1", "sa1")
    assert login(bao, jwt, mount="verified").is_authenticated()
    with pytest.raises(Forbidden):
        login(bao, jwt, mount="wrong-key")
