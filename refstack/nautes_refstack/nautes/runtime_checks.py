"""Reference checks of ProjectPipelineRuntime and DeploymentRuntime nodes, including the CRD ``Validate``.

The API server runs the runtimes' webhook validation (``api/kubernetes/v1alpha1/*_webhook.go``) as part
of its global check, against a client that reads the product tree and the tenant cluster. Lookups that
the real server makes across all products in the tenant cluster (namespace usage by other products'
runtimes) are limited here to the product being changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nautes_refstack.nautes import errors
from nautes_refstack.nautes.nodestree import Node, ResourceTree
from nautes_refstack.nautes.references import does_not_exist
from nautes_refstack.nautes.tenant import TenantView, cluster_not_found

Check = Callable[[ResourceTree, Node, str, TenantView], Awaitable[None]]


class ValidationFailure(Exception):
    """A failure inside the CRD ``Validate`` (wrapped by the caller with its own prefix)."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# --- shared by both runtime kinds -------------------------------------------------------------------


async def _cluster_of(tree: ResourceTree, environment: str, tenant: TenantView) -> dict[str, Any]:
    """``GetClusterByRuntime``: the environment from the tree, its Cluster from the tenant cluster."""
    env = tree.find("Environment", environment)
    if env is None:
        raise ValidationFailure(f"get cluster by runtime failed: the environment {environment} is not found")
    cluster_name = _text(env.spec.get("cluster"))
    cluster = await tenant.cluster(cluster_name)
    if cluster is None:
        raise ValidationFailure(f"get cluster by runtime failed: {cluster_not_found(cluster_name)}")
    return cluster


def _component_namespaces(cluster: dict[str, Any]) -> set[str]:
    components = cluster.get("spec", {}).get("componentsList") or {}
    return {_text(item.get("namespace")) for item in components.values() if isinstance(item, dict)}


def has_code_repo_permission(tree: ResourceTree, product: str, project: str, repo: str) -> None:
    """``hasCodeRepoPermission``: the project owns the repository or a binding grants it."""
    code_repo = tree.find("CodeRepo", repo)
    if code_repo is None:
        raise ValidationFailure(f"node {repo} not found")
    if code_repo.spec.get("product") == product and code_repo.spec.get("project") == project:
        return
    for binding in tree.files("CodeRepoBinding", lambda node: node.spec.get("codeRepo") == repo):
        projects = binding.spec.get("projects") or []
        if not projects or project in projects:
            return
    raise ValidationFailure(f"not permitted to use repository {code_repo.resource_name}")


def _namespaces(node: Node) -> list[str]:
    """``Runtime.GetNamespaces``: the destination namespace(s), defaulting to the runtime's name."""
    destination = node.spec.get("destination") or {}
    if node.kind == "ProjectPipelineRuntime":
        return [_text(destination.get("namespace")) or node.resource_name]
    return [_text(item) for item in destination.get("namespaces") or []] or [node.resource_name]


def _used_namespaces(tree: ResourceTree, exclude: Node, product: str, cluster_name: str) -> set[str]:
    """``GetUsedNamespaces`` restricted to this product's runtimes, without ``exclude``."""
    clusters_by_env = {env.resource_name: _text(env.spec.get("cluster")) for env in tree.files("Environment")}
    used: set[str] = set()
    for runtime in tree.files("DeploymentRuntime") + tree.files("ProjectPipelineRuntime"):
        if runtime.kind == exclude.kind and runtime.resource_name == exclude.resource_name:
            continue
        environment = _text((runtime.spec.get("destination") or {}).get("environment"))
        if environment not in clusters_by_env:
            raise ValidationFailure(f"environment {environment} not found")
        if clusters_by_env[environment] == cluster_name:
            used.update(_namespaces(runtime))
    return used


# --- ProjectPipelineRuntime -------------------------------------------------------------------------


async def check_pipeline_runtime(tree: ResourceTree, node: Node, product: str, tenant: TenantView) -> None:
    spec, name = node.spec, node.resource_name
    project = _text(spec.get("project"))
    pipelines = _items(spec.get("pipelines"))
    paths = [_text(pipeline.get("path")) for pipeline in pipelines]
    if len(set(paths)) != len(paths):
        raise errors.plain(
            f"ProjectPipelineRuntime {name} uses the same code repository for both codeSource and "
            f"pipelineSource under {project} directory, as found in the global validation"
        )
    directory = f"projects/{project}"
    required = [
        ("Project", project),
        ("Environment", _text((spec.get("destination") or {}).get("environment"))),
    ]
    required.append(("CodeRepo", _text(spec.get("pipelineSource"))))
    for source in _items(spec.get("eventSources")):
        if isinstance(source.get("gitlab"), dict):
            required.append(("CodeRepo", _text(source["gitlab"].get("repoName"))))
    for kind, wanted in required:
        if not tree.exists(kind, wanted):
            raise errors.plain(does_not_exist(kind, wanted, "ProjectPipelineRuntime", name, directory))
    _check_duplicate_pipeline_runtimes(tree)
    try:
        illegal = await _validate_pipeline_runtime(tree, node, product, tenant)
    except ValidationFailure as failure:
        raise errors.plain(f"verify project pipeline runtime failed, err: {failure}") from None
    if illegal:
        raise errors.plain(f"verify project pipeline runtime failed, err: {'; '.join(illegal)}")


