"""The runtime operator for ProjectPipelineRuntimes on the clusters this stack emulates (contract §4.1-4.3).

For each product it compares the runtimes in ``default.project`` with what it deployed before, and
deploys or removes the difference, in the order of NAUTES ``PipelineRuntimeDeployer.deploy``/``delete``:
product namespace, runtime namespace and account, the account's Vault role, then (``syncListenEvents``)
the EventSource with its token Secrets, the ``pipeline-readonly-ssh-key`` Secret and one Sensor per
trigger. Under the ``instant`` pace the EventSource comes last instead, so that nothing is out of order
(the stack as it was before the pace); under ``real`` the Sensors become ready after the EventSource's pod
has registered the GitLab hook, and a push in between is lost (:mod:`.argoevents.controller`).
A runtime that fails re-validation keeps whatever it had (the real operator only sets a False
condition); a runtime whose environment moved to another cluster, or whose file is gone, is removed.
What was deployed is remembered per runtime, as the operator keeps it in ``status.deployStatus``.
Under fault ``namespace-never-created`` the operator is stuck and reconciles nothing; under
``runtime-not-cleaned-up`` it leaves a removed runtime's namespace in place.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.kube import KubeError, ObjectStore
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.runtime import event_objects
from nautes_refstack.runtime.event_objects import EventObjectError
from nautes_refstack.runtime.hooks_pipeline import SECRET_PIPELINE_READONLY_SSH_KEY, HooksError
from nautes_refstack.runtime.kube_apply import apply, delete_if_present, get_or_none
from nautes_refstack.runtime.multitenant import MultiTenant, MultiTenantError
from nautes_refstack.runtime.runtime_plan import PlanError, RuntimePlan, build_plan
from nautes_refstack.runtime.snapshots import ProductSnapshot, TenantSnapshot
from nautes_refstack.runtime.validation import validate
from nautes_refstack.runtime.vault_access import CodeRepoSecret, VaultAccess
from nautes_refstack.runtime.vault_api import VaultError

log = logging.getLogger(__name__)

ARGO_EVENT_ACCOUNT = "nautes-argo-event-sa"
ARGO_API_VERSION = event_objects.ARGO_API_VERSION
RECONCILE_ERRORS = (KubeError, VaultError, MultiTenantError, EventObjectError, HooksError, PlanError)


@dataclass(frozen=True)
class RuntimeKey:
    group: str
    runtime: str


@dataclass(frozen=True)
class SyncedSecret:
    """An ExternalSecret: Secret ``name`` in ``namespace`` gets ``key`` = ``source_key`` of ``source``,
    read with ``account``'s Vault role."""

    namespace: str
    name: str
    key: str
    source: CodeRepoSecret
    source_key: str
    account: str


