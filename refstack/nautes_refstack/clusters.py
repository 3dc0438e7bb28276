"""The stack's Kubernetes runtime clusters: one API server, object store, Tekton executor and set of runtime
controllers each.

A stack has one runtime cluster by default (``runtime``) and more with ``up --clusters N`` (``runtime-2``,
...): Nautes v0.4.x lets one Kubernetes cluster carry one registration at a time (two registrations fight
over its components, :mod:`.runtime.cluster_operator`), so runs that share a world side by side each need a
cluster of their own, as they would on a real installation. Each cluster's controllers answer only to the
Cluster CRs whose ``apiServer`` is its own. A cluster registered as a host carries the virtual clusters
registered on it (:mod:`.vclusters`): each is a runtime cluster of its own, served at its node port.
"""

from __future__ import annotations

import secrets
from functools import partial
from pathlib import Path

from nautes_refstack.argocd import ArgoCd
from nautes_refstack.faults import Faults
from nautes_refstack.gitlab import GitLab
from nautes_refstack.kube import KubeApiServer, ObjectStore, kubeconfig_yaml
from nautes_refstack.kube.control_plane import ControlPlane
from nautes_refstack.pace import Pace
from nautes_refstack.runtime import RuntimeControllers
from nautes_refstack.tekton import TektonController
from nautes_refstack.vclusters import VClusterHost, virtual_kubeconfig

FIRST_CLUSTER = "runtime"
MAX_CLUSTERS = 8


def cluster_names(count: int) -> list[str]:
    """``runtime``, ``runtime-2``, ... ``runtime-<count>``."""
    return [FIRST_CLUSTER] + [f"{FIRST_CLUSTER}-{number}" for number in range(2, count + 1)]


class RuntimeCluster:
    """One runtime cluster; its API server starts with the stack's services, its controllers once Nautes
    is installed (:meth:`start_controllers`)."""

    def __init__(self, name: str, faults: Faults, pace: Pace, work_dir: Path, port: int = 0) -> None:
        self.name = name
        self._port = port  # where its API listens: a free port, or a virtual cluster's node port
        #: The Tekton work folder, inside the stack's directory: whatever ends the stack, it is tidied with
        #: the directory (a folder of its own under $TMPDIR outlived a stack killed outright).
        self.work_dir = work_dir
        self.faults = faults
        self.pace = pace
        self.admin_token = secrets.token_urlsafe(32)
        self.store = ObjectStore()
        # HTTPS: kubectl sends a kubeconfig's credentials only to an https:// server.
        self.kube = KubeApiServer(self.store, self.admin_token, tls=True, faults=faults)
        self.tekton: TektonController | None = None
        # The scheduler's, kubelet's and Tekton's Events, pods' placement, Endpoints, the root CA ConfigMap.
        self.control_plane = ControlPlane(self.store, self.kube.ca_pem)
        self.runtime: RuntimeControllers | None = None
        self.vclusters: VClusterHost | None = None

    @property
    def url(self) -> str:
        return self.kube.url

    async def start(self) -> None:
        await self.kube.start(self._port)

    async def start_controllers(
        self,
        gitlab: GitLab,
        vault_url: str,
        vault_token: str,
        tenant_repo: str,
        argocd: ArgoCd,
        host: ObjectStore | None = None,
    ) -> None:
        """Start Tekton and the runtime controllers; ``host`` is the store of the cluster a virtual cluster
        runs in (its kubeconfig is there)."""

        def make_virtual(name: str, port: int) -> RuntimeCluster:
            return RuntimeCluster(name, self.faults, self.pace, self.work_dir / "vclusters" / name, port)

        async def launch_virtual(virtual: RuntimeCluster) -> None:
            try:
                await virtual.start()
                await virtual.start_controllers(
                    gitlab, vault_url, vault_token, tenant_repo, argocd, host=self.store
                )
            except BaseException:
                await virtual.stop()
                raise

        self.vclusters = VClusterHost(
            self.store, self.kube.url, (make_virtual, launch_virtual), self.faults, self.pace
        )
        self.tekton = TektonController(
            self.store, vault_url, faults=self.faults, pace=self.pace, work_dir=self.work_dir, scheduler=True
        )
        self.runtime = RuntimeControllers(
            self.store,
            gitlab,
            vault_url,
            vault_token,
            kube_url=self.kube.url,
            cluster_api_server=self.kube.url,
            tenant_repo=tenant_repo,
            kube_ca_pem=self.kube.ca_pem,
            faults=self.faults,
            pace=self.pace,
            argocd=argocd,
            vclusters=self.vclusters,
            virtual_kubeconfig=None if host is None else partial(virtual_kubeconfig, host),
        )
        await self.tekton.start()
        await self.control_plane.start()
        await self.runtime.start()

    async def stop(self) -> None:
        """Controllers first, then the virtual clusters it hosts, then the API server; each piece is stopped
        even if one before it fails."""
        try:
            if self.runtime is not None:
                await self.runtime.stop()
        finally:
            try:
                if self.vclusters is not None:
                    await self.vclusters.stop()
            finally:
                try:
                    await self.control_plane.stop()
                    if self.tekton is not None:
                        await self.tekton.stop()
                finally:
                    await self.kube.stop()

    def kubeconfig(self) -> str:
        """An admin kubeconfig of this cluster (it holds the admin token: written 0600)."""
        return kubeconfig_yaml(self.kube.url, self.admin_token, self.name, ca_pem=self.kube.ca_pem)