def _check_duplicate_pipeline_runtimes(tree: ResourceTree) -> None:
    runtimes = tree.files("ProjectPipelineRuntime")
    for index, first in enumerate(runtimes):
        for second in runtimes[index + 1 :]:
            same_source = first.spec.get("pipelineSource") == second.spec.get("pipelineSource")
            same_destination = (first.spec.get("destination") or {}) == (second.spec.get("destination") or {})
            first_paths = {_text(item.get("path")) for item in _items(first.spec.get("pipelines"))}
            second_paths = {_text(item.get("path")) for item in _items(second.spec.get("pipelines"))}
            if same_source and same_destination and first_paths & second_paths:
                raise errors.plain(
                    f"duplicate reference found between resource {first.resource_name} "
                    f"and resource {second.resource_name}"
                )


async def _validate_pipeline_runtime(
    tree: ResourceTree, node: Node, product: str, tenant: TenantView
) -> list[str]:
    """``ProjectPipelineRuntime.Validate``; returns the reasons of illegal event sources."""
    spec = node.spec
    project = _text(spec.get("project"))
    _static_check(spec)
    destination = spec.get("destination") or {}
    cluster = await _cluster_of(tree, _text(destination.get("environment")), tenant)
    cluster_spec = cluster.get("spec", {})
    if cluster_spec.get("usage") != "worker" or cluster_spec.get("workerType") != "pipeline":
        raise ValidationFailure("cluster is not a pipeline cluster")
    has_code_repo_permission(tree, product, project, _text(spec.get("pipelineSource")))
    additional = ((spec.get("additionalResources") or {}).get("git") or {}).get("codeRepo")
    if additional:
        try:
            has_code_repo_permission(tree, product, project, additional)
        except ValidationFailure as failure:
            raise ValidationFailure(
                f"pipeline can not use code repo {additional} in additional resource: {failure}"
            ) from None
    cluster_name = _text(cluster.get("metadata", {}).get("name"))
    try:
        used = _used_namespaces(tree, node, product, cluster_name)
    except ValidationFailure as failure:
        raise ValidationFailure(f"get used namespaces in cluster {cluster_name} failed: {failure}") from None
    if _namespaces(node)[0] in used:
        raise ValidationFailure(f"namespace {_namespaces(node)[0]} is used by other runtime")
    illegal: list[str] = []
    for source in _items(spec.get("eventSources")):
        repo = (source.get("gitlab") or {}).get("repoName") if isinstance(source.get("gitlab"), dict) else ""
        if repo:
            try:
                has_code_repo_permission(tree, product, project, repo)
            except ValidationFailure as failure:
                illegal.append(str(failure))
    if not isinstance((cluster_spec.get("componentsList") or {}).get("pipeline"), dict):
        raise ValidationFailure("cluster component pipeline is empty")
    hooks = spec.get("hooks") or {}
    for hook in _items(hooks.get("preHooks")) + _items(hooks.get("postHooks")):
        raise ValidationFailure(f"hook is illegal: unknown hook {_text(hook.get('name'))}")
    return illegal


def _static_check(spec: dict[str, Any]) -> None:  # noqa: C901 - one rule after the other, as in StaticCheck
    """``ProjectPipelineRuntime.StaticCheck``."""
    sources: set[str] = set()
    for source in _items(spec.get("eventSources")):
        if _text(source.get("name")) in sources:
            raise ValidationFailure(f"event source {source.get('name')} is duplicate")
        sources.add(_text(source.get("name")))
    pipelines: set[str] = set()
    for pipeline in _items(spec.get("pipelines")):
        if _text(pipeline.get("name")) in pipelines:
            raise ValidationFailure(f"pipeline {pipeline.get('name')} is duplicate")
        pipelines.add(_text(pipeline.get("name")))
    git = (spec.get("additionalResources") or {}).get("git")
    if isinstance(git, dict) and not git.get("codeRepo") and not git.get("url"):
        raise ValidationFailure("code repo and url can not be empty at the same time")
    seen: set[tuple[str, str, str]] = set()
    for trigger in _items(spec.get("pipelineTriggers")):
        source_name = _text(trigger.get("eventSource"))
        pipeline_name = _text(trigger.get("pipeline"))
        revision = _text(trigger.get("revision"))
        if source_name not in sources:
            raise ValidationFailure(f"found non-existent event source {source_name} in trigger")
        if pipeline_name not in pipelines:
            raise ValidationFailure(f"found non-existent pipeline {pipeline_name} in trigger")
        if (source_name, pipeline_name, revision) in seen:
            raise ValidationFailure(
                f"trigger is duplicate, event source {source_name}, "
                f"pipeline {pipeline_name}, trigger {revision}"
            )
        seen.add((source_name, pipeline_name, revision))
    for trigger in _items(spec.get("pipelineTriggers")):
        for user_input in _items(trigger.get("inputs")):
            origin = user_input.get("source") or {}
            if "builtInVar" not in origin and "fromEvent" not in origin:
                raise ValidationFailure("builtInVar and fromEvent cannot be empty at the same time")
            if "builtInVar" in origin and "fromEvent" in origin:
                raise ValidationFailure("both builtInVar and fromEvent has value")
            if not isinstance((user_input.get("transmissionMethod") or {}).get("kustomization"), dict):
                raise ValidationFailure("transmission method can not be nil")