class RuntimeOperator:
    """Deploys the runtimes of every product whose environment points at one of ``api_server``'s clusters."""

    def __init__(
        self,
        store: ObjectStore,
        vault: VaultAccess,
        api_server: str,
        webhook_url: str,
        faults: Faults = NO_FAULTS,
        secret_store_ca: str = "",
        pace: Pace = INSTANT,
    ) -> None:
        self._store = store
        self._faults = faults
        self._pace = pace
        self._vault = vault
        self._api_server = api_server
        self._webhook_url = webhook_url
        self._tenancy = MultiTenant(store, secret_store_ca, faults)
        self._deployed: dict[RuntimeKey, RuntimePlan] = {}

    @property
    def known_products(self) -> set[str]:
        return {key.group for key in self._deployed}

    def deployed(self, group: str, runtime: str) -> RuntimePlan | None:
        return self._deployed.get(RuntimeKey(group, runtime))

    async def reconcile(self, tenant: TenantSnapshot, group: str, product: ProductSnapshot | None) -> None:
        """Converge product ``group`` (None: the product is gone) onto the cluster."""
        if self._faults.active("namespace-never-created", about=group):
            return  # fault: the operator is stuck; nothing of the product reaches the cluster
        wanted, failed = self._plans(tenant, group, product) if product is not None else ({}, set())
        for key, plan in list(self._deployed.items()):
            if key.group == group and key not in failed and not _same_place(wanted.get(key), plan):
                await self._guarded(key, self._remove(key, plan))
        for key, plan in wanted.items():
            await self._guarded(key, self._deploy(key, plan))

    def _plans(
        self, tenant: TenantSnapshot, group: str, product: ProductSnapshot
    ) -> tuple[dict[RuntimeKey, RuntimePlan], set[RuntimeKey]]:
        """Plans for the product's runtimes on our clusters, and the runtimes that failed re-validation."""
        wanted: dict[RuntimeKey, RuntimePlan] = {}
        failed: set[RuntimeKey] = set()
        for runtime in product.runtimes.values():
            key = RuntimeKey(group, runtime.name)
            environment = product.environments.get(runtime.environment)
            cluster = tenant.clusters.get(environment.cluster) if environment else None
            if cluster is None or not cluster.is_served_at(self._api_server):
                continue
            verdict = validate(runtime, product, cluster)
            try:
                if verdict.error is not None:
                    raise PlanError(verdict.error)
                plan = build_plan(runtime, product, tenant, cluster, verdict)
                self._check_namespace_free(key, plan)
            except RECONCILE_ERRORS as error:
                log.warning("runtime %s/%s not deployed: %s", group, runtime.name, error)
                failed.add(key)
                continue
            for source in verdict.illegal_event_sources:
                name, reason = source.event_source, source.reason
                log.warning("runtime %s/%s: event source %s left out: %s", group, runtime.name, name, reason)
            wanted[key] = plan
        return wanted, failed

    async def _guarded(self, key: RuntimeKey, step: Awaitable[None]) -> None:
        try:
            await step
        except RECONCILE_ERRORS as error:
            log.warning("runtime %s/%s: %s", key.group, key.runtime, error)

    def _check_namespace_free(self, key: RuntimeKey, plan: RuntimePlan) -> None:
        for other_key, other in self._deployed.items():
            if other_key != key and other.cluster == plan.cluster and other.namespace == plan.namespace:
                raise PlanError(f"namespace {plan.namespace} is used by other runtime")

    # -- deploy ---------------------------------------------------------------------------------------

    async def _deploy(self, key: RuntimeKey, plan: RuntimePlan) -> None:
        changed = self._deployed.get(key) != plan
        self._deployed[key] = plan
        tenancy = self._tenancy
        tenancy.create_product(plan.product_id, plan.product_name, plan.sync_resource_types)
        tenancy.create_space(plan.product_id, plan.namespace)
        tenancy.create_account(plan.product_id, plan.account)
        tenancy.add_space_user(plan.product_id, plan.namespace, plan.account)
        await self._sync_account_role(plan.cluster, plan.product_id, plan.account)
        await self._sync_event_listener_account(plan.cluster, plan.event_namespace)
        if self._pace.real:  # NAUTES syncListenEvents: the EventSource, the hook resources, then the Sensors
            await self._deploy_event_source(plan)
        ssh_key = SyncedSecret(
            plan.namespace,
            SECRET_PIPELINE_READONLY_SSH_KEY,
            "id_rsa",
            plan.pipeline_readonly_key,
            "deploykey",
            plan.account,
        )
        await self._sync_secret(plan.cluster, ssh_key)
        self._deploy_sensors(plan)
        if not self._pace.real:
            # Instant pace: last, so that once the hook exists a push finds the Sensors and the key in place.
            await self._deploy_event_source(plan)
        if changed:
            log.info("runtime %s/%s deployed in namespace %s", key.group, key.runtime, plan.namespace)

    async def _sync_account_role(self, cluster: str, product_id: str, account: str) -> None:
        """Role ``auth/C/role/A``: A's spaces, and the union of what A's runtimes were granted."""
        users = [
            p
            for p in self._deployed.values()
            if (p.cluster, p.product_id, p.account) == (cluster, product_id, account)
        ]
        if not users:
            await self._vault.delete_role(cluster, account)
            return
        grants = [grant for plan in users for grant in plan.grants]
        await self._vault.write_role(
            cluster, account, self._tenancy.account_spaces(product_id, account), grants
        )

    async def _sync_event_listener_account(self, cluster: str, namespace: str) -> None:
        """``nautes-argo-event-sa`` may read the API token of each repo of an event source on ``cluster``."""
        if get_or_none(self._store, "v1", "ServiceAccount", namespace, ARGO_EVENT_ACCOUNT) is None:
            self._store.create(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": ARGO_EVENT_ACCOUNT, "namespace": namespace},
                }
            )
        grants = [
            CodeRepoSecret(plan.provider_type, repo, "accesstoken-api")
            for plan in self._deployed.values()
            if plan.cluster == cluster
            for repo in plan.event_repos
        ]
        await self._vault.write_role(cluster, ARGO_EVENT_ACCOUNT, [namespace], grants)

    async def _deploy_event_source(self, plan: RuntimePlan) -> None:
        namespace, uid = plan.event_namespace, plan.uid
        previous = self._event_source_repos(namespace, uid)
        for repo in plan.event_repos:
            access_token = SyncedSecret(
                namespace,
                event_objects.access_token_secret(uid, repo),
                event_objects.TOKEN_KEY,
                CodeRepoSecret(plan.provider_type, repo, "accesstoken-api"),
                "accesstoken",
                ARGO_EVENT_ACCOUNT,
            )
            await self._sync_secret(plan.cluster, access_token)
            secret_token = event_objects.secret_token_secret(uid, repo)
            if get_or_none(self._store, "v1", "Secret", namespace, secret_token) is None:
                self._store.create(event_objects.token_secret(secret_token, namespace, str(uuid.uuid4())))
        for repo in previous - set(plan.event_repos):
            self._delete_token_secrets(namespace, uid, repo)
        if not plan.hook_sources:
            self._delete_event_source(namespace, uid)
            return
        apply(self._store, event_objects.ingress(uid, namespace, plan.ingress_host))
        apply(self._store, event_objects.event_source(uid, namespace, self._webhook_url, plan.hook_sources))

    async def _sync_secret(self, cluster: str, secret: SyncedSecret) -> None:
        """What external-secrets does; a read Vault refuses leaves the Secret as it was (and logs why)."""
        where = f"{secret.namespace}/{secret.name}"
        try:
            value = await self._vault.read_as(
                cluster, secret.namespace, secret.account, secret.source, secret.source_key
            )
        except VaultError as error:
            log.warning("secret %s not synced: %s", where, error)
            return
        if value is None:
            log.warning(
                "secret %s not synced: %s has no key %s", where, secret.source.kv_path, secret.source_key
            )
            return
        data = {secret.key: base64.b64encode(value.encode()).decode("ascii")}
        metadata = {"name": secret.name, "namespace": secret.namespace}
        apply(
            self._store,
            {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque", "data": data},
        )

    def _deploy_sensors(self, plan: RuntimePlan) -> None:
        for index, consumer in enumerate(plan.consumers):
            apply(
                self._store,
                event_objects.sensor(
                    plan.product_id, plan.runtime, index, plan.uid, plan.event_namespace, consumer
                ),
            )
        for sensor in self._sensors(plan.event_namespace, plan.uid):
            name = sensor["metadata"]["name"]
            index = name.rsplit("-", 1)[-1]
            if not index.isdigit() or int(index) >= len(plan.consumers):
                delete_if_present(self._store, ARGO_API_VERSION, "Sensor", plan.event_namespace, name)

    # -- remove ---------------------------------------------------------------------------------------

    async def _remove(self, key: RuntimeKey, plan: RuntimePlan) -> None:
        namespace, uid = plan.event_namespace, plan.uid
        self._delete_event_source(namespace, uid)
        for sensor in self._sensors(namespace, uid):
            delete_if_present(self._store, ARGO_API_VERSION, "Sensor", namespace, sensor["metadata"]["name"])
        del self._deployed[key]
        await self._sync_event_listener_account(plan.cluster, namespace)
        tenancy = self._tenancy
        still_used = any(
            (p.cluster, p.product_id, p.account) == (plan.cluster, plan.product_id, plan.account)
            for p in self._deployed.values()
        )
        if still_used:
            tenancy.remove_space_user(plan.product_id, plan.namespace, plan.account)
        else:
            tenancy.delete_account(plan.product_id, plan.account)
        await self._sync_account_role(plan.cluster, plan.product_id, plan.account)
        # fault: the namespace is left behind
        if not self._faults.active("runtime-not-cleaned-up", about=plan.namespace):
            tenancy.delete_space(plan.product_id, plan.namespace)
        # NAUTES multitenant/hnc/hnc.go DeleteProduct (isRemovableProduct); the fault never calls it.
        forgotten = self._faults.active("remove-forgets-product-namespace", about=plan.namespace)
        if not forgotten and not any(
            (p.cluster, p.product_id) == (plan.cluster, plan.product_id) for p in self._deployed.values()
        ):
            tenancy.delete_product(plan.product_id)
        log.info("runtime %s/%s removed", key.group, key.runtime)

    def _event_source_repos(self, namespace: str, uid: str) -> set[str]:
        """The repos an existing EventSource uses, from its ``code-repos`` annotation."""
        current = get_or_none(
            self._store, ARGO_API_VERSION, "EventSource", namespace, event_objects.event_source_name(uid)
        )
        annotation = ((current or {}).get("metadata", {}).get("annotations") or {}).get(
            event_objects.ANNOTATION_CODE_REPOS, ""
        )
        return {repo for repo in annotation.split(",") if repo}

    def _delete_event_source(self, namespace: str, uid: str) -> None:
        for repo in self._event_source_repos(namespace, uid):
            self._delete_token_secrets(namespace, uid, repo)
        delete_if_present(
            self._store, "networking.k8s.io/v1", "Ingress", namespace, event_objects.event_source_name(uid)
        )
        delete_if_present(
            self._store, ARGO_API_VERSION, "EventSource", namespace, event_objects.event_source_name(uid)
        )

    def _delete_token_secrets(self, namespace: str, uid: str, repo: str) -> None:
        delete_if_present(
            self._store, "v1", "Secret", namespace, event_objects.access_token_secret(uid, repo)
        )
        delete_if_present(
            self._store, "v1", "Secret", namespace, event_objects.secret_token_secret(uid, repo)
        )

    def _sensors(self, namespace: str, uid: str) -> list[dict[str, Any]]:
        return self._store.list(
            ARGO_API_VERSION,
            "Sensor",
            namespace=namespace,
            label_selector=f"{event_objects.LABEL_CONSUMER}={uid}",
        )


def _same_place(wanted: RuntimePlan | None, deployed: RuntimePlan) -> bool:
    """Whether ``deployed`` can be updated in place into ``wanted`` (same cluster, namespace and account)."""
    return wanted is not None and (wanted.cluster, wanted.namespace, wanted.account) == (
        deployed.cluster,
        deployed.namespace,
        deployed.account,
    )
