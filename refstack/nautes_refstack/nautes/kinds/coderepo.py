"""CodeRepo: a GitLab project in the product group plus ``code-repos/repo-<id>/repo-<id>.yaml``.

Saving creates (or updates) the GitLab project *before* the tree is checked, then gives the repository
its deploy keys and access token and refreshes the deploy-key grants of the whole product
(service/coderepo.go, biz/coderepo.go).
"""

from __future__ import annotations

from typing import Any

from nautes_refstack.nautes import errors, names, product_store
from nautes_refstack.nautes.crd_types import API_VERSION
from nautes_refstack.nautes.deploykeys import refresh_authorization
from nautes_refstack.nautes.gitlab_api import JsonObject
from nautes_refstack.nautes.nodestree import Node
from nautes_refstack.nautes.protojson import Message
from nautes_refstack.nautes.repokeys import (
    delete_all_deploy_keys,
    delete_secrets,
    remove_other_access_tokens,
    repo_name,
    save_access_token,
    save_deploy_key,
)
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.selector import FieldRule, matches

KIND = "CodeRepo"
PAGE_SIZE = 40
RULES = {
    "pipeline_runtime": FieldRule("Spec.PipelineRuntime", "bool"),
    "deployment_runtime": FieldRule("Spec.DeploymentRuntime", "bool"),
    "project": FieldRule("Spec.Project", "in"),
}


def _reply(node: Node, product: str, project: JsonObject) -> dict[str, Any]:
    webhook = node.spec.get("webhook")
    events = webhook.get("events") if isinstance(webhook, dict) else None
    return {
        "product": product,
        "name": node.spec.get("repoName", ""),
        "project": node.spec.get("project", ""),
        "webhook": {"events": list(events or [])},
        "deployment_runtime": node.spec.get("deploymentRuntime") is True,
        "pipeline_runtime": node.spec.get("pipelineRuntime") is True,
        "git": {
            "gitlab": {
                "name": project.get("name", ""),
                "path": project.get("path", ""),
                "visibility": project.get("visibility", ""),
                "description": project.get("description") or "",
                "ssh_url_to_repo": project.get("ssh_url_to_repo", ""),
                "http_url_to_repo": project.get("http_url_to_repo", ""),
            },
            "github": None,
        },
    }


async def get(scope: RequestScope, request: Message) -> dict[str, Any]:
    product, name = request.text("product_name"), request.text("coderepoName")
    project = await scope.gitlab.project(f"{product}/{name}")
    resource = repo_name(int(project["id"]))
    node = await product_store.get(scope, KIND, product, resource)
    try:
        group_name = await names.product_id_to_name(scope, str(node.spec.get("product", "")))
    except errors.NautesError:
        raise errors.plain(
            f"failed to get codeRepo {resource}, err: unable to convert product name"
        ) from None
    return _reply(node, group_name, project)


async def list_items(scope: RequestScope, request: Message) -> dict[str, Any]:
    """``ListCodeRepos``: CRs whose GitLab project (same id and name) is still in the group."""
    product = request.text("product_name")
    tree = await product_store.list_tree(scope, product)
    remaining = tree.files(KIND)
    pairs: list[tuple[Node, JsonObject]] = []
    page = 1
    while True:
        projects = await scope.gitlab.group_projects(product, page, PAGE_SIZE)
        for project in projects:
            for node in list(remaining):
                if names.extract_number(names.REPO_PREFIX, node.resource_name) == project[
                    "id"
                ] and project.get("name") == node.spec.get("repoName"):
                    pairs.append((node, project))
                    remaining.remove(node)
        if len(projects) < PAGE_SIZE:
            break
        page += 1
    items = []
    for node, project in pairs:
        view = {
            "Name": node.resource_name,
            "Spec": {
                "Project": node.spec.get("project", ""),
                "PipelineRuntime": node.spec.get("pipelineRuntime") is True,
                "DeploymentRuntime": node.spec.get("deploymentRuntime") is True,
                "RepoName": node.spec.get("repoName", ""),
            },
        }
        if matches(request.text("field_selector"), view, RULES):
            items.append(_reply(node, product, project))
    return {"items": items}


