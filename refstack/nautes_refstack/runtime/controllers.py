"""The runtime side of one Nautes installation, wired together: what reacts to GitLab pushes and webhooks.

* the cluster operator and the runtime operator, run by the :class:`.Reconciler` after pushes to the
  tenant repository and to ``<group>/default.project``;
* Argo Events: its controllers mark EventSources and Sensors ready once their pods run; the GitLab hook
  manager follows the ready EventSources, the webhook receiver serves their endpoints at
  :attr:`RuntimeControllers.webhook_url` and hands events to the ready Sensors;
* Tekton's ``kubernetes-actions`` ClusterTask, registered with the pipeline executor;
* under fault ``argo-events-crashloop``, the crash-looping event-source pods.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import aiohttp

from nautes_refstack.argocd import ArgoCd, CommitResolver
from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.gitlab.events import PushCallback
from nautes_refstack.http import RunningSite, serve
from nautes_refstack.kube import ObjectStore
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.runtime.argoevents.controller import ArgoEventsController
from nautes_refstack.runtime.argoevents.crashloop import CrashLoopingEventSources
from nautes_refstack.runtime.argoevents.gitlab_hooks import GitlabHookManager
from nautes_refstack.runtime.argoevents.sensor import SensorRunner
from nautes_refstack.runtime.argoevents.webhook import WebhookReceiver
from nautes_refstack.runtime.cluster_operator import ClusterOperator, VirtualClusters, VirtualKubeconfig
from nautes_refstack.runtime.kubernetes_actions import CLUSTER_TASK, run_kubernetes_actions
from nautes_refstack.runtime.reconciler import Reconciler
from nautes_refstack.runtime.runtime_operator import RuntimeOperator
from nautes_refstack.runtime.runtime_plan import DEFAULT_EVENT_LISTENER_NAMESPACE
from nautes_refstack.runtime.snapshots import RepositoryReader, TenantSnapshot
from nautes_refstack.runtime.vault_access import VaultAccess
from nautes_refstack.runtime.vault_api import VaultApi
from nautes_refstack.supervision import start_supervised
from nautes_refstack.tekton.task_api import register_cluster_task


class GitLabSeam(RepositoryReader, CommitResolver, Protocol):
    """What the runtime side needs from the emulated GitLab: repository reads and push notifications."""

    def on_push(self, callback: PushCallback) -> None: ...


class RuntimeControllers:
    """Cluster operator, runtime operator, Argo Events and the kubernetes-actions task for one cluster.

    ``cluster_api_server`` is the ``spec.apiServer`` of the Cluster CRs this cluster answers to;
    ``kube_url`` is where Vault reaches its API server for TokenReviews, and ``kube_ca_pem`` the CA that
    signed its certificate when that URL is HTTPS. ``faults`` (default: none) reach the runtime operator
    and Argo Events; ``pace`` and ``argocd`` (what the management cluster has synced) set when they act.
    """

    def __init__(
        self,
        store: ObjectStore,
        gitlab: GitLabSeam,
        vault_url: str,
        vault_token: str,
        kube_url: str,
        cluster_api_server: str,
        tenant_repo: str = "nautes/management",
        kube_ca_pem: str | None = None,
        faults: Faults = NO_FAULTS,
        pace: Pace = INSTANT,
        argocd: ArgoCd | None = None,
        vclusters: VirtualClusters | None = None,
        virtual_kubeconfig: VirtualKubeconfig | None = None,
    ) -> None:
        self._store = store
        self._vclusters = vclusters
        self._virtual_kubeconfig = virtual_kubeconfig
        self._cluster_operator: ClusterOperator | None = None
        self._gitlab = gitlab
        self._vault_url = vault_url
        self._vault_token = vault_token
        self._kube_url = kube_url
        self._api_server = cluster_api_server
        self._tenant_repo = tenant_repo
        self._kube_ca_pem = kube_ca_pem
        self._faults = faults
        self._pace = pace
        # Without one of the stack's, an Argo CD that lets every read see ``main`` (nothing to start).
        self._argocd = argocd or ArgoCd(gitlab, tenant_repo, pace, faults)
        self._http: aiohttp.ClientSession | None = None
        self._site: RunningSite | None = None
        self._hooks: GitlabHookManager | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def webhook_url(self) -> str:
        """Where the Argo Events webhook receiver listens (``http://127.0.0.1:P``)."""
        if self._site is None:
            raise RuntimeError("the runtime controllers are not started")
        return self._site.url

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        vault = VaultApi(self._http, self._vault_url, self._vault_token)
        events_namespace = DEFAULT_EVENT_LISTENER_NAMESPACE
        argo_events = ArgoEventsController(self._store, events_namespace, self._pace, self._faults)
        sensors = SensorRunner(self._store, events_namespace, argo_events.serving)
        receiver = WebhookReceiver(self._store, events_namespace, sensors.dispatch, self._faults)
        self._site = await serve(receiver.app())
        self._cluster_operator = ClusterOperator(
            self._store,
            vault,
            self._kube_url,
            self._api_server,
            self._kube_ca_pem,
            vclusters=self._vclusters,
            virtual_kubeconfig=self._virtual_kubeconfig,
        )
        reconciler = Reconciler(
            self._gitlab,
            self._tenant_repo,
            self._cluster_operator,
            RuntimeOperator(
                self._store,
                VaultAccess(vault, self._store),
                self._api_server,
                self.webhook_url,
                self._faults,
                # The stack's Vault speaks plain HTTP; its one CA (the API server's) stands for Vault's.
                secret_store_ca=self._kube_ca_pem or "",
                pace=self._pace,
            ),
            self._argocd,
            self._pace,
        )
        self._hooks = GitlabHookManager(
            self._store, events_namespace, self._http, argo_events.serving, pace=self._pace
        )
        register_cluster_task(CLUSTER_TASK, run_kubernetes_actions)
        self._gitlab.on_push(reconciler.on_push)
        self._tasks = [
            start_supervised(reconciler.run(), "nautes-runtime-reconcile"),
            start_supervised(self._hooks.run(), "argo-events-gitlab-hooks"),
            start_supervised(argo_events.run(), "argo-events-controllers"),
        ]
        # Fault argo-events-crashloop, armed at start-up or later for one run: it judges each EventSource.
        crash_loops = CrashLoopingEventSources(self._store, events_namespace, self._faults)
        self._tasks.append(start_supervised(crash_loops.run(), "argo-events-crashloop"))

    async def release(self, tenant: TenantSnapshot) -> None:
        """The cluster-operator lets go of the registrations ``tenant`` no longer has (Vault's auth mount
        and kubeconfig), now: a virtual cluster's, before its host uninstalls it."""
        if self._cluster_operator is not None:
            await self._cluster_operator.remove_gone(tenant)

    async def stop(self) -> None:
        """Stop reconciling, remove the GitLab hooks (``deleteHookOnFinish``), close the receiver."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # asyncio.wait, not ``await task`` under suppress(CancelledError): that would also swallow a
            # cancel of this stop itself.
            await asyncio.wait(self._tasks)
        self._tasks = []
        if self._hooks is not None:
            await self._hooks.stop()
            self._hooks = None
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._http is not None:
            await self._http.close()
            self._http = None