# --- DeploymentRuntime ------------------------------------------------------------------------------


async def check_deployment_runtime(tree: ResourceTree, node: Node, product: str, tenant: TenantView) -> None:
    spec, name = node.spec, node.resource_name
    if _text(spec.get("product")) != product:
        raise errors.plain(
            f"the product name of resource {name} does not match the current product name, "
            f"expected {product}, but now is {_text(spec.get('product'))} "
        )
    for project in spec.get("projectsRef") or []:
        if project and not tree.exists("Project", project):
            raise errors.plain(
                f"the referenced project {project} by the deployment runtime {name} does not exist "
                "while verifying the validity of the global template"
            )
    environment = _text((spec.get("destination") or {}).get("environment"))
    path = f"runtimes/{name}"
    if environment and not tree.exists("Environment", environment):
        raise errors.resource_not_exist(_not_exist_upper(environment, "Environment", path))
    code_repo = _text((spec.get("manifestSource") or {}).get("codeRepo"))
    if code_repo and not tree.exists("CodeRepo", code_repo):
        detail = f", err: failed to get codeRepo {code_repo}"
        raise errors.resource_not_exist(_not_exist_upper(code_repo, "CodeRepo", path) + detail)
    _check_duplicate_deployment_runtimes(tree)
    try:
        illegal = await _validate_deployment_runtime(tree, node, tenant)
    except ValidationFailure as failure:
        raise errors.plain(f"verify deployment runtime failed, err: {failure}") from None
    if illegal:
        raise errors.plain(f"verify deployment runtime failed, err: {'; '.join(illegal)}")


def _not_exist_upper(name: str, kind: str, path: str) -> str:
    """``ResourceDoesNotExistOrUnavailable`` (name and kind appear in this order in the real text)."""
    return (
        f"During global validation, it was found that {name} '{kind}' does not exist or is unavailable. "
        f"Please check resource path of default project: {path}"
    )


def _same_deployment(first: Node, second: Node) -> bool:
    """``DeploymentRuntime.Compare``: same manifest source, product and destination environment."""
    return (
        first.spec.get("manifestSource") == second.spec.get("manifestSource")
        and first.spec.get("product") == second.spec.get("product")
        and (first.spec.get("destination") or {}).get("environment")
        == (second.spec.get("destination") or {}).get("environment")
    )


def _check_duplicate_deployment_runtimes(tree: ResourceTree) -> None:
    runtimes = tree.files("DeploymentRuntime")
    for index, first in enumerate(runtimes):
        for second in runtimes[index + 1 :]:
            if _same_deployment(first, second):
                raise errors.plain(
                    f"duplicate reference found between resource {first.name} and resource {second.name}"
                )


async def _validate_deployment_runtime(tree: ResourceTree, node: Node, tenant: TenantView) -> list[str]:
    """``DeploymentRuntime.Validate`` for a runtime that was never deployed; returns illegal project refs."""
    spec = node.spec
    cluster = await _cluster_of(tree, _text((spec.get("destination") or {}).get("environment")), tenant)
    cluster_spec = cluster.get("spec", {})
    if cluster_spec.get("usage") != "worker" or cluster_spec.get("workerType") != "deployment":
        raise ValidationFailure("cluster is not a deployment cluster")
    reserved = _component_namespaces(cluster)
    for namespace in (spec.get("destination") or {}).get("namespaces") or []:
        if namespace in reserved:
            raise ValidationFailure(f"deployment runtime can not use component namespace {namespace}")
    for other in tree.files("DeploymentRuntime"):
        if other.resource_name != node.resource_name and _same_deployment(node, other):
            raise ValidationFailure("can not deploy same repo to the same destination")
    repo = _text((spec.get("manifestSource") or {}).get("codeRepo"))
    code_repo = tree.find("CodeRepo", repo)
    if code_repo is None:
        raise ValidationFailure(f"node {repo} not found")
    illegal: list[str] = []
    for project in spec.get("projectsRef") or []:
        try:
            has_code_repo_permission(tree, _text(code_repo.spec.get("product")), project, repo)
        except ValidationFailure as failure:
            illegal.append(f"project {project} is illegal: {failure}")
    return illegal


CHECKS: dict[str, Check] = {
    "ProjectPipelineRuntime": check_pipeline_runtime,
    "DeploymentRuntime": check_deployment_runtime,
}