def _project_options(name: str, body: Message) -> dict[str, str]:
    """The service's defaults and its one check: the repository path must be the CodeRepo's name."""
    git = body.child("git")
    gitlab = git.child("gitlab") if git is not None else None
    options = (
        {key: gitlab.text(key) for key in ("name", "path", "visibility", "description")} if gitlab else {}
    )
    options["name"] = options.get("name") or name
    options["path"] = options.get("path") or options["name"]
    if options["path"] != name:
        raise errors.plain("the name of the codeRepo resource must be the same as the repository path")
    return options


async def _save_repository(
    scope: RequestScope, group: JsonObject, name: str, options: dict[str, str]
) -> JsonObject:
    """``saveRepository``: create the project, or update it (visibility only when it changes)."""
    try:
        project = await scope.gitlab.project(f"{group['path']}/{name}")
    except errors.NautesError as failure:
        if failure.code != 404:
            raise
        created: JsonObject = await scope.gitlab.plain(
            "POST",
            "projects",
            body={
                **{key: value for key, value in options.items() if value},
                "namespace_id": group["id"],
                "initialize_with_readme": True,
            },
        )
        return created
    if options.get("visibility") == project.get("visibility"):
        options = {**options, "visibility": ""}
    updated: JsonObject = await scope.gitlab.plain(
        "PUT", f"projects/{project['id']}", body={key: value for key, value in options.items() if value}
    )
    return updated


async def save(scope: RequestScope, request: Message) -> dict[str, Any]:
    body = request.child("body")
    if body is None:
        raise errors.panic()  # req.Body.Git.Gitlab on a nil body
    product, name = request.text("product_name"), request.text("coderepoName")
    options = _project_options(name, body)
    webhook = body.child("webhook")
    events = webhook.texts("Events") if webhook is not None else []
    group = await scope.gitlab.group(product)
    project = await _save_repository(scope, group, name, options)
    project_id = int(project["id"])
    resource = repo_name(project_id)
    spec: dict[str, Any] = {
        "product": f"product-{group['id']}",
        "project": body.text("project"),
        "repoName": name,
        "deploymentRuntime": body.flag("DeploymentRuntime"),
        "pipelineRuntime": body.flag("PipelineRuntime"),
        "webhook": {"events": events} if events else None,
    }

    async def build(existing: Node | None, root: str) -> Node:
        """``CreateNode``; the lookup is by the URL name, so an existing CR is always replaced whole."""
        provider = await scope.tenant.code_repo_provider()
        content = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": resource},
            "spec": {**spec, "codeRepoProvider": provider or ""},
        }
        return Node(resource, f"{root}/code-repos/{resource}/{resource}.yaml", False, 4, KIND, content)

    await product_store.save(scope, KIND, product, name, request.flag("insecureSkipCheck"), build)
    await save_deploy_key(scope, project_id, can_push=True)
    await save_deploy_key(scope, project_id, can_push=False)
    token = await save_access_token(scope, project_id)
    await remove_other_access_tokens(scope, project_id, token)
    try:
        await refresh_authorization(scope, await product_store.load_tree(scope, product))
    except errors.NautesError as failure:
        if failure.reason != "REFRESH_PERMISSIONS_ACCESS_DENIED":
            raise
        return {
            "message": f"[warning] the CodeRepo {name} was deleted, but refresh permission failed, "
            f"please check the current user permission, err: {failure.kratos_text()}"
        }
    return {"message": f"Successfully saved {name} configuration"}


async def delete(scope: RequestScope, request: Message) -> dict[str, Any]:
    """``DeleteCodeRepo``: a repository GitLab does not know is already deleted (200)."""
    product, name = request.text("product_name"), request.text("coderepoName")
    group = await scope.gitlab.group(product)
    try:
        project = await scope.gitlab.project(f"{group['path']}/{name}")
    except errors.NautesError as failure:
        if failure.reason == "PROJECT_NOT_FOUND":
            return {"message": f"Successfully deleted {name} configuration"}
        raise
    project_id = int(project["id"])
    resource = repo_name(project_id)
    tree = await product_store.load_tree(scope, product)
    if tree.find(KIND, resource) is None:
        raise errors.node_not_found(f"failed to get coderepo of repository {resource}")
    await refresh_authorization(scope, tree)
    await product_store.delete(scope, KIND, product, request.flag("insecureSkipCheck"), lambda _: resource)
    await delete_secrets(scope, project_id)
    await delete_all_deploy_keys(scope, project_id)
    await scope.gitlab.plain("DELETE", f"projects/{project_id}")
    return {"message": f"Successfully deleted {name} configuration"}
