"""A virtual runtime cluster comes up on its host, and Nautes keeps its kubeconfig.

The API server stores no kubeconfig for a virtual cluster: Argo CD installs the vcluster chart on the host
(namespace ``<vcluster>``, a StatefulSet labelled ``app=vcluster``, its API at the host's address and
``vcluster.httpsNodePort``; contract §3.1, §4.5), and the cluster-operator then reads the vcluster's
kubeconfig from the host, points it at the registered ``apiServer`` and keeps it in Vault where a physical
cluster's is (NAUTES v0.4.2 ``app/cluster-operator/internal/secretclient/vault/vault.go``
``getVClusterKubeConfig``). Until then nothing can reach the virtual cluster; while waiting, the host
tells why.
"""

from __future__ import annotations

from nautes_e2e.clients import KubeError, ServiceUnreachable
from nautes_e2e.suite import KubeClient, Observation, VaultClient
from suites.quickstart.cluster_credential import kubeconfig_path

APPS = "apps/v1"
#: The label of the vcluster chart's StatefulSet, which the cluster-operator looks it up by.
VCLUSTER_SELECTOR = "app=vcluster"


def kubeconfig_kept(vault: VaultClient, host: KubeClient, cluster: str, host_cluster: str) -> Observation:
    """Done once Vault holds the virtual cluster's kubeconfig; until then, what the host runs of it."""
    path = f"cluster/data/{kubeconfig_path(cluster)}"
    if "kubeconfig" in (vault.kv_keys("cluster", kubeconfig_path(cluster)) or []):
        return Observation(True, f"Vault holds the kubeconfig of {cluster} ({path})")
    try:
        installed = host.list(APPS, "StatefulSet", cluster, label_selector=VCLUSTER_SELECTOR)
    except (KubeError, ServiceUnreachable) as unknown:
        return Observation(False, f"no kubeconfig at {path} yet; the host cannot tell why: {unknown}")
    if not installed:
        return Observation(
            False,
            f"host {host_cluster} runs no vcluster {cluster} (no StatefulSet labelled {VCLUSTER_SELECTOR} in "
            f"namespace {cluster}): nothing serves its API, and Nautes keeps no kubeconfig for it at {path}",
        )
    return Observation(False, f"vcluster {cluster} runs on host {host_cluster}; no kubeconfig at {path} yet")
