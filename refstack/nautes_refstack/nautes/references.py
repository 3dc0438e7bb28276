"""Reference checks of Project, Environment, CodeRepo and CodeRepoBinding nodes (their ``CheckReference``).

Each check sees the whole tree as it would be after the change and fails with the real server's text
(plain 500). Cluster and CodeRepoProvider lookups, which the real server makes against the tenant
management cluster, go through :class:`TenantView`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from nautes_refstack.nautes import errors
from nautes_refstack.nautes.nodestree import Node, ResourceTree
from nautes_refstack.nautes.tenant import TenantView, cluster_not_found

GITLAB_WEBHOOK_EVENTS = (
    "confidential_issues_events",
    "confidential_note_events",
    "deployment_events",
    "issues_events",
    "job_events",
    "merge_requests_events",
    "note_events",
    "pipeline_events",
    "push_events",
    "releases_events",
    "tag_push_events",
)

Check = Callable[[ResourceTree, Node, str, TenantView], Awaitable[None]]


def does_not_exist(kind: str, name: str, owner_kind: str, owner: str, directory: str) -> str:
    """``_ResourceDoesNotExistOrUnavailable`` (biz/errors.go), the most common global-check message."""
    return (
        f"during global validation, it was found that {kind} '{name}' does not exist or is unavailable. "
        f"Please check {owner_kind} '{owner}' in directory '{directory}'"
    )


def _check_directory_named_after_resource(tree: ResourceTree, node: Node) -> None:
    """``CheckResourceSubdirectory``: ``projects/<p>/<p>.yaml`` and ``code-repos/repo-N/repo-N.yaml``."""
    directory = tree.by_path().get(os.path.dirname(node.path))
    if directory is None:
        raise errors.plain(f"the file path node is not found: {os.path.dirname(node.path)}")
    name = node.resource_name
    if directory.name != name:
        raise errors.plain(
            "the resource directory name is inconsistent, "
            f"the subdirectory name of {name} resource should be {name}, but now it is {directory.name}"
        )


async def check_project(tree: ResourceTree, node: Node, product: str, tenant: TenantView) -> None:
    _check_directory_named_after_resource(tree, node)
    if node.spec.get("product", "") != product:
        raise errors.plain(
            f"the product name of resource {node.resource_name} does not match the current product name, "
            f"expected {product}, but now is {node.spec.get('product', '')} "
        )


async def check_environment(tree: ResourceTree, node: Node, product: str, tenant: TenantView) -> None:
    if node.spec.get("product", "") != product:
        raise errors.plain(
            f"the product name of resource {node.resource_name} does not match the current product name, "
            f"expected is {product}, but now is {node.spec.get('product', '')}"
        )
    cluster = str(node.spec.get("cluster", ""))
    if await tenant.cluster(cluster) is None:
        message = does_not_exist("Cluster", cluster, "Environment", node.resource_name, "envs")
        raise errors.plain(f"{message}err: {cluster_not_found(cluster)}")
    environments = tree.files("Environment")
    for index, first in enumerate(environments):
        for second in environments[index + 1 :]:
            if first.spec.get("cluster") == second.spec.get("cluster"):
                raise errors.plain(
                    "duplicate reference cluster resources sbetween "
                    f"resource {first.name} and resource {second.name}"
                )


async def check_code_repo(tree: ResourceTree, node: Node, product: str, tenant: TenantView) -> None:
    _check_directory_named_after_resource(tree, node)
    spec = node.spec
    repo_name = spec.get("repoName", "")
    if spec.get("product", "") != product:
        raise errors.plain(
            f"the product name of resource {repo_name} does not match the current product name, "
            f"expected product is {product}, but now is {spec.get('product', '')}"
        )
    webhook = spec.get("webhook")
    if isinstance(webhook, dict):
        for event in webhook.get("events") or []:
            if event and event not in GITLAB_WEBHOOK_EVENTS:
                raise errors.plain(
                    f"invalid webhook {event} please refer to gitlab api documentation: "
                    "https://docs.gitlab.com/ee/api/projects.html#edit-project-hook"
                )
    project = spec.get("project", "")
    if project and not tree.exists("Project", project):
        directory = f"code-repos/{node.resource_name}"
        raise errors.plain(does_not_exist("Project", project, "CodeRepo", repo_name, directory))
    provider = spec.get("codeRepoProvider", "")
    if not provider:
        raise errors.plain("codeRepoProvider  is an invalid resource, err: resource name may not be empty")
    if await tenant.code_repo_provider() != provider:
        raise errors.plain(
            f"codeRepoProvider {provider} is an invalid resource, "
            f'err: coderepoproviders.nautes.resource.nautes.io "{provider}" not found'
        )


async def check_code_repo_binding(tree: ResourceTree, node: Node, product: str, tenant: TenantView) -> None:
    code_repo = node.spec.get("codeRepo", "")
    if not tree.exists("CodeRepo", code_repo):
        raise errors.plain(
            f"the authorization repository {code_repo} does not exist when checking CodeRepoBinding "
            f"{node.resource_name}"
        )
    for project in node.spec.get("projects") or []:
        if not tree.exists("Project", project):
            raise errors.plain(f"project resource {project} does not exist or is invalid")


CHECKS: dict[str, Check] = {
    "Project": check_project,
    "Environment": check_environment,
    "CodeRepo": check_code_repo,
    "CodeRepoBinding": check_code_repo_binding,
}
