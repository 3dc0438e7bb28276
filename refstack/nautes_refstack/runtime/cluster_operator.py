"""Cluster-side setup for each Cluster CR that points at this stack's runtime cluster (contract §3.5 step 3).

What Argo CD does from the cluster templates (CT ``runtimes/_RUNTIME_``: component namespaces, Tekton
and its ClusterTasks, the Argo Events service account and CA ConfigMap, the ``vault-auth`` token reviewer)
and what the cluster-operator does in Vault: a Kubernetes auth mount named after the cluster, configured
with this cluster's API URL, a CA certificate and a token-reviewer JWT. Only pipeline workers whose
``spec.apiServer`` is this cluster's are handled; other Cluster CRs belong to other targets. A Cluster CR
that disappears has its auth mount disabled, and the components go once no such CR is left.

One Kubernetes cluster registered twice (two Cluster CRs with its ``apiServer``, e.g. two runs with their
own suffix on one world) is a collision in Nautes v0.4.x itself: every registration syncs the same
component Applications into the cluster's ``argocd`` namespace under the same names — the Vault chart's is
``vault``, with ``injector.authPath: auth/<cluster>`` (cluster-templates v0.4.0
``runtimes/_RUNTIME_/production/vault-app.yaml``, synced by each registration's ``<cluster>-runtime-app``,
``runtimes/_RUNTIME_/runtime-app.yaml``, both with ``selfHeal``) — so the registrations fight over one
vault-agent injector, and a pipeline pod logs in at whichever auth path it carries at that moment. The
stack settles the fight for the oldest registration still present (its application heals the injector
back) and hands the injector to the next one when that registration goes: the pipelines of a younger
registration fail their Vault login ("invalid role name") for as long as an older one is registered, as
they would on a real installation at any moment the older one's application wins.

A virtual pipeline worker is handled by the runtime cluster that serves it (:mod:`nautes_refstack.vclusters`):
the API server stored no kubeconfig for it, so the operator first reads it from the vcluster's Secret on the
host and keeps it in Vault where a physical cluster's is (NAUTES v0.4.2 ``app/cluster-operator/internal/
secretclient/vault/vault_sync.go`` ``SyncSecret``: ``createSecret`` for every non-physical cluster, then
the auth mount for every worker). A host registration gets no auth mount (``syncAuth``: ``deleteAuth`` for
a host); its runtime cluster installs the virtual clusters registered on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from nautes_refstack.kube import ObjectStore
from nautes_refstack.kube.tls import self_signed_ca_pem
from nautes_refstack.runtime.event_objects import CA_CONFIGMAP, SENSOR_SERVICE_ACCOUNT
from nautes_refstack.runtime.kube_apply import delete_if_present, get_or_none
from nautes_refstack.runtime.resources import Cluster
from nautes_refstack.runtime.snapshots import TenantSnapshot
from nautes_refstack.runtime.vault_api import VaultApi, VaultError
from nautes_refstack.tekton.catalog import (
    CLUSTER_TASK_API_VERSION,
    CLUSTER_TASK_SPECS,
    TEKTON_NAMESPACE,
    install_tekton,
)
from nautes_refstack.tekton.vault_agent import INJECTOR_AUTH_PATH_ENV, INJECTOR_NAME

log = logging.getLogger(__name__)

TOKEN_REVIEWER_NAMESPACE = "vault"
#: Where the API server's cluster save keeps the cluster's kubeconfig in the ``cluster`` KV v2 mount, and the
#: policy that reads it (vault-proxy ``CreateCluster``; ``nautes/vault_store.py`` ``save_kubeconfig``).
KUBECONFIG_SECRET_PATH = "kubernetes/{cluster}/default/admin"
KUBECONFIG_POLICY = "kubernetes-{cluster}-default-admin"
TOKEN_REVIEWER_ACCOUNT = "vault-auth"
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"


#: The kubeconfig of a virtual cluster as the operator reads it from its host (None while not there).
VirtualKubeconfig = Callable[[Cluster], "str | None"]
#: The cluster-operator's read policy of a kubeconfig (vault-proxy ``CreateCluster``; as
#: ``nautes/vault_store.py`` writes it for a physical cluster).
KUBECONFIG_POLICY_TEXT = """
path "cluster/data/{path}" {{
    capabilities = ["read"]
}}

