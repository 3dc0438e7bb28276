"""One Kubernetes cluster registered with Nautes twice: the registrations share one vault-agent injector.

In Nautes v0.4.x every registration syncs Application ``vault`` (``injector.authPath: auth/<cluster>``)
into the cluster's ``argocd`` namespace (cluster-templates v0.4.0
``runtimes/_RUNTIME_/production/vault-app.yaml``), so two registrations fight over one injector. The stack
keeps the oldest registration's auth path while it is registered and hands the injector to the next one
when it goes; the injector leaves with the last.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import hvac
import pytest
from nautes_refstack.kube import KubeApiServer, KubeError, ObjectStore
from nautes_refstack.runtime.cluster_operator import ClusterOperator
from nautes_refstack.runtime.snapshots import tenant_from_documents
from nautes_refstack.runtime.vault_api import VaultApi
from nautes_refstack.tekton.vault_agent import INJECTOR_NAME, injector_auth_path
from nautes_refstack.vault import OpenBao
from support.loop import BackgroundLoop
from support.nautes import cluster_cr


class Cluster:
    """OpenBao, one runtime cluster (store + API server) and its cluster operator, on one loop."""

    def __init__(self, loop: BackgroundLoop, scratch: Path) -> None:
        self.loop = loop
        self.bao = OpenBao(log_path=scratch / "openbao.log")
        self.store = ObjectStore()
        self.kube = KubeApiServer(self.store, "admin-token", tls=True)

    async def start(self) -> None:
        await self.bao.start()
        await self.kube.start()
        self.http = aiohttp.ClientSession()
        vault = VaultApi(self.http, self.bao.url, self.bao.root_token)
        self.operator = ClusterOperator(self.store, vault, self.kube.url, self.kube.url, self.kube.ca_pem)

    async def stop(self) -> None:
        await self.http.close()
        await self.kube.stop()
        await self.bao.stop()

    def registered(self, *names: str) -> None:
        """The tenant repository now registers this cluster under ``names`` (in that order of age)."""
        tenant = tenant_from_documents([cluster_cr(name, self.kube.url) for name in names])
        self.loop.run(self.operator.install(tenant))
        self.loop.run(self.operator.remove_gone(tenant))

    def auth_path(self) -> str | None:
        return self.loop.call(injector_auth_path, self.store)

    def auth_mounts(self) -> set[str]:
        mounts = hvac.Client(url=self.bao.url, token=self.bao.root_token).sys.list_auth_methods()["data"]
        return {mount.rstrip("/") for mount, spec in mounts.items() if spec["type"] == "kubernetes"}

    def injector(self) -> dict[str, Any] | None:
        try:
            return self.loop.call(self.store.get, "apps/v1", "Deployment", "vault", INJECTOR_NAME)
        except KubeError:
            return None


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory() as scratch, BackgroundLoop() as loop:
        running = Cluster(loop, Path(scratch))
        loop.run(running.start())
        try:
            yield running
        finally:
            loop.run(running.stop())


def test_the_oldest_registration_keeps_the_injector_while_it_is_registered(cluster: Cluster) -> None:
    cluster.registered("physical-worker-a")
    assert cluster.auth_path() == "auth/physical-worker-a"
    cluster.registered("physical-worker-a", "physical-worker-b")
    assert cluster.auth_mounts() == {"physical-worker-a", "physical-worker-b"}
    assert cluster.auth_path() == "auth/physical-worker-a"  # b's pipelines log in where b has no role


def test_the_injector_passes_to_the_remaining_registration_and_leaves_with_the_last(cluster: Cluster) -> None:
    cluster.registered("physical-worker-a", "physical-worker-b")
    cluster.registered("physical-worker-b")  # a's run tore its registration down
    assert cluster.auth_mounts() == {"physical-worker-b"}
    assert cluster.auth_path() == "auth/physical-worker-b"
    cluster.registered()
    assert cluster.injector() is None
    assert cluster.auth_mounts() == set()


def test_a_registration_made_after_the_others_went_gets_the_injector(cluster: Cluster) -> None:
    cluster.registered("physical-worker-a")
    cluster.registered()
    cluster.registered("physical-worker-c")
    assert cluster.auth_path() == "auth/physical-worker-c"


def test_a_removed_registration_takes_its_kubeconfig_secret_and_policy_along(cluster: Cluster) -> None:
    """NAUTES v0.4.2 cluster-operator ``deleteCluster``: the secret (through vault-proxy ``DeleteCluster``:
    policy, then every version), then the auth mount."""
    vault = hvac.Client(url=cluster.bao.url, token=cluster.bao.root_token)
    for name in ("physical-worker-a", "physical-worker-b"):
        vault.secrets.kv.v2.create_or_update_secret(
            mount_point="cluster", path=f"kubernetes/{name}/default/admin", secret={"kubeconfig": "x"}
        )
        vault.sys.create_or_update_policy(name=f"kubernetes-{name}-default-admin", policy='path "x" {}')
    cluster.registered("physical-worker-a", "physical-worker-b")

    cluster.registered("physical-worker-b")

    secrets = vault.secrets.kv.v2.list_secrets(mount_point="cluster", path="kubernetes")["data"]["keys"]
    assert secrets == ["physical-worker-b/"]
    policies = vault.sys.list_acl_policies()["data"]["keys"]
    assert "kubernetes-physical-worker-a-default-admin" not in policies
    assert "kubernetes-physical-worker-b-default-admin" in policies
