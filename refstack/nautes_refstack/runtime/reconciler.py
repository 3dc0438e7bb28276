"""When the operators run, and what they read; one reconcile at a time.

``instant`` pace: right after a push to the tenant repository or to a product's ``default.project`` (on
``main``), and every 60 s. ``real`` pace, as on a tenant management cluster: the operators watch CRs, so
they run when Argo CD has synced a new commit of the tenant repository or of a product (:mod:`..argocd`,
up to 180 s after the push); a product nobody knew of is found by the base operator's poll of GitLab for
``default.project`` every 60 s (contract §3.5 step 2, NAUTES ``app/base-operator/internal/coderepo/
gitlab/gitlab.go``), which creates its Argo CD application; and the runtime operator requeues every 60 s
(contract §4.1, ``projectpipelineruntime_controller.go``). Both read the commits Argo CD synced.

Changes that land while a reconcile runs are coalesced into the next one. A tenant change re-installs the
cluster side first, then reconciles every known product (their cluster may have come or gone), and removes
what departed clusters needed last, once their runtimes are gone.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from nautes_refstack.argocd import ArgoCd
from nautes_refstack.gitlab.events import PushEvent
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.runtime.cluster_operator import ClusterOperator
from nautes_refstack.runtime.repository_changes import RepositoryChanges
from nautes_refstack.runtime.runtime_operator import RuntimeOperator
from nautes_refstack.runtime.snapshots import (
    PRODUCT_REPO,
    RepositoryReader,
    SnapshotError,
    read_product,
    read_tenant,
)
from nautes_refstack.runtime.vault_api import VaultError
from nautes_refstack.supervision import log_survived_error

log = logging.getLogger(__name__)

MAIN_REF = "refs/heads/main"
# The runtime operator's requeue (contract §4.1) and the base operator's GitLab poll (contract §3.5): 60 s.
REQUEUE_SECONDS = 60.0
# The periodic requeue repeats a full reconcile of every product: real work for the emulation (git reads,
# object applies). Scaled below a second it would keep a 2-core machine busy without changing anything a
# client can observe (a requeue only redoes what the events already did), so it never runs more often.
MINIMUM_REQUEUE_SECONDS = 1.0


class Reconciler:
    def __init__(
        self,
        gitlab: RepositoryReader,
        tenant_repo: str,
        clusters: ClusterOperator,
        runtimes: RuntimeOperator,
        argocd: ArgoCd,
        pace: Pace = INSTANT,
    ) -> None:
        self._gitlab = gitlab
        self._tenant_repo = tenant_repo
        self._clusters = clusters
        self._runtimes = runtimes
        self._argocd = argocd
        self._pace = pace
        self._changes = RepositoryChanges(tenant_repo)
        self._known_products: set[str] = set()
        self._undiscovered: set[str] = set()
        argocd.on_synced(self.on_synced)

    async def on_push(self, push: PushEvent) -> None:
        """GitLab's push callback: note what changed and wake the worker."""
        if push.ref != MAIN_REF:
            return
        group, _, project = push.path_with_namespace.rpartition("/")
        if self._pace.real:
            if project == PRODUCT_REPO and group:
                self._undiscovered.add(group)  # the base operator's next poll finds it
            return  # the rest reaches the cluster through Argo CD's refresh (on_synced)
        self._changes.note(push.path_with_namespace)

    async def on_synced(self, path: str) -> None:
        """Argo CD moved the CRs of ``path`` to a new commit: the operators' watches fire."""
        self._changes.note(path)

    async def run(self) -> None:
        """Reconcile now (the tenant repository may already hold Cluster CRs), then on every wake-up; under
        the real pace the base operator polls GitLab alongside."""
        if not self._pace.real:
            await self._operate(REQUEUE_SECONDS)
            return
        async with asyncio.TaskGroup() as group:
            group.create_task(self._base_operator(), name="nautes-base-operator-poll")
            requeue = max(self._pace.seconds(REQUEUE_SECONDS), MINIMUM_REQUEUE_SECONDS)
            group.create_task(self._operate(requeue), name="nautes-operators")

    async def _operate(self, requeue: float) -> None:
        while True:
            if not await self._changes.wait(requeue):
                self._changes.mark_tenant()  # the periodic requeue: everything
            try:
                await self._reconcile()
            except (SnapshotError, VaultError, aiohttp.ClientError) as error:
                log.warning("reconcile failed, retrying at the next push or requeue: %s", error)
            except Exception:  # a controller survives a failed reconcile, as controller-runtime does
                log_survived_error("reconcile crashed, retrying at the next push or requeue")

    async def _base_operator(self) -> None:
        """Every 60 s, each new ``default.project`` gets its Argo CD application (synced at once)."""
        while True:
            await self._pace.wait(REQUEUE_SECONDS)
            found, self._undiscovered = self._undiscovered, set()
            for group in sorted(found):
                await self._argocd.add_application(f"{group}/{PRODUCT_REPO}")

    async def _reconcile(self) -> None:
        tenant_changed, products = self._changes.take()
        self._known_products |= products
        tenant = read_tenant(self._gitlab, self._tenant_repo, self._argocd.tenant_ref())
        if tenant_changed:
            await self._clusters.install(tenant)
            products = self._known_products | self._runtimes.known_products
        for group in sorted(products):
            ref = self._argocd.ref(f"{group}/{PRODUCT_REPO}")
            if ref is None:
                continue  # not synced to the management cluster yet
            try:
                product = read_product(self._gitlab, group, ref)
            except SnapshotError as error:
                log.warning("product %s not synced: %s", group, error)
                continue
            await self._runtimes.reconcile(tenant, group, product)
        if tenant_changed:
            await self._clusters.remove_gone(tenant)
