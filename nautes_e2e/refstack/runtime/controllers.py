"""The runtime side of one Nautes installation, wired together: what reacts to GitLab pushes and webhooks.

* pushes to the tenant repository → the cluster operator (components + Vault auth for our Cluster CRs),
  then every known product's runtimes are reconciled (their cluster may have come or gone);
* pushes to ``<group>/default.project`` → the runtime operator reconciles that product;
* one worker runs reconciles one at a time, right after the push (and every 60 s, like the operators'
  requeue), coalescing pushes that arrive while it is busy;
* Argo Events: the GitLab hook manager follows the EventSources, the webhook receiver serves their
  endpoints at :attr:`RuntimeControllers.webhook_url` and hands events to the Sensors;
* Tekton's ``kubernetes-actions`` ClusterTask is registered with the pipeline executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

import aiohttp

from nautes_e2e.refstack.gitlab.events import PushCallback, PushEvent
from nautes_e2e.refstack.http import RunningSite, serve
from nautes_e2e.refstack.kube import ObjectStore
from nautes_e2e.refstack.runtime.argoevents.gitlab_hooks import GitlabHookManager
from nautes_e2e.refstack.runtime.argoevents.sensor import SensorRunner
from nautes_e2e.refstack.runtime.argoevents.webhook import WebhookReceiver
from nautes_e2e.refstack.runtime.cluster_operator import ClusterOperator
from nautes_e2e.refstack.runtime.kubernetes_actions import CLUSTER_TASK, run_kubernetes_actions
from nautes_e2e.refstack.runtime.runtime_operator import RuntimeOperator
from nautes_e2e.refstack.runtime.runtime_plan import DEFAULT_EVENT_LISTENER_NAMESPACE
from nautes_e2e.refstack.runtime.snapshots import (
    PRODUCT_REPO,
    RepositoryReader,
    SnapshotError,
    read_product,
    read_tenant,
)
from nautes_e2e.refstack.runtime.vault_access import VaultAccess
from nautes_e2e.refstack.runtime.vault_api import VaultApi, VaultError
from nautes_e2e.refstack.tekton.task_api import register_cluster_task

log = logging.getLogger(__name__)

MAIN_REF = "refs/heads/main"
REQUEUE_SECONDS = 60.0


class GitLabSeam(RepositoryReader, Protocol):
    """What the runtime side needs from the emulated GitLab: repository reads and push notifications."""

    def on_push(self, callback: PushCallback) -> None: ...


class RuntimeControllers:
    """Cluster operator, runtime operator, Argo Events and the kubernetes-actions task for one cluster."""

    def __init__(
        self,
        store: ObjectStore,
        gitlab: GitLabSeam,
        vault_url: str,
        vault_token: str,
        kube_url: str,
        cluster_api_server: str,
        tenant_repo: str = "nautes/management",
    ) -> None:
        self._store = store
        self._gitlab = gitlab
        self._vault_url = vault_url
        self._vault_token = vault_token
        self._kube_url = kube_url
        self._api_server = cluster_api_server
        self._tenant_repo = tenant_repo
        self._http: aiohttp.ClientSession | None = None
        self._site: RunningSite | None = None
        self._hooks: GitlabHookManager | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wakeup = asyncio.Event()
        self._tenant_dirty = True
        self._dirty_products: set[str] = set()
        self._known_products: set[str] = set()
        self.cluster_operator: ClusterOperator | None = None
        self.runtime_operator: RuntimeOperator | None = None

    @property
    def webhook_url(self) -> str:
        """Where the Argo Events webhook receiver listens (``http://127.0.0.1:P``)."""
        if self._site is None:
            raise RuntimeError("the runtime controllers are not started")
        return self._site.url

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        vault = VaultApi(self._http, self._vault_url, self._vault_token)
        event_namespace = DEFAULT_EVENT_LISTENER_NAMESPACE
        sensors = SensorRunner(self._store, event_namespace)
        receiver = WebhookReceiver(self._store, event_namespace, sensors.dispatch)
        self._site = await serve(receiver.app())
        self.cluster_operator = ClusterOperator(self._store, vault, self._kube_url, self._api_server)
        self.runtime_operator = RuntimeOperator(
            self._store, VaultAccess(vault, self._store), self._api_server, self.webhook_url
        )
        self._hooks = GitlabHookManager(self._store, event_namespace, self._http)
        register_cluster_task(CLUSTER_TASK, run_kubernetes_actions)
        self._gitlab.on_push(self._on_push)
        self._tasks = [
            asyncio.create_task(self._reconcile_loop(), name="nautes-runtime-reconcile"),
            asyncio.create_task(self._hooks.run(), name="argo-events-gitlab-hooks"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._hooks is not None:
            await self._hooks.stop()
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _on_push(self, push: PushEvent) -> None:
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

    async def _reconcile_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), REQUEUE_SECONDS)
            if not self._wakeup.is_set():
                self._tenant_dirty = True
            self._wakeup.clear()
            try:
                await self._reconcile_once()
            except (SnapshotError, VaultError, aiohttp.ClientError) as error:
                log.warning("reconcile failed, retrying at the next push or requeue: %s", error)
            except Exception:  # a controller survives a failed reconcile, as controller-runtime does
                log.exception("reconcile crashed, retrying at the next push or requeue")

    async def _reconcile_once(self) -> None:
        assert self.cluster_operator is not None
        assert self.runtime_operator is not None
        tenant_changed, self._tenant_dirty = self._tenant_dirty, False
        products, self._dirty_products = self._dirty_products, set()
        self._known_products |= products
        tenant = read_tenant(self._gitlab, self._tenant_repo)
        if tenant_changed:
            await self.cluster_operator.install(tenant)
            products = self._known_products | self.runtime_operator.known_products
        for group in sorted(products):
            try:
                product = read_product(self._gitlab, group)
            except SnapshotError as error:
                log.warning("product %s not synced: %s", group, error)
                continue
            await self.runtime_operator.reconcile(tenant, group, product)
        if tenant_changed:
            await self.cluster_operator.remove_gone(tenant)
