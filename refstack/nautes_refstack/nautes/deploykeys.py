"""Which repositories may use which deploy keys: the refresh after CodeRepo and CodeRepoBinding changes.

Port of ``CodeRepoBindingUsecase.refreshAuthorization`` (biz/coderepobinding.go), run with the whole tree
after the change:

1. cache every repository's enabled deploy keys;
2. remove from repository X the ``repo-Y-<perm>`` keys no binding or shared project justifies any more
   (only for an X that has a project or a project-scoped binding);
3. repositories of the same project enable each other's readonly and readwrite keys;
4. for every binding (coderepo X, permission, projects P) enable on X the ``repo-Y-<perm>`` key of each
   repository Y of a project in P (of the whole product when P is empty), with ``can_push`` for
   readwrite, after revoking those of repositories outside P.

Kept quirks: step 4's revocation falls back to *all* repositories when none lies outside P (the keys are
enabled again right after); the cache is not updated by the changes it drives; GitLab 403s on the bound
repository are collected into ``403 REFRESH_PERMISSIONS_ACCESS_DENIED``. The real code visits Go maps in
random order; here bindings and repositories are visited in tree order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nautes_refstack.nautes import errors
from nautes_refstack.nautes.names import REPO_PREFIX, extract_number
from nautes_refstack.nautes.nodestree import Node, ResourceTree
from nautes_refstack.nautes.repokeys import READONLY, READWRITE, all_deploy_keys, key_title
from nautes_refstack.nautes.scope import RequestScope

_FOREIGN_KEY = re.compile(r"repo-(\d+)-(readonly|readwrite)")
JsonObject = dict[str, Any]


@dataclass
class _Cache:
    """``CacheStore``: keys enabled per repository id, and the first key seen per title."""

    project_keys: dict[int, dict[int, JsonObject]] = field(default_factory=dict)
    keys_by_title: dict[str, JsonObject] = field(default_factory=dict)


@dataclass
class _Grant:
    """What the bindings on one repository grant for one permission."""

    projects: list[str] = field(default_factory=list)
    whole_product: bool = False


async def refresh_authorization(scope: RequestScope, tree: ResourceTree) -> None:
    cache = await _initial_cache(scope, tree)
    await _clear_unauthorized_keys(scope, tree, cache)
    await _authorize_same_project_repositories(scope, tree, cache)
    await _process_bindings(scope, tree, cache)


def _project_id(repository: Node | str) -> int:
    name = repository if isinstance(repository, str) else repository.resource_name
    return extract_number(REPO_PREFIX, name)


async def _initial_cache(scope: RequestScope, tree: ResourceTree) -> _Cache:
    cache = _Cache()
    problems: list[str] = []
    for repository in tree.files("CodeRepo"):
        try:
            project_id = _project_id(repository)
            keys = await all_deploy_keys(scope, project_id)
        except errors.NautesError as failure:
            problems.append(failure.kratos_text())
            continue
        enabled = cache.project_keys.setdefault(project_id, {})
        for key in keys:
            enabled[int(key["id"])] = key
            cache.keys_by_title.setdefault(str(key.get("title", "")), key)
    if problems:
        raise errors.plain("|".join(problems))
    return cache


# --- step 2: keys that lost their justification -----------------------------------------------------


def _grants(tree: ResourceTree, repository: str) -> dict[str, _Grant] | None:
    """``calculateCodeRepoTotalPermission``; ``None`` when no project scope is involved at all."""
    grants = {READONLY: _Grant(), READWRITE: _Grant()}
    for binding in tree.files("CodeRepoBinding", lambda node: node.spec.get("codeRepo") == repository):
        grant = grants.get(str(binding.spec.get("permissions", "")))
        if grant is None:
            continue
        projects = binding.spec.get("projects") or []
        if not projects:
            grant.whole_product = True
        for project in projects:
            if project not in grant.projects:
                grant.projects.append(project)
    owner = tree.find("CodeRepo", repository)
    own_project = str(owner.spec.get("project", "")) if owner is not None else ""
    if own_project:
        for grant in grants.values():
            if own_project not in grant.projects:
                grant.projects.append(own_project)
    if not grants[READONLY].projects and not grants[READWRITE].projects:
        return None
    return grants


async def _clear_unauthorized_keys(scope: RequestScope, tree: ResourceTree, cache: _Cache) -> None:
    for project_id, keys in cache.project_keys.items():
        grants = _grants(tree, f"{REPO_PREFIX}{project_id}")
        if grants is None:
            continue
        for key_id, key in list(keys.items()):
            found = _FOREIGN_KEY.search(str(key.get("title", "")))
            if found is None or found.group(1) == str(project_id):
                continue
            owner = tree.find("CodeRepo", f"{REPO_PREFIX}{found.group(1)}")
            grant = grants[found.group(2)]
            if owner is not None and (grant.whole_product or owner.spec.get("project") in grant.projects):
                continue
            try:
                await scope.gitlab.delete_deploy_key(project_id, key_id)
            except errors.NautesError as failure:
                if failure.reason == "DEPLOYKEY_NOT_FOUND":
                    return
                raise


# --- step 3: repositories of one project ------------------------------------------------------------


async def _authorize_same_project_repositories(
    scope: RequestScope, tree: ResourceTree, cache: _Cache
) -> None:
    repositories = tree.files("CodeRepo")
    problems: list[str] = []
    for index, first in enumerate(repositories):
        for second in repositories[index + 1 :]:
            project = first.spec.get("project", "")
            if (
                first.resource_name == second.resource_name
                or not project
                or project != second.spec.get("project")
            ):
                continue
            try:
                await _authorize_pair(scope, first, second, cache)
            except errors.NautesError as failure:
                problems.append(failure.kratos_text())
    if problems:
        raise errors.plain("|".join(problems))


async def _authorize_pair(scope: RequestScope, first: Node, second: Node, cache: _Cache) -> None:
    try:
        first_keys = [await _own_key(scope, first, permission, cache) for permission in (READONLY, READWRITE)]
        second_keys = [
            await _own_key(scope, second, permission, cache) for permission in (READONLY, READWRITE)
        ]
    except errors.NautesError as failure:
        if failure.reason == "DEPLOYKEY_NOT_FOUND":
            return
        raise
    await _enable_pair_keys(scope, first, second_keys[0], second_keys[1], cache)
    await _enable_pair_keys(scope, second, first_keys[0], first_keys[1], cache)


async def _own_key(scope: RequestScope, repository: Node, permission: str, cache: _Cache) -> JsonObject:
    """``getDeployKey``: the repository's own key of ``permission``, as GitLab knows it."""
    project_id = _project_id(repository)
    secret = await scope.vault.deploy_key(repository.resource_name, permission)
    cached = cache.project_keys.get(project_id, {}).get(secret.key_id)
    if cached is not None:
        return cached
    key = await scope.gitlab.deploy_key(project_id, secret.key_id)
    cache.project_keys[project_id] = {secret.key_id: key}  # sic: replaces the repository's cached keys
    return key


