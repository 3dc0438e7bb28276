"""Projects: list, get, create (optionally with a README commit), edit, delete.

A project is a real bare repository under ``repositories/<namespace>/<path>.git``. Creating it with
``initialize_with_readme`` (the Nautes API server always asks for it) commits ``README.md`` to the default
branch through the same push path as any push, so that branch gets protected and ``on_push`` fires.
Deleting a project answers ``202 Accepted`` as GitLab does; the project is destroyed at once under the
``instant`` pace, by a background job under ``real`` (:mod:`..deletion`).

Follows gitlab ``lib/api/projects.rb``; https://docs.gitlab.com/ee/api/projects.html.
"""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.git_access import GitActor
from nautes_refstack.gitlab.model import ZERO_SHA, AccessLevel, Group, Project, RefChange, User
from nautes_refstack.gitlab.permissions import can_create_project_in
from nautes_refstack.gitlab.repository import FileChange, Signature
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.auth import current_user, optional_user
from nautes_refstack.gitlab.rest.context import ApiContext, context
from nautes_refstack.gitlab.rest.groups import ACCEPTED, visibility_param
from nautes_refstack.gitlab.rest.listing import list_projects
from nautes_refstack.gitlab.rest.lookup import project_with_role, readable_project
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.state import ValidationFailed

routes = web.RouteTableDef()
INITIAL_COMMIT_MESSAGE = "Initial commit"


def path_from_name(name: str) -> str:
    """GitLab's path for a project created with a name only: lowercase words joined by dashes."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9_.-]", "-", name.strip().lower())).strip("-")


@routes.get("/api/v4/projects")
async def list_all_projects(request: web.Request) -> web.Response:
    user = optional_user(request)
    ctx = context(request)
    params = await Params.of(request)
    projects = list_projects(request, ctx, user, ctx.state.projects.values(), params)
    return paginate(request, projects, lambda p: entities.project(ctx, p, user))


@routes.get("/api/v4/projects/{id}")
async def get_project(request: web.Request) -> web.Response:
    user, project = readable_project(request)
    return web.json_response(entities.project(context(request), project, user))


@routes.post("/api/v4/projects")
async def create_project(request: web.Request) -> web.Response:
    user = current_user(request)
    ctx = context(request)
    params = await Params.of(request)
    name, path = params.get_str("name"), params.get_str("path")
    if not name and not path:
        raise errors.ApiError(
            400, {"error": "name, path are missing, at least one parameter must be provided"}
        )
    namespace_id = params.get_int("namespace_id", user.namespace_id)
    if namespace_id is None or not ctx.state.namespace_exists(namespace_id):
        raise errors.not_found("Namespace")
    if not can_create_project_in(ctx.state, user, namespace_id):
        raise errors.validation_failed({"namespace": ["is not valid"]})
    try:
        project = ctx.state.create_project(
            name=name or str(path),
            path=path or path_from_name(str(name)),
            namespace_id=namespace_id,
            description=params.get_str("description", "") or "",
            visibility=visibility_param(params, "private") or "private",
            creator=user,
            default_branch=params.get_str("default_branch") or "main",
        )
    except ValidationFailed as failure:
        raise errors.validation_failed(failure.errors) from failure
    ctx.state.record_project_created(project, user)
    if params.flag("initialize_with_readme", False):
        await _commit_readme(ctx, project, user)
    return web.json_response(entities.project(ctx, project, user), status=201)


async def _commit_readme(ctx: ApiContext, project: Project, user: User) -> None:
    repository = ctx.state.repository(project)
    author = Signature(user.name, user.email)
    readme = FileChange("README.md", f"# {project.name}\n".encode())
    commit = await asyncio.to_thread(
        repository.write_commit, None, [readme], INITIAL_COMMIT_MESSAGE, author, author
    )
    change = RefChange(ZERO_SHA, commit, f"refs/heads/{project.default_branch}")
    await asyncio.to_thread(repository.update_ref, change.ref, change.after, change.before)
    await ctx.receiver.post_receive(GitActor(user), project, [change])


@routes.put("/api/v4/projects/{id}")
async def edit_project(request: web.Request) -> web.Response:
    user, project = project_with_role(request, AccessLevel.MAINTAINER)
    ctx = context(request)
    params = await Params.of(request)
    if (branch := params.get_str("default_branch")) is not None and branch != project.default_branch:
        repository = ctx.state.repository(project)
        if branch not in await asyncio.to_thread(repository.branches):
            raise errors.bad_request("Could not set the default branch")
        await asyncio.to_thread(repository.set_head, branch)
        project.default_branch = branch
    try:
        ctx.state.rename_project(project, params.get_str("name"), params.get_str("path"))
    except ValidationFailed as failure:
        raise errors.validation_failed(failure.errors) from failure
    project.description = params.get_str("description", project.description) or ""
    project.visibility = visibility_param(params, project.visibility) or project.visibility
    return web.json_response(entities.project(ctx, project, user))


@routes.delete("/api/v4/projects/{id}")
async def delete_project(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.OWNER)
    context(request).deletions.delete_project(project)
    return web.json_response(ACCEPTED, status=202)


@routes.get("/api/v4/projects/{id}/groups")
async def list_project_groups(request: web.Request) -> web.Response:
    """The project's ancestor groups, nearest first (gitlab ``lib/api/projects.rb``, ``ProjectsGroupsFinder``;
    projects shared with groups are not emulated), as ``Entities::PublicGroupDetails``; ``search`` narrows."""
    user, project = readable_project(request)
    ctx = context(request)
    owner = ctx.state.namespace_owner(project.namespace_id)
    groups = [] if owner is not None else ctx.state.group_ancestors(ctx.state.groups[project.namespace_id])
    groups = [g for g in groups if permissions.can_read_group(ctx.state, user, g)]
    if search := request.query.get("search", "").lower():
        groups = [g for g in groups if search in g.name.lower() or search in g.path.lower()]

    def public_details(group: Group) -> entities.Json:
        full = entities.group(ctx, group)
        return {key: full[key] for key in ("id", "web_url", "name", "avatar_url", "full_name", "full_path")}

    return paginate(request, groups, public_details)


@routes.get("/api/v4/projects/{id}/merge_requests")
async def list_project_merge_requests(request: web.Request) -> web.Response:
    """A project's merge requests: none, since none can be opened here (``POST .../merge_requests`` is not
    served; the Nautes flow pushes to branches). The list a debugging user gets is GitLab's for a project
    without merge requests (gitlab ``lib/api/merge_requests.rb``), not a pretence of more."""
    readable_project(request)
    return paginate(request, [], lambda record: record)
