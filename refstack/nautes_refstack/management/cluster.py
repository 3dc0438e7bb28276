"""The tenant management cluster of the stack's Nautes installation, served like a runtime cluster.

On a real installation it is the vcluster ``nautes`` on the installer's K3s host (API NodePort 32000;
contract §5.1), holding Argo CD, namespace ``nautes`` with the tenant's CRs and a namespace per product
(contract §3.5): what a user points kubectl at to see what the operators see. Here it is one more emulated
Kubernetes API (:class:`nautes_refstack.kube.KubeApiServer`) whose objects follow the tenant repository and
every product's ``default.project`` as Argo CD has synced them (:mod:`.sync`). Nothing of the stack reads
them: the operators keep reading the synced commits themselves.

The installer leaves in it (INST ``nautes/roles/nautes/tasks/main.yml``, ``templates/argocd-app.yaml``; TRT
v0.4.2): the Nautes CRDs, Argo CD's Application ``nautes-management`` (``tenant/production``) and the
Application ``nautes`` that one syncs (``tenant/runtime``), their AppProject ``nautes``, and namespace
``nautes`` with the ProductProvider and the tenant repository's CodeRepo (``repo-<id>``, labelled
``coderepo.resource.nautes.io/tenant-management: nautes``). Those two are TRT files the stack's tenant
repository leaves out (it holds what the API server and operators read), so they are created here, untracked.
"""

from __future__ import annotations

import asyncio
import secrets

from nautes_refstack.argocd import ArgoCd
from nautes_refstack.faults import Faults
from nautes_refstack.kube import KubeApiServer, ObjectStore, kubeconfig_yaml
from nautes_refstack.management.argocd_apply import TRACKING_LABEL, application
from nautes_refstack.management.base_operator import (
    ARGO_CD_PROJECT,
    NAUTES_NAMESPACE,
    app_project,
    product_provider,
)
from nautes_refstack.management.definitions import NAUTES_API_VERSION, management_resource_types, nautes_crds
from nautes_refstack.management.sync import (
    MANAGEMENT_APPLICATION,
    TENANT_APPLICATION,
    ManagementSeam,
    ManagementSync,
)
from nautes_refstack.pace import Pace
from nautes_refstack.supervision import start_supervised

#: The vcluster's name, the tenant's (INST ``tenant_name``): the kubeconfig's cluster and context.
NAME = "nautes"
TENANT_LABEL = "coderepo.resource.nautes.io/tenant-management"


class ManagementCluster:
    """Its API server starts with the stack's services; :meth:`start_sync` once Argo CD is there."""

    def __init__(self, faults: Faults) -> None:
        self.admin_token = secrets.token_urlsafe(32)
        self.store = ObjectStore(management_resource_types())
        for crd in nautes_crds():
            self.store.create(crd)
        for namespace in ("argocd", NAUTES_NAMESPACE):
            self.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        # HTTPS: kubectl sends a kubeconfig's credentials only to an https:// server.
        self.kube = KubeApiServer(self.store, self.admin_token, tls=True, faults=faults)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return self.kube.url

    async def start(self) -> None:
        await self.kube.start()

    async def start_sync(
        self, gitlab: ManagementSeam, argocd: ArgoCd, tenant_repo: str, ssh_url_base: str, pace: Pace
    ) -> ManagementSync:
        """What the installer leaves, then Argo CD and the base operator at work (returned: GitLab's push
        callback is its ``on_push``)."""
        self._install(gitlab, tenant_repo, ssh_url_base)
        sync = ManagementSync(self.store, gitlab, argocd, tenant_repo, ssh_url_base, pace)
        sync.sync()  # the installer waited for the first sync
        self._task = start_supervised(sync.run(), "management-cluster-sync")
        return sync

    def _install(self, gitlab: ManagementSeam, tenant_repo: str, ssh_url_base: str) -> None:
        repo_url = f"{ssh_url_base}/{tenant_repo}.git"
        outer = application(
            MANAGEMENT_APPLICATION, repo_url, "tenant/production", "argocd", project=ARGO_CD_PROJECT
        )
        inner = application(
            TENANT_APPLICATION,
            repo_url,
            "tenant/runtime",
            NAUTES_NAMESPACE,
            project=ARGO_CD_PROJECT,
            labels={TRACKING_LABEL: outer["metadata"]["name"]},
        )
        tenant = gitlab.find_project(tenant_repo)
        seeded = [app_project(), outer, inner, product_provider()]
        if tenant is not None:
            seeded.append(
                {
                    "apiVersion": NAUTES_API_VERSION,
                    "kind": "CodeRepo",
                    "metadata": {
                        "name": f"repo-{tenant.id}",
                        "namespace": NAUTES_NAMESPACE,
                        "labels": {TENANT_LABEL: NAME},
                    },
                    "spec": {
                        "codeRepoProvider": "",
                        "deploymentRuntime": False,
                        "pipelineRuntime": False,
                        "product": "",
                        "project": "",
                        "repoName": "",
                        "url": repo_url,
                    },
                }
            )
        for obj in seeded:
            self.store.create(obj)

    async def stop(self) -> None:
        """The sync first, then the API server."""
        if self._task is not None:
            self._task.cancel()
            # asyncio.wait, not ``await task`` under suppress(CancelledError): that would also swallow a
            # cancel of this stop itself.
            await asyncio.wait([self._task])
            self._task = None
        await self.kube.stop()

    def kubeconfig(self) -> str:
        """An admin kubeconfig of this cluster (it holds the admin token: written 0600)."""
        return kubeconfig_yaml(self.kube.url, self.admin_token, NAME, ca_pem=self.kube.ca_pem)