async def _enable_pair_keys(
    scope: RequestScope, repository: Node, readonly: JsonObject, readwrite: JsonObject, cache: _Cache
) -> None:
    project_id = _project_id(repository)
    enabled = cache.project_keys.get(project_id, {})
    if int(readonly["id"]) not in enabled:
        await _enable(scope, project_id, int(readonly["id"]))
    if int(readwrite["id"]) not in enabled:
        await _enable(scope, project_id, int(readwrite["id"]))
        await _allow_push(scope, project_id, int(readwrite["id"]), str(readwrite.get("title", "")))


async def _enable(scope: RequestScope, project_id: int, key_id: int) -> JsonObject:
    key: JsonObject = await scope.gitlab.plain("POST", f"projects/{project_id}/deploy_keys/{key_id}/enable")
    return key


async def _allow_push(scope: RequestScope, project_id: int, key_id: int, title: str) -> None:
    await scope.gitlab.plain(
        "PUT", f"projects/{project_id}/deploy_keys/{key_id}", body={"title": title, "can_push": True}
    )


# --- step 4: what the bindings grant ----------------------------------------------------------------


async def _process_bindings(scope: RequestScope, tree: ResourceTree, cache: _Cache) -> None:
    bound: dict[str, list[str]] = {}
    for binding in tree.files("CodeRepoBinding"):
        repositories = bound.setdefault(str(binding.spec.get("permissions", "")), [])
        if binding.spec.get("codeRepo") not in repositories:
            repositories.append(str(binding.spec.get("codeRepo", "")))
    denied: list[str] = []
    for permission, repositories in bound.items():
        for repository in repositories:
            try:
                await _authorize_bound_repository(scope, tree, cache, permission, repository)
            except errors.NautesError as failure:
                if failure.reason != "NO_AUTHORIZATION":
                    raise
                denied.append(failure.kratos_text())
    if denied:
        raise errors.refresh_permissions_access_denied(
            f"failed to refersh permission, err: {'|'.join(denied)}"
        )


