"""Product = a GitLab group holding the ``default.project`` repository (service/ and biz/product.go)."""

from __future__ import annotations

from typing import Any

from nautes_refstack.nautes import errors
from nautes_refstack.nautes.gitlab_api import JsonObject
from nautes_refstack.nautes.nodestree import KUSTOMIZATION_PATH, empty_kustomization
from nautes_refstack.nautes.product_store import DEFAULT_PROJECT
from nautes_refstack.nautes.protojson import Message
from nautes_refstack.nautes.repokeys import (
    READONLY,
    remove_other_keys_with_same_title,
    repo_name,
    save_deploy_key,
)
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.selector import FieldRule, matches

RULES = {"product_name": FieldRule("Name", "in")}


def _reply(group: JsonObject) -> dict[str, Any]:
    gitlab = {
        "path": group.get("path", ""),
        "visibility": group.get("visibility", ""),
        "description": group.get("description") or "",
    }
    return {"name": group.get("name", ""), "git": {"gitlab": gitlab, "github": None}}


async def get(scope: RequestScope, request: Message) -> dict[str, Any]:
    """``GetProduct``: a missing group or ``default.project`` is a plain 500, not a 404."""
    product = request.text("product_name")
    try:
        group = await scope.gitlab.group(product)
        await scope.gitlab.project(f"{group['path']}/{DEFAULT_PROJECT}")
    except errors.NautesError as failure:
        if failure.reason in ("GROUP_NOT_FOUND", "PROJECT_NOT_FOUND"):
            raise errors.plain("there are no default projects under this product") from None
        raise
    return _reply(group)


async def list_items(scope: RequestScope, request: Message) -> dict[str, Any]:
    """``ListProducts``: every group that has a project found by searching ``default.project``."""
    items = []
    for project in await scope.gitlab.search_projects(DEFAULT_PROJECT):
        try:
            group = await scope.gitlab.group(int(project["namespace"]["id"]))
        except errors.NautesError as failure:
            if failure.reason == "GROUP_NOT_FOUND":
                continue
            raise
        if matches(request.text("field_selector"), {"Name": group.get("name", "")}, RULES):
            items.append(_reply(group))
    return {"items": items}


def _group_options(product: str, request: Message) -> dict[str, str]:
    """The service's checks and defaults for the GitLab group (name = product, path = name)."""
    git = request.child("git")
    gitlab = git.child("gitlab") if git is not None else None
    options = (
        {key: gitlab.text(key) for key in ("name", "path", "visibility", "description")} if gitlab else {}
    )
    if options.get("path") and options["path"] != product:
        raise errors.plain(
            "when creating a GitLab group, the path must be consistent with the product name. "
            f"the expected name is {product}, but it is currently {options['path']}"
        )
    options["name"] = options.get("name") or product
    options["path"] = options.get("path") or options["name"]
    return {key: value for key, value in options.items() if value}


async def save(scope: RequestScope, request: Message) -> dict[str, Any]:
    """``SaveProduct``: create or update the group, make sure ``default.project`` exists, add its key."""
    product = request.text("product_name")
    options = _group_options(product, request)
    try:
        group = await scope.gitlab.group(product)
    except errors.NautesError as failure:
        if failure.code != 404:
            raise
        group = await scope.gitlab.create_group(options)
    else:
        group = await scope.gitlab.plain("PUT", f"groups/{group['id']}", body=options)
    project = await _save_default_project(scope, group)
    key = await save_deploy_key(scope, int(project["id"]), can_push=False)
    await remove_other_keys_with_same_title(scope, int(project["id"]), key)
    return {"message": "Successfully saved"}


async def _save_default_project(scope: RequestScope, group: JsonObject) -> JsonObject:
    """``saveDefaultProject``: a new ``default.project`` gets an initial commit of the empty kustomization."""
    try:
        project: JsonObject = await scope.gitlab.project(f"{group['path']}/{DEFAULT_PROJECT}")
        return project
    except errors.NautesError:
        pass
    project = await scope.gitlab.plain(
        "POST",
        "projects",
        body={"name": DEFAULT_PROJECT, "namespace_id": group["id"], "initialize_with_readme": True},
    )
    async with await scope.clone(project["http_url_to_repo"]) as copy:
        copy.write(KUSTOMIZATION_PATH, empty_kustomization())
        await copy.push()
    return project


async def delete(scope: RequestScope, request: Message) -> dict[str, Any]:
    """``DeleteProduct``: refused while the group holds more than ``default.project``."""
    product = request.text("product_name")
    group = await scope.gitlab.group(product)
    projects = await scope.gitlab.group_projects(int(group["id"]))
    if len(projects) > 1:
        raise errors.plain(f"here are multiple project in {group['path']}, unable to delete")
    if len(projects) == 1:
        project = await scope.gitlab.project(f"{group['path']}/{DEFAULT_PROJECT}")
        await scope.vault.delete_git_secret(repo_name(int(project["id"])), READONLY)
    await scope.gitlab.delete_group(int(group["id"]))
    return {"message": "Successfully deleted"}
