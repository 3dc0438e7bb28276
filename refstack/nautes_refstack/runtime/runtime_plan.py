"""What one ProjectPipelineRuntime should put on the runtime cluster, computed without touching it.

Notation of contract §4: ``P`` product namespace, ``R`` runtime, ``A`` account, ``NS`` runtime namespace,
``C`` cluster, ``UID`` = ``P-R``. The plan gathers the names, the Vault grants (pipeline repo read-only
and read-write keys, the API token of every legal event-source repo), the GitLab event sources and one
consumer per trigger whose event source is legal, each carrying its hooks PipelineRun
(NAUTES ``internal/syncer/v2/task/pipelineRuntime.go``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from nautes_refstack.runtime import event_objects
from nautes_refstack.runtime.event_objects import Consumer, GitlabHookSource
from nautes_refstack.runtime.hooks_pipeline import HooksContext, build_hooks
from nautes_refstack.runtime.resources import Cluster, CodeRepo, CodeRepoProvider, ProjectPipelineRuntime
from nautes_refstack.runtime.snapshots import ProductSnapshot, TenantSnapshot
from nautes_refstack.runtime.validation import Verdict
from nautes_refstack.runtime.vault_access import CodeRepoSecret

DEFAULT_EVENT_LISTENER_NAMESPACE = "argo-events"


class PlanError(ValueError):
    """The runtime references something that is not there (a repo, a provider)."""


@dataclass(frozen=True)
class RuntimePlan:
    product_id: str
    product_name: str
    runtime: str
    cluster: str
    namespace: str
    account: str
    uid: str
    event_namespace: str
    ingress_host: str
    sync_resource_types: str
    pipeline_readonly_key: CodeRepoSecret
    grants: tuple[CodeRepoSecret, ...]
    hook_sources: tuple[GitlabHookSource, ...]
    consumers: tuple[Consumer, ...]
    provider_type: str

    @property
    def event_repos(self) -> tuple[str, ...]:
        return tuple(source.repo for source in self.hook_sources)


def cluster_domain(cluster: Cluster) -> str:
    """``primaryDomain``, else the API server host (``<ip>.nip.io`` for an IP) — ``pkg/utils/url.go``."""
    if cluster.primary_domain:
        return cluster.primary_domain
    host = urlsplit(cluster.api_server).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"{host}.nip.io"


def _provider(tenant: TenantSnapshot, code_repo: CodeRepo) -> CodeRepoProvider:
    provider = tenant.providers.get(code_repo.provider)
    if provider is None:
        raise PlanError(f"get code repo provider failed: code repo provider {code_repo.provider} not found")
    return provider


def _code_repo(product: ProductSnapshot, name: str) -> CodeRepo:
    code_repo = product.code_repos.get(name)
    if code_repo is None:
        raise PlanError(f"get code repo {name} failed: not found")
    return code_repo


def _ssh_url(tenant: TenantSnapshot, product: ProductSnapshot, code_repo: CodeRepo) -> str:
    """``<provider sshAddress>/<group>/<repo>.git``: where git-clone fetches the pipeline file from."""
    return f"{_provider(tenant, code_repo).ssh_address}/{product.name}/{code_repo.repo_name}.git"


def _hook_source(product: ProductSnapshot, tenant: TenantSnapshot, repo: str) -> GitlabHookSource:
    code_repo = _code_repo(product, repo)
    api_server = _provider(tenant, code_repo).api_server
    return GitlabHookSource(repo, code_repo.gitlab_project_id, code_repo.webhook_events, api_server)


def build_plan(
    runtime: ProjectPipelineRuntime,
    product: ProductSnapshot,
    tenant: TenantSnapshot,
    cluster: Cluster,
    verdict: Verdict,
) -> RuntimePlan:
    pipeline_repo = _code_repo(product, runtime.pipeline_source)
    provider = _provider(tenant, pipeline_repo)
    legal_repos = tuple(
        dict.fromkeys(
            source.gitlab.repo_name
            for source in runtime.event_sources
            if source.gitlab is not None and verdict.is_legal(source.name)
        )
    )
    hook_sources = tuple(_hook_source(product, tenant, repo) for repo in legal_repos)
    readonly = CodeRepoSecret(provider.provider_type, pipeline_repo.name, "readonly")
    grants = (
        readonly,
        CodeRepoSecret(provider.provider_type, pipeline_repo.name, "readwrite"),
        *(CodeRepoSecret(provider.provider_type, repo, "accesstoken-api") for repo in legal_repos),
    )
    multi_tenant = cluster.components.get("multiTenant")
    return RuntimePlan(
        product_id=product.product_id,
        product_name=product.name,
        runtime=runtime.name,
        cluster=cluster.name,
        namespace=runtime.namespace,
        account=runtime.account,
        uid=event_objects.unique_id(product.product_id, runtime.name),
        event_namespace=cluster.component_namespace("eventListener", DEFAULT_EVENT_LISTENER_NAMESPACE),
        ingress_host=f"webhook.{cluster.name}.{cluster_domain(cluster)}",
        sync_resource_types=multi_tenant.additions.get("syncResourceTypes", "") if multi_tenant else "",
        pipeline_readonly_key=readonly,
        grants=grants,
        hook_sources=hook_sources,
        consumers=_consumers(runtime, product, tenant, cluster, verdict),
        provider_type=provider.provider_type,
    )


def _consumers(
    runtime: ProjectPipelineRuntime,
    product: ProductSnapshot,
    tenant: TenantSnapshot,
    cluster: Cluster,
    verdict: Verdict,
) -> tuple[Consumer, ...]:
    """One consumer per trigger whose event source is a legal GitLab source, each with its hooks run."""
    pipeline_repo = _code_repo(product, runtime.pipeline_source)
    provider = _provider(tenant, pipeline_repo)
    pipeline_repo_url = _ssh_url(tenant, product, pipeline_repo)
    builtin_vars = {
        "ServiceAccount": runtime.account,
        "Namespace": runtime.namespace,
        "PipelineCodeRepoName": pipeline_repo.name,
        "PipelineCodeRepoURL": pipeline_repo_url,
        "ProviderType": provider.provider_type,
        "CodeRepoProviderURL": provider.api_server,
        "PipelineDashBoardURL": _dashboard_url(cluster),
    }
    consumers = []
    for trigger in runtime.triggers:
        source = runtime.event_source(trigger.event_source)
        pipeline = runtime.pipeline(trigger.pipeline)
        if source is None or source.gitlab is None or pipeline is None or not verdict.is_legal(source.name):
            continue
        event_repo = _code_repo(product, source.gitlab.repo_name)
        trigger_vars = {
            **builtin_vars,
            "PipelineFilePath": pipeline.path,
            "PipelineLabel": pipeline.label,
            "EventSourceCodeRepoName": event_repo.name,
            "EventSourceCodeRepoURL": _ssh_url(tenant, product, event_repo),
            **({"PipelineRevision": trigger.revision} if trigger.revision else {}),
        }
        hooks = build_hooks(
            HooksContext(
                namespace=runtime.namespace,
                account=runtime.account,
                pipeline_repo_url=pipeline_repo_url,
                pipeline=pipeline,
                trigger=trigger,
                event_type=source.gitlab.events[0] if source.gitlab.events else "",
                builtin_vars=trigger_vars,
            )
        )
        consumer = Consumer(
            source.gitlab.repo_name,
            source.gitlab.events,
            source.gitlab.revision,
            hooks.pipeline_run,
            hooks.parameters,
        )
        consumers.append(consumer)
    return tuple(consumers)


def _dashboard_url(cluster: Cluster) -> str:
    pipeline = cluster.components.get("pipeline")
    gateway = cluster.components.get("gateway")
    host = pipeline.additions.get("host", "") if pipeline else ""
    port = gateway.additions.get("httpsNodePort", "") if gateway else ""
    return f"https://{host}:{port}" if host and port else ""
