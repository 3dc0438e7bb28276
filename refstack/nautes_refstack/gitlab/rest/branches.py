"""Branches (``/repository/branches``) and protected branches (``/protected_branches``).

The default branch becomes protected (Maintainers push, no force push) when it is first created, like
GitLab's default "fully protected" setting; the quickstart then asks users to allow force push on ``main``,
which ``PATCH /protected_branches/main`` with ``allow_force_push`` does.

Follows gitlab ``lib/api/branches.rb`` and ``lib/api/protected_branches.rb``;
https://docs.gitlab.com/ee/api/branches.html and https://docs.gitlab.com/ee/api/protected_branches.html
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from nautes_refstack.gitlab import git_access, permissions
from nautes_refstack.gitlab.git_access import GitActor
from nautes_refstack.gitlab.model import ZERO_SHA, AccessLevel, Project, ProtectedBranch, RefChange, User
from nautes_refstack.gitlab.repository import CommitInfo, FileChange, Signature
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.auth import current_user
from nautes_refstack.gitlab.rest.commit_writes import commit_to_branch
from nautes_refstack.gitlab.rest.context import ApiContext, context
from nautes_refstack.gitlab.rest.lookup import project_with_role, readable_project
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.rest.ref_updates import move_ref

routes = web.RouteTableDef()
ALLOWED_LEVELS = (AccessLevel.NO_ACCESS, AccessLevel.DEVELOPER, AccessLevel.MAINTAINER)


def _branch_entity(
    ctx: ApiContext, project: Project, user: User | None, name: str, commit: CommitInfo, empty: bool
) -> entities.Json:
    path = ctx.state.path_with_namespace(project)
    protections = ctx.state.protections_matching(project, name)
    rules = [rule for pb in protections for rule in pb.push_access_levels]
    merge_rules = [rule for pb in protections for rule in pb.merge_access_levels]
    can_push = user is not None and git_access.can_push_to_branch(
        ctx.state, GitActor(user), project, name, empty
    )
    return {
        "name": name,
        "commit": entities.commit(ctx, path, commit),
        "merged": False,
        "protected": bool(protections),
        "developers_can_push": any(r.access_level == AccessLevel.DEVELOPER for r in rules),
        "developers_can_merge": any(r.access_level == AccessLevel.DEVELOPER for r in merge_rules),
        "can_push": can_push,
        "default": name == project.default_branch,
        "web_url": f"{ctx.urls.project_web(path)}/-/tree/{name}",
    }


async def _readable_code(request: web.Request) -> tuple[User | None, Project]:
    user, project = readable_project(request)
    if not permissions.can_download_code(context(request).state, user, project):
        raise errors.forbidden()
    return user, project


@routes.get("/api/v4/projects/{id}/repository/branches")
async def list_branches(request: web.Request) -> web.Response:
    user, project = await _readable_code(request)
    ctx = context(request)
    repository = ctx.state.repository(project)
    branches = await asyncio.to_thread(repository.branches)
    if search := request.query.get("search", ""):
        branches = {name: sha for name, sha in branches.items() if search.lower() in name.lower()}
    commits = {c.id: c for c in await asyncio.to_thread(repository.commits, sorted(set(branches.values())))}
    names = sorted(branches)
    return paginate(
        request, names, lambda n: _branch_entity(ctx, project, user, n, commits[branches[n]], False)
    )


@routes.get("/api/v4/projects/{id}/repository/branches/{branch:.+}")
async def get_branch(request: web.Request) -> web.Response:
    user, project = await _readable_code(request)
    ctx = context(request)
    name = request.match_info["branch"]
    repository = ctx.state.repository(project)
    sha = (await asyncio.to_thread(repository.branches)).get(name)
    if sha is None:
        raise errors.not_found("Branch")
    commit = (await asyncio.to_thread(repository.commits, [sha]))[0]
    return web.json_response(_branch_entity(ctx, project, user, name, commit, False))


@routes.post("/api/v4/projects/{id}/repository/branches")
async def create_branch(request: web.Request) -> web.Response:
    user, project = project_with_role(request, AccessLevel.DEVELOPER)
    ctx = context(request)
    params = await Params.of(request)
    params.require("branch", "ref")
    name = params.text("branch")
    repository = ctx.state.repository(project)
    if await asyncio.to_thread(repository.is_empty):
        await _create_default_branch(ctx, user, project)
    target = await asyncio.to_thread(repository.resolve_commit, params.text("ref"))
    if target is None:
        raise errors.bad_request("Invalid reference name: " + params.text("ref"))
    if name in await asyncio.to_thread(repository.branches):
        raise errors.bad_request("Branch already exists")
    await move_ref(ctx, user, project, RefChange(ZERO_SHA, target, f"refs/heads/{name}"), refusal_status=403)
    commit = (await asyncio.to_thread(repository.commits, [target]))[0]
    return web.json_response(_branch_entity(ctx, project, user, name, commit, False), status=201)


@routes.delete("/api/v4/projects/{id}/repository/branches/{branch:.+}")
async def delete_branch(request: web.Request) -> web.Response:
    """``Branches::DeleteService`` (gitlab ``app/services/branches/delete_service.rb``): 405 without push
    rights, 404 "No such branch", the push checks' refusal (a protected branch) as a 400; 204 once gone."""
    user = current_user(request)
    _, project = readable_project(request)
    ctx = context(request)
    if not permissions.has_project_role(ctx.state, user, project, AccessLevel.DEVELOPER):
        raise errors.ApiError(405, {"message": "You dont have permission to delete the branch"})
    name = request.match_info["branch"]
    sha = (await asyncio.to_thread(ctx.state.repository(project).branches)).get(name)
    if sha is None:
        raise errors.ApiError(404, {"message": "No such branch"})
    await move_ref(ctx, user, project, RefChange(sha, ZERO_SHA, f"refs/heads/{name}"), refusal_status=400)
    return web.Response(status=204)


