"""When the operators run: right after a push to the tenant repository or to a product's ``default.project``
(on ``main``), and every 60 s like the real operators' requeue; one reconcile at a time.

Pushes that land while a reconcile runs are coalesced into the next one. A push to the tenant repository
re-installs the cluster side first, then reconciles every known product (their cluster may have come or
gone), and removes what departed clusters needed last, once their runtimes are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp

from nautes_refstack.gitlab.events import PushEvent
from nautes_refstack.runtime.cluster_operator import ClusterOperator
from nautes_refstack.runtime.runtime_operator import RuntimeOperator
from nautes_refstack.runtime.snapshots import (
    PRODUCT_REPO,
    RepositoryReader,
    SnapshotError,
    read_product,
    read_tenant,
)
from nautes_refstack.runtime.vault_api import VaultError

log = logging.getLogger(__name__)

MAIN_REF = "refs/heads/main"
REQUEUE_SECONDS = 60.0


class Reconciler:
    def __init__(
        self, gitlab: RepositoryReader, tenant_repo: str, clusters: ClusterOperator, runtimes: RuntimeOperator
    ) -> None:
        self._gitlab = gitlab
        self._tenant_repo = tenant_repo
        self._clusters = clusters
        self._runtimes = runtimes
        self._wakeup = asyncio.Event()
        self._tenant_dirty = True
        self._dirty_products: set[str] = set()
        self._known_products: set[str] = set()

    async def on_push(self, push: PushEvent) -> None:
        """GitLab's push callback: note what changed and wake the worker."""
        if push.ref != MAIN_REF:
            return
        group, _, project = push.path_with_namespace.rpartition("/")
        if push.path_with_namespace == self._tenant_repo:
            self._tenant_dirty = True
        elif project == PRODUCT_REPO and group:
            self._dirty_products.add(group)
        else:
            return
        self._wakeup.set()

    async def run(self) -> None:
        """Reconcile now (the tenant repository may already hold Cluster CRs), then on every wake-up."""
        self._wakeup.set()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), REQUEUE_SECONDS)
            if not self._wakeup.is_set():
                self._tenant_dirty = True  # the periodic requeue: everything
            self._wakeup.clear()
            try:
                await self._reconcile()
            except (SnapshotError, VaultError, aiohttp.ClientError) as error:
                log.warning("reconcile failed, retrying at the next push or requeue: %s", error)
            except Exception:  # a controller survives a failed reconcile, as controller-runtime does
                log.exception("reconcile crashed, retrying at the next push or requeue")

    async def _reconcile(self) -> None:
        tenant_changed, self._tenant_dirty = self._tenant_dirty, False
        products, self._dirty_products = self._dirty_products, set()
        self._known_products |= products
        tenant = read_tenant(self._gitlab, self._tenant_repo)
        if tenant_changed:
            await self._clusters.install(tenant)
            products = self._known_products | self._runtimes.known_products
        for group in sorted(products):
            try:
                product = read_product(self._gitlab, group)
            except SnapshotError as error:
                log.warning("product %s not synced: %s", group, error)
                continue
            await self._runtimes.reconcile(tenant, group, product)
        if tenant_changed:
            await self._clusters.remove_gone(tenant)