path "auth/{cluster}/role/*" {{
    capabilities = ["read"]
}}"""


class VirtualClusters(Protocol):
    """The virtual clusters a runtime cluster hosts (``nautes_refstack.vclusters.VClusterHost``)."""

    async def install(self, tenant: TenantSnapshot) -> None: ...

    async def remove_gone(self, tenant: TenantSnapshot) -> None: ...


def _vault_agent_injector(cluster: Cluster, vault_url: str) -> dict[str, Any]:
    """The Vault chart's agent injector as Nautes installs it on a runtime (``injector.authPath:
    auth/<cluster>``, contract §5.2); the pipeline executor reads the auth path from it."""
    namespace = cluster.component_namespace("secretManagement", "vault")
    labels = {"app.kubernetes.io/name": INJECTOR_NAME}
    env = [
        {"name": INJECTOR_AUTH_PATH_ENV, "value": f"auth/{cluster.name}"},
        {"name": "AGENT_INJECT_VAULT_ADDR", "value": vault_url},
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": INJECTOR_NAME, "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "sidecar-injector", "image": "hashicorp/vault-k8s:0.16.1", "env": env}
                    ]
                },
            },
        },
    }


def _cluster_role_binding(name: str, role: str, account: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }


class ClusterOperator:
    """Installs the runtime side of every pipeline-worker Cluster CR whose ``apiServer`` is ``api_server``."""

    def __init__(
        self,
        store: ObjectStore,
        vault: VaultApi,
        kube_url: str,
        api_server: str,
        kube_ca_pem: str | None = None,
        vclusters: VirtualClusters | None = None,
        virtual_kubeconfig: VirtualKubeconfig | None = None,
    ) -> None:
        self._store = store
        self._vclusters = vclusters
        self._virtual_kubeconfig = virtual_kubeconfig
        #: One pass at a time: a virtual cluster's host asks for its release while its reconciler may run.
        self._lock = asyncio.Lock()
        self._vault = vault
        self._kube_url = kube_url
        self._api_server = api_server
        self._ca_pem = kube_ca_pem or self_signed_ca_pem("nautes-e2e runtime cluster CA")
        self._clusters: list[str] = []  # in the order they were registered: the oldest owns the injector
        self._hosts: set[str] = set()  # host registrations of this cluster: no auth mount, a kubeconfig
        self._created: list[tuple[str, str, str | None, str]] = []
        self._fighting: tuple[str, ...] = ()  # the registrations last warned about

    def ours(self, tenant: TenantSnapshot) -> list[Cluster]:
        """The Cluster CRs this cluster answers to (other API servers belong to other targets)."""
        return [
            c for c in tenant.clusters.values() if c.is_served_at(self._api_server) and c.is_pipeline_worker
        ]

    async def install(self, tenant: TenantSnapshot) -> None:
        """Install the hosted virtual clusters, then components and Vault for every Cluster CR of this
        cluster (idempotent)."""
        if self._vclusters is not None:
            await self._vclusters.install(tenant)
        async with self._lock:
            await self._install(tenant)

    async def _install(self, tenant: TenantSnapshot) -> None:
        self._hosts |= self._hosts_here(tenant)
        ours = self.ours(tenant)
        for cluster in list(ours):
            if cluster.is_virtual and not await self._keep_virtual_kubeconfig(cluster):
                ours.remove(cluster)  # not there yet on the host: the next reconcile tries again
                continue
            self._install_components(cluster)
            await self._configure_auth(cluster.name)
            if cluster.name not in self._clusters:
                log.info(
                    "cluster %s: runtime components installed, auth/%s configured", cluster.name, cluster.name
                )
                self._clusters.append(cluster.name)
        self._settle_injector({cluster.name: cluster for cluster in ours})

    async def _keep_virtual_kubeconfig(self, cluster: Cluster) -> bool:
        """``createSecret``: the vcluster's kubeconfig from its host, kept in Vault unless already there
        (NAUTES v0.4.2 ``app/cluster-operator/internal/secretclient/vault/vault.go``). False while the
        host has none (``getVClusterKubeConfig`` requeues: ``vcluster is none or not only``)."""
        kubeconfig = None if self._virtual_kubeconfig is None else self._virtual_kubeconfig(cluster)
        if kubeconfig is None:
            return False
        path = KUBECONFIG_SECRET_PATH.format(cluster=cluster.name)
        if ((await self._vault.read_kv("cluster", path)) or {}).get("kubeconfig") != kubeconfig:
            await self._vault.write(
                f"sys/policies/acl/{KUBECONFIG_POLICY.format(cluster=cluster.name)}",
                {"policy": KUBECONFIG_POLICY_TEXT.format(path=path, cluster=cluster.name)},
            )
            await self._vault.write(f"cluster/data/{path}", {"data": {"kubeconfig": kubeconfig}})
        return True

    async def remove_gone(self, tenant: TenantSnapshot) -> None:
        """Undo :meth:`install` for Cluster CRs that no longer point here, then uninstall the virtual
        clusters whose registration went."""
        async with self._lock:
            await self._remove_gone(tenant)
        if self._vclusters is not None:
            await self._vclusters.remove_gone(tenant)

    def _hosts_here(self, tenant: TenantSnapshot) -> set[str]:
        return {
            c.name for c in tenant.clusters.values() if c.usage == "host" and c.is_served_at(self._api_server)
        }

    async def _remove_gone(self, tenant: TenantSnapshot) -> None:
        # ``Delete`` -> ``deleteCluster`` deletes every registration's secret, a host's too (vault_sync.go).
        for host in sorted(self._hosts - self._hosts_here(tenant)):
            await self._delete_kubeconfig_secret(host)
            self._hosts.discard(host)
            log.info("host cluster %s removed: its kubeconfig secret deleted", host)
        ours = {cluster.name: cluster for cluster in self.ours(tenant)}
        gone = [name for name in self._clusters if name not in ours]
        for name in gone:
            await self._delete_kubeconfig_secret(name)
            if f"{name}/" in await self._vault.auth_mounts():
                await self._vault.disable_auth(name)
            self._clusters.remove(name)
            log.info("cluster %s removed: its kubeconfig secret deleted, auth/%s disabled", name, name)
        if gone and not self._clusters:
            self._uninstall_components()
        elif gone:
            self._settle_injector(ours)

    async def _delete_kubeconfig_secret(self, name: str) -> None:
        """The cluster-operator's ``deleteCluster`` deletes the secret before the auth mount
        (NAUTES v0.4.2 ``app/cluster-operator/internal/secretclient/vault/vault_sync.go``: ``deleteSecret``
        through vault-proxy ``DeleteCluster``), which removes the policy, then every version of the secret
        (vault-proxy v0.4.0 ``internal/biz/vaultproxy/vault_secret.go`` ``DeleteSecret``). Both are
        written by the API server's cluster save (``nautes/vault_store.py`` ``save_kubeconfig``)."""
        for path in (
            f"sys/policies/acl/{KUBECONFIG_POLICY.format(cluster=name)}",
            f"cluster/metadata/{KUBECONFIG_SECRET_PATH.format(cluster=name)}",
        ):
            try:
                await self._vault.delete(path)
            except VaultError as error:
                if error.status != 404:
                    raise

    def _settle_injector(self, ours: dict[str, Cluster]) -> None:
        """The vault-agent injector carries the auth path of the oldest registration still present (see
        the module docstring: the registrations' ``vault`` applications fight over it)."""
        owner = next((name for name in self._clusters if name in ours), None)
        if owner is None:
            return
        fighting = tuple(name for name in self._clusters if name in ours)
        if len(fighting) > 1 and fighting != self._fighting:
            log.warning(
                "clusters %s are registrations of one Kubernetes cluster: their Argo CD applications fight "
                "over one vault-agent injector (application vault), which keeps auth/%s",
                ", ".join(fighting),
                owner,
            )
        self._fighting = fighting
        wanted = _vault_agent_injector(ours[owner], self._vault.url)
        key = ("apps/v1", "Deployment", wanted["metadata"]["namespace"], INJECTOR_NAME)
        current = get_or_none(self._store, *key)
        if current is None:
            self._create_once(wanted)
        elif current["spec"]["template"] != wanted["spec"]["template"]:
            current["spec"] = wanted["spec"]
            self._store.replace(current)
            log.info("vault-agent injector now logs in at auth/%s", owner)

    def _install_components(self, cluster: Cluster) -> None:
        namespaces = {component.namespace for component in cluster.components.values() if component.namespace}
        for namespace in sorted(namespaces | {TOKEN_REVIEWER_NAMESPACE}):
            self._create_once({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        tekton = [("v1", "Namespace", None, TEKTON_NAMESPACE)] + [
            (CLUSTER_TASK_API_VERSION, "ClusterTask", None, name) for name in CLUSTER_TASK_SPECS
        ]
        missing = [key for key in tekton if get_or_none(self._store, *key) is None]
        install_tekton(self._store)
        self._created.extend(missing)
        events = cluster.component_namespace("eventListener", "argo-events")
        self._create_once(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": SENSOR_SERVICE_ACCOUNT, "namespace": events},
            }
        )
        self._create_once(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": CA_CONFIGMAP, "namespace": events},
                "data": {"ca.crt": self._ca_pem},
            }
        )
        self._create_once(
            _cluster_role_binding(
                "tekton-pipelines-argoevents-cluster-access",
                "tekton-pipelines-controller-cluster-access",
                SENSOR_SERVICE_ACCOUNT,
                events,
            )
        )
        self._create_once(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": TOKEN_REVIEWER_ACCOUNT, "namespace": TOKEN_REVIEWER_NAMESPACE},
            }
        )
        self._create_once(
            _cluster_role_binding(
                "role-tokenreview-binding",
                "system:auth-delegator",
                TOKEN_REVIEWER_ACCOUNT,
                TOKEN_REVIEWER_NAMESPACE,
            )
        )

    def _create_once(self, obj: dict[str, Any]) -> None:
        """Create ``obj`` unless it exists; remember what this operator created, to remove it later."""
        metadata = obj["metadata"]
        key = (str(obj["apiVersion"]), str(obj["kind"]), metadata.get("namespace"), str(metadata["name"]))
        if get_or_none(self._store, *key) is None:
            self._store.create(obj)
            self._created.append(key)

    def _uninstall_components(self) -> None:
        """Delete what :meth:`_install_components` created, newest first (Argo CD pruning the apps)."""
        while self._created:
            delete_if_present(self._store, *self._created.pop())

    async def _configure_auth(self, cluster: str) -> None:
        if f"{cluster}/" not in await self._vault.auth_mounts():
            await self._vault.enable_auth(cluster, "kubernetes")
        reviewer_jwt = self._store.issue_service_account_token(
            TOKEN_REVIEWER_NAMESPACE, TOKEN_REVIEWER_ACCOUNT
        )
        await self._vault.write(
            f"auth/{cluster}/config",
            {
                "kubernetes_host": self._kube_url,
                "kubernetes_ca_cert": self._ca_pem,
                "token_reviewer_jwt": reviewer_jwt,
                "disable_local_ca_jwt": True,
            },
        )