async def _create_default_branch(ctx: ApiContext, user: User, project: Project) -> None:
    """On an empty repository GitLab first commits an empty ``README.md`` ("Add README.md") to the default
    branch, so ``ref=main`` names a commit (``Branches::CreateService#create_default_branch``, gitlab
    ``app/services/branches/create_service.rb``)."""
    readme = FileChange("README.md", b"")
    author = Signature(user.name, user.email)
    branch = project.default_branch
    await commit_to_branch(ctx, user, project, branch, (None, None), [readme], "Add README.md", author)


# --- protected branches ---------------------------------------------------------------------------


def _level(value: int | None, name: str, default: AccessLevel) -> AccessLevel:
    if value is None:
        return default
    if value not in ALLOWED_LEVELS:
        raise errors.ApiError(400, {"error": f"{name} does not have a valid value"})
    return AccessLevel(value)


def _protected(request: web.Request, project: Project) -> ProtectedBranch:
    protected = context(request).state.protected_branch_named(project, request.match_info["name"])
    if protected is None:
        raise errors.record_not_found()
    return protected


def _apply_allowed_to_push(
    ctx: ApiContext, project: Project, protected: ProtectedBranch, params: Params
) -> None:
    """``allowed_to_push`` entries: ``{access_level}``, ``{deploy_key_id}``, or ``{id, _destroy: true}``."""
    for entry in params.get_objects("allowed_to_push"):
        if entry.get("_destroy") and "id" in entry:
            protected.push_access_levels = [r for r in protected.push_access_levels if r.id != entry["id"]]
        elif (key_id := entry.get("deploy_key_id")) is not None:
            key = ctx.state.keys.get(int(key_id))
            link = ctx.state.deploy_link(key, project) if key else None
            if link is None or not link.can_push:
                raise errors.validation_failed(
                    {"push_access_levels.deploy_key": ["is not enabled for this project"]}
                )
            protected.push_access_levels.append(
                ctx.state.new_access_rule(AccessLevel.MAINTAINER, int(key_id))
            )
        elif "access_level" in entry:
            level = _level(int(entry["access_level"]), "allowed_to_push", AccessLevel.MAINTAINER)
            protected.push_access_levels.append(ctx.state.new_access_rule(level))


@routes.get("/api/v4/projects/{id}/protected_branches")
async def list_protected_branches(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.DEVELOPER)
    ctx = context(request)
    return paginate(
        request, ctx.state.protected_branches_of(project), lambda pb: entities.protected_branch(ctx, pb)
    )


@routes.get("/api/v4/projects/{id}/protected_branches/{name:.+}")
async def get_protected_branch(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.DEVELOPER)
    return web.json_response(entities.protected_branch(context(request), _protected(request, project)))


@routes.post("/api/v4/projects/{id}/protected_branches")
async def protect_branch(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    ctx = context(request)
    params = await Params.of(request)
    name = params.text("name")
    if ctx.state.protected_branch_named(project, name) is not None:
        raise errors.conflict(f"Protected branch '{name}' already exists")
    protected = ctx.state.protect_branch(
        project,
        name,
        push_level=_level(params.get_int("push_access_level"), "push_access_level", AccessLevel.MAINTAINER),
        merge_level=_level(
            params.get_int("merge_access_level"), "merge_access_level", AccessLevel.MAINTAINER
        ),
        # fault force-push-setting-ignored: the request is accepted, the setting not kept
        allow_force_push=params.flag("allow_force_push", False)
        and not ctx.faults.active("force-push-setting-ignored", about=ctx.state.path_with_namespace(project)),
    )
    _apply_allowed_to_push(ctx, project, protected, params)
    return web.json_response(entities.protected_branch(ctx, protected), status=201)


@routes.patch("/api/v4/projects/{id}/protected_branches/{name:.+}")
async def update_protected_branch(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    ctx = context(request)
    protected = _protected(request, project)
    params = await Params.of(request)
    if not ctx.faults.active(
        "force-push-setting-ignored", about=ctx.state.path_with_namespace(project)
    ):  # fault: accepted, not kept
        protected.allow_force_push = params.flag("allow_force_push", protected.allow_force_push)
    _apply_allowed_to_push(ctx, project, protected, params)
    return web.json_response(entities.protected_branch(ctx, protected))


@routes.delete("/api/v4/projects/{id}/protected_branches/{name:.+}")
async def unprotect_branch(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    del context(request).state.protected_branches[_protected(request, project).id]
    return web.Response(status=204)
