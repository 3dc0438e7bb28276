"""When the tenant management cluster's CRs change: once Argo CD synced a commit, as the runtime side sees it.

The same moments and the same commits as the operators (:mod:`nautes_refstack.runtime.reconciler`): under
``instant`` a push to ``main`` of the tenant repository or of a ``default.project`` is synced at once; under
``real`` only Argo CD's refreshes move the cluster (:mod:`nautes_refstack.argocd`, every 180 s), and a new
product appears when the base operator's 60 s poll created its application. Either way the content is read
at the commit :meth:`ArgoCd.ref` names, so the cluster never shows what Argo CD has not synced (under fault
``tenant-repo-never-syncs`` the Cluster CRs a later save writes never appear). The base operator's poll
also notices a ``default.project`` that is gone and deletes its Product (every 60 s, scaled; a second at
least, as the reconciler's requeue).

The tenant repository is synced as TRT's application ``nautes`` (``tenant/runtime``, namespace ``nautes``,
which the kustomization forces on every resource), restricted to what the stack's tenant repository holds
(``nautes/overlays/production/``: Cluster CRs, the CodeRepoProvider); each product as the base operator's
application ``product-<groupID>`` (``production/kustomization.yaml``'s resources, namespace
``product-<groupID>``).
"""

from __future__ import annotations

import logging
from typing import Protocol

from nautes_refstack.argocd import ArgoCd, CommitResolver
from nautes_refstack.gitlab.events import PushEvent
from nautes_refstack.kube import ObjectStore
from nautes_refstack.management.argocd_apply import record_sync, sync_resources
from nautes_refstack.management.base_operator import NAUTES_NAMESPACE, BaseOperator
from nautes_refstack.pace import Pace
from nautes_refstack.runtime.repository_changes import RepositoryChanges
from nautes_refstack.runtime.snapshots import (
    PRODUCT_REPO,
    RepositoryReader,
    SnapshotError,
    product_files,
    tenant_documents,
)
from nautes_refstack.supervision import log_survived_error

log = logging.getLogger(__name__)

MAIN_REF = "refs/heads/main"
#: INST ``argocd-app.yaml``: ``<tenant>-management`` syncs ``tenant/production``, which holds TRT's
#: ``tenant/production/nautes-app.yaml``, the application that syncs the tenant's resources.
MANAGEMENT_APPLICATION = "nautes-management"
TENANT_APPLICATION = "nautes"
#: The base operator's GitLab poll (contract §3.5): 60 s.
POLL_SECONDS = 60.0
MINIMUM_POLL_SECONDS = 1.0


class ManagementSeam(RepositoryReader, CommitResolver, Protocol):
    """What the management cluster reads from GitLab (the same seam as the operators')."""


class ManagementSync:
    """Keeps ``store`` at what Argo CD synced from the tenant repository and every product."""

    def __init__(
        self,
        store: ObjectStore,
        gitlab: ManagementSeam,
        argocd: ArgoCd,
        tenant_repo: str,
        ssh_url_base: str,
        pace: Pace,
    ) -> None:
        self._store = store
        self._gitlab = gitlab
        self._argocd = argocd
        self._tenant_repo = tenant_repo
        self._ssh_url_base = ssh_url_base
        self._pace = pace
        self._base_operator = BaseOperator(store)
        self._changes = RepositoryChanges(tenant_repo)
        argocd.on_synced(self.on_synced)

    async def on_push(self, push: PushEvent) -> None:
        """GitLab's push callback: under ``instant``, what the push changed is synced at once."""
        if push.ref == MAIN_REF and not self._pace.real:
            self._changes.note(push.path_with_namespace)

    async def on_synced(self, path: str) -> None:
        """Argo CD moved an application to a new commit (or created a product's)."""
        self._changes.note(path)

    async def run(self) -> None:
        poll = (
            max(self._pace.seconds(POLL_SECONDS), MINIMUM_POLL_SECONDS) if self._pace.real else POLL_SECONDS
        )
        while True:
            polled = not await self._changes.wait(poll)
            try:
                if polled:
                    self.poll()
                else:
                    self.sync()
            except Exception:  # the controllers survive a failed round, as controller-runtime's do
                log_survived_error("management cluster sync failed, retrying at the next change or poll")

    def poll(self) -> None:
        """The base operator's poll of GitLab (``GetProducts``): the Product of a ``default.project`` that is
        gone goes. Products still there are left alone: their CRs change only when Argo CD syncs."""
        for group, name in self._base_operator.products().items():
            if self._gone(group):
                self._base_operator.delete_product(name)

    def _gone(self, group: str) -> bool:
        path = f"{group}/{PRODUCT_REPO}"
        return self._gitlab.find_project(path) is None or self._gitlab.find_group(group) is None

    def sync(self) -> None:
        """One round: the tenant's application if it changed, then every changed product."""
        tenant_dirty, products = self._changes.take()
        if tenant_dirty:
            ref = self._argocd.tenant_ref()
            documents = tenant_documents(self._gitlab, self._tenant_repo, ref)
            problems = sync_resources(
                self._store, TENANT_APPLICATION, NAUTES_NAMESPACE, documents, force_namespace=True
            )
            revision = self._revision(self._tenant_repo, ref)
            record_sync(self._store, MANAGEMENT_APPLICATION, revision, [])
            record_sync(self._store, TENANT_APPLICATION, revision, problems)
        for group in sorted(products):
            self._sync_product(group)

    def _sync_product(self, group: str) -> None:
        path = f"{group}/{PRODUCT_REPO}"
        if self._gone(group):
            known = self._base_operator.products()
            if group in known:
                self._base_operator.delete_product(known[group])
            return
        ref = self._argocd.ref(path)
        if ref is None:
            return  # the base operator has not found it yet
        try:
            files = product_files(self._gitlab, group, ref)
        except SnapshotError as error:
            log.warning("argo cd could not sync product %s: %s", group, error)
            return
        if files is None:
            return
        meta_data_path = f"{self._ssh_url_base}/{path}.git"
        name = self._base_operator.sync_product(files.group_id, group, meta_data_path, files.project_id)
        problems = sync_resources(self._store, name, name, files.documents, force_namespace=False)
        record_sync(self._store, name, self._revision(path, ref), problems)

    def _revision(self, path: str, ref: str) -> str | None:
        """The commit a sync applied (``ref`` is ``main`` when nothing lags)."""
        return self._gitlab.resolve_commit(path, ref)
