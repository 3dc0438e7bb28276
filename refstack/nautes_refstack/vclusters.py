"""The virtual clusters a host runtime cluster carries: each a Kubernetes API of its own, inside the host.

On a real installation a virtual pipeline worker is a vcluster (chart 0.10.1, k3s) that Argo CD installs on
its host from the files the API server renders into the tenant repository, ``host-clusters/<host>/vclusters/
<vcluster>/`` (contract §3.1; cluster-templates v0.4.0 ``vcluster-app.yaml``: namespace ``<vcluster>`` on
the host, the chart's StatefulSet labelled ``app=vcluster``, its kubeconfig in Secret ``vc-<vcluster>`` key
``config``; ``vcluster-initial/svc.yaml``: the API at ``https_node_port`` of the host's nodes). Its API then
answers at the host's address and that port, as the virtual cluster's ``apiServer`` says (the guide:
``https://$hostcluster-ip:$api-server-port``). The cluster-operator reads the kubeconfig from the host's
Secret, points it at ``apiServer`` and keeps it in Vault (NAUTES v0.4.2 ``app/cluster-operator/internal/
secretclient/vault/vault.go`` ``getVClusterKubeConfig``).

Here the host's side of that (:class:`VClusterHost`, one per runtime cluster) follows the tenant snapshot:
for every virtual Cluster CR whose host is a host registration of this cluster, and whose Service the API
server rendered, it puts the chart's objects into the host and serves the virtual cluster's API on the
loopback address at the node port: a runtime cluster of the stack of its own (API server, Tekton, runtime
controllers). When the registration goes, so do they (Argo CD pruning the application).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import yaml

from nautes_refstack.faults import Faults
from nautes_refstack.kube import ObjectStore, kubeconfig_yaml
from nautes_refstack.pace import Pace
from nautes_refstack.runtime.kube_apply import delete_if_present, get_or_none
from nautes_refstack.runtime.resources import Cluster
from nautes_refstack.runtime.snapshots import TenantSnapshot

if TYPE_CHECKING:
    from nautes_refstack.clusters import RuntimeCluster

log = logging.getLogger(__name__)

#: Argo CD installing the vcluster chart on the host: k3s pulled and started, its syncer ready
#: **(inferred: about a minute on a fresh host)**.
VCLUSTER_START_SECONDS = 60.0
#: Where the vcluster's kubeconfig points inside the host (the syncer's port; vcluster 0.10 writes
#: ``https://localhost:8443``); the cluster-operator replaces it with the Cluster's ``apiServer``.
IN_CLUSTER_SERVER = "https://localhost:8443"

#: A virtual cluster named so, its API to be served at the port (a runtime cluster of the stack)...
MakeVirtual = Callable[[str, int], "RuntimeCluster"]
#: ...and what starts it (its API server and controllers; stopped again when the start fails).
LaunchVirtual = Callable[["RuntimeCluster"], Awaitable[None]]


def vcluster_secret_name(name: str) -> str:
    """``vc-<statefulset>``: the Secret the vcluster chart keeps its kubeconfig in (key ``config``)."""
    return f"vc-{name}"


def virtual_kubeconfig(host: ObjectStore, cluster: Cluster) -> str | None:
    """The cluster-operator's ``getVClusterKubeConfig``: the one StatefulSet labelled ``app=vcluster`` in
    namespace ``<vcluster>`` of the host, its Secret ``vc-<name>``'s ``config`` with the current context's
    server set to the Cluster's ``apiServer``. None while the vcluster is not there (the operator
    requeues)."""
    sets = host.list("apps/v1", "StatefulSet", cluster.name, label_selector="app=vcluster")
    if len(sets) != 1:
        return None
    secret = get_or_none(
        host, "v1", "Secret", cluster.name, vcluster_secret_name(sets[0]["metadata"]["name"])
    )
    encoded = ((secret or {}).get("data") or {}).get("config")
    if not encoded:
        return None
    config: Any = yaml.safe_load(base64.b64decode(encoded))
    current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    for entry in config["clusters"]:
        if entry["name"] == current["context"]["cluster"]:
            entry["cluster"]["server"] = cluster.api_server
    return str(yaml.safe_dump(config, sort_keys=False))


class VClusterHost:
    """The vclusters installed on the runtime cluster whose API server is ``api_server`` (``host``)."""

    def __init__(
        self,
        host: ObjectStore,
        api_server: str,
        virtual: tuple[MakeVirtual, LaunchVirtual],
        faults: Faults,
        pace: Pace,
    ) -> None:
        self._host = host
        self._api_server = api_server
        self._make, self._launch = virtual
        self._faults = faults
        self._pace = pace
        self._running: dict[str, RuntimeCluster] = {}

    def wanted(self, tenant: TenantSnapshot) -> dict[str, tuple[Cluster, int]]:
        """The virtual clusters this cluster hosts, with their node ports."""
        hosts = {
            c.name for c in tenant.clusters.values() if c.usage == "host" and c.is_served_at(self._api_server)
        }
        return {
            c.name: (c, tenant.vcluster_node_ports[c.name])
            for c in tenant.clusters.values()
            if c.is_virtual and c.host_cluster in hosts and c.name in tenant.vcluster_node_ports
        }

    async def install(self, tenant: TenantSnapshot) -> None:
        """Install every hosted vcluster not running yet (idempotent)."""
        for name, (cluster, port) in self.wanted(tenant).items():
            if name in self._running:
                continue
            if self._faults.active("vcluster-never-installed", about=name):
                continue  # fault: the chart never comes up on the host, nothing answers at the node port
            await self._pace.wait(VCLUSTER_START_SECONDS)
            virtual = self._make(name, port)
            self._install_on_host(cluster, port, virtual)
            try:
                await self._launch(virtual)
            except BaseException:
                delete_if_present(self._host, "v1", "Namespace", None, name)
                raise
            self._running[name] = virtual
            log.info("vcluster %s installed on %s, its API at %s", name, cluster.host_cluster, virtual.url)

    async def remove_gone(self, tenant: TenantSnapshot) -> None:
        """Uninstall the vclusters whose registration (or host registration) went: their own
        cluster-operator first lets go of them in Vault, then the API stops and the host's objects go."""
        wanted = self.wanted(tenant)
        for name in [name for name in self._running if name not in wanted]:
            virtual = self._running.pop(name)
            try:
                if virtual.runtime is not None:
                    await virtual.runtime.release(tenant)
            finally:
                await virtual.stop()
                delete_if_present(self._host, "v1", "Namespace", None, name)
            log.info("vcluster %s uninstalled", name)

    async def stop(self) -> None:
        """Stop every vcluster's API and controllers (the stack stops)."""
        running, self._running = self._running, {}
        for virtual in running.values():
            await virtual.stop()

    def _install_on_host(self, cluster: Cluster, port: int, virtual: RuntimeCluster) -> None:
        """What the chart and ``vcluster-initial`` put into the host (see the module docstring)."""
        name = cluster.name
        labels = {"app": "vcluster"}
        config = kubeconfig_yaml(IN_CLUSTER_SERVER, virtual.admin_token, name, ca_pem=virtual.kube.ca_pem)
        objects: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": name, "namespace": name, "labels": labels},
                "spec": {
                    "serviceName": f"{name}-headless",
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "vcluster", "image": "rancher/k3s:v1.21.13-k3s1"}]},
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": vcluster_secret_name(name), "namespace": name},
                "data": {"config": base64.b64encode(config.encode()).decode()},
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"svc-{name}", "namespace": name},
                "spec": {
                    "type": "NodePort",
                    "selector": labels,
                    "ports": [{"name": "https", "port": 443, "targetPort": 8443, "nodePort": port}],
                },
            },
        ]
        for obj in objects:
            key = (obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
            if get_or_none(self._host, *key) is None:
                self._host.create(obj)