async def _authorize_bound_repository(
    scope: RequestScope, tree: ResourceTree, cache: _Cache, permission: str, repository: str
) -> None:
    """``processAuthorization`` for the bindings of ``permission`` on ``repository``."""
    bound_id = _project_id(repository)
    scopes: dict[str, _Grant] = {}
    for binding in tree.files(
        "CodeRepoBinding",
        lambda node: node.spec.get("codeRepo") == repository and node.spec.get("permissions") == permission,
    ):
        grant = scopes.setdefault(str(binding.spec.get("product", "")), _Grant())
        projects = binding.spec.get("projects") or []
        grant.whole_product = grant.whole_product or not projects
        grant.projects.extend(project for project in projects if project not in grant.projects)
    for product, grant in scopes.items():
        if grant.whole_product:
            await _authorize(scope, _repositories(tree), bound_id, permission, cache)
            continue
        await _revoke_outside(scope, tree, cache, grant.projects, bound_id, permission, product)
        inside = [
            repo
            for repo in _repositories(tree)
            for project in grant.projects
            if repo.spec.get("project") == project
        ]
        await _authorize(scope, inside, bound_id, permission, cache)


def _repositories(tree: ResourceTree) -> list[Node]:
    """``nodesToCodeRepoists``: the CodeRepo files under ``code-repos/<dir>/``."""
    code_repos = next((child for child in tree.root.children if child.name == "code-repos"), None)
    if code_repos is None:
        raise errors.plain("the code-repos directory is not exist")
    return [
        node for directory in code_repos.children for node in directory.children if node.kind == "CodeRepo"
    ]


async def _revoke_outside(
    scope: RequestScope,
    tree: ResourceTree,
    cache: _Cache,
    projects: list[str],
    bound_id: int,
    permission: str,
    product: str,
) -> None:
    """``recycleAuthorizationByProjectScopes``: take back keys of repositories outside ``projects``."""
    bound = await scope.gitlab.project(bound_id)
    candidates: list[Node] = []
    if product == f"product-{bound['namespace']['id']}":
        everything = _repositories(tree)
        candidates = [
            repo
            for repo in everything
            if _project_id(repo) != bound_id
            and (not repo.spec.get("project") or repo.spec.get("project") not in projects)
        ] or everything
    for repo in candidates:
        project_id = _project_id(repo)
        if project_id == bound_id:
            continue
        key_id = await _key_id(scope, cache, repo, permission)
        if key_id in cache.project_keys.get(bound_id, {}):
            try:
                await scope.gitlab.delete_deploy_key(bound_id, key_id)
            except errors.NautesError as failure:
                if failure.reason != "DEPLOYKEY_NOT_FOUND":
                    raise


async def _key_id(scope: RequestScope, cache: _Cache, repository: Node, permission: str) -> int:
    """The id of ``repo-<id>-<permission>``: from the cache, else from the repository's Vault secret."""
    cached = cache.keys_by_title.get(key_title(_project_id(repository), permission))
    if cached is not None:
        return int(cached["id"])
    return (await scope.vault.deploy_key(repository.resource_name, permission)).key_id


async def _authorize(
    scope: RequestScope, repositories: list[Node], bound_id: int, permission: str, cache: _Cache
) -> None:
    """``authorizeDeployKey``: enable each repository's key on the bound repository (push for readwrite)."""
    for repo in repositories:
        project_id = _project_id(repo)
        if project_id == bound_id:
            continue
        key_id = await _key_id(scope, cache, repo, permission)
        key = cache.project_keys.get(project_id, {}).get(key_id)
        if key is None:
            try:
                key = await scope.gitlab.deploy_key(project_id, key_id)
            except errors.NautesError as failure:
                if failure.reason == "DEPLOYKEY_NOT_FOUND":
                    continue
                raise errors.plain(
                    f"failed to get deploykey during applyDeploykey, repo id: {project_id}, "
                    f"err: {failure.kratos_text()}"
                ) from None
        enabled = await _enable(scope, bound_id, int(key["id"]))
        if permission == READWRITE:
            await _allow_push(scope, bound_id, int(enabled["id"]), str(enabled.get("title", "")))
