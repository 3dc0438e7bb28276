"""Groups: list, get, create, update, delete, and a group's projects and subgroups.

The creator of a group becomes its Owner; members of a group are members of everything inside it. Deleting
a group answers ``202 Accepted`` as GitLab does and deletes its subgroups, projects and repositories: at once
under the ``instant`` pace, in GitLab CE's background job under ``real`` (:mod:`..deletion`).

Follows gitlab ``lib/api/groups.rb``; https://docs.gitlab.com/ee/api/groups.html.
"""

from __future__ import annotations

from typing import cast

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.model import VISIBILITY_LEVELS, AccessLevel, Group, Visibility
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.auth import current_user, optional_user
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.listing import list_projects
from nautes_refstack.gitlab.rest.lookup import group_with_role, readable_group
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.state import ValidationFailed

routes = web.RouteTableDef()
ACCEPTED = {"message": "202 Accepted"}


def ruby_inspect(validation_errors: dict[str, list[str]]) -> str:
    """A Ruby hash of symbols to string arrays as Ruby 3.0 prints it (GitLab puts it in error messages)."""
    items = ", ".join(
        f":{name}=>[{', '.join(_ruby_string(m) for m in messages)}]"
        for name, messages in validation_errors.items()
    )
    return "{" + items + "}"


def _ruby_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def visibility_param(params: Params, default: Visibility | None) -> Visibility | None:
    value = params.get_str("visibility")
    if value is None:
        return default
    if value not in VISIBILITY_LEVELS:
        raise errors.ApiError(400, {"error": "visibility does not have a valid value"})
    return cast(Visibility, value)


@routes.get("/api/v4/groups")
async def list_groups(request: web.Request) -> web.Response:
    user = optional_user(request)
    ctx = context(request)
    state = ctx.state
    params = await Params.of(request)
    groups = [g for g in state.groups.values() if permissions.can_read_group(state, user, g)]
    all_available = params.flag("all_available", user is None or user.is_admin)
    if user is not None and not all_available:
        groups = [g for g in groups if state.group_access_level(user, g) > AccessLevel.NO_ACCESS]
    if user is not None and params.flag("owned", False):
        groups = [g for g in groups if state.group_access_level(user, g) >= AccessLevel.OWNER]
    if user is not None and (min_level := params.get_int("min_access_level")) is not None:
        groups = [g for g in groups if state.group_access_level(user, g) >= min_level]
    if skipped := params.get_strings("skip_groups"):
        groups = [g for g in groups if str(g.id) not in skipped]
    if params.flag("top_level_only", False):
        groups = [g for g in groups if g.parent_id is None]
    if search := (params.get_str("search") or "").lower():
        groups = [g for g in groups if search in g.name.lower() or search in g.path.lower()]
    groups.sort(key=lambda g: (g.name.lower(), g.id), reverse=request.query.get("sort") == "desc")
    return paginate(request, groups, lambda g: entities.group(ctx, g))


@routes.get("/api/v4/groups/{id}")
async def get_group(request: web.Request) -> web.Response:
    _, group = readable_group(request)
    return web.json_response(group_detail_of(request, group))


def group_detail_of(request: web.Request, group: Group) -> entities.Json:
    ctx = context(request)
    viewer = optional_user(request)
    projects = [p for p in ctx.state.projects.values() if p.namespace_id == group.id]
    visible = [p for p in projects if permissions.can_read_project(ctx.state, viewer, p)]
    return entities.group_detail(ctx, group, [entities.project(ctx, p, viewer) for p in visible])


@routes.post("/api/v4/groups")
async def create_group(request: web.Request) -> web.Response:
    user = current_user(request)
    ctx = context(request)
    params = await Params.of(request)
    params.require("name", "path")
    parent = None
    if (parent_id := params.get_int("parent_id")) is not None:
        parent = ctx.state.groups.get(parent_id)
        if parent is None or not permissions.can_read_group(ctx.state, user, parent):
            raise errors.not_found("Group")
        if not permissions.has_group_role(ctx.state, user, parent, AccessLevel.OWNER):
            raise errors.forbidden()
    elif user.bot:
        raise errors.forbidden()
    try:
        group = ctx.state.create_group(
            name=params.text("name"),
            path=params.text("path"),
            description=params.get_str("description", "") or "",
            visibility=visibility_param(params, "private") or "private",
            parent=parent,
            creator=user,
        )
    except ValidationFailed as failure:
        raise errors.bad_request(f"Failed to save group {ruby_inspect(failure.errors)}") from failure
    return web.json_response(group_detail_of(request, group), status=201)


@routes.put("/api/v4/groups/{id}")
async def update_group(request: web.Request) -> web.Response:
    _, group = group_with_role(request, AccessLevel.OWNER)
    params = await Params.of(request)
    try:
        context(request).state.update_group(
            group,
            name=params.get_str("name"),
            path=params.get_str("path"),
            description=params.get_str("description"),
            visibility=visibility_param(params, None),
        )
    except ValidationFailed as failure:
        raise errors.validation_failed(failure.errors) from failure
    return web.json_response(group_detail_of(request, group))


@routes.delete("/api/v4/groups/{id}")
async def delete_group(request: web.Request) -> web.Response:
    _, group = group_with_role(request, AccessLevel.OWNER)
    context(request).deletions.delete_group(group)
    return web.json_response(ACCEPTED, status=202)


@routes.get("/api/v4/groups/{id}/projects")
async def list_group_projects(request: web.Request) -> web.Response:
    user, group = readable_group(request)
    ctx = context(request)
    params = await Params.of(request)
    namespaces = {group.id}
    if params.flag("include_subgroups", False):
        namespaces |= {g.id for g in ctx.state.groups.values() if group in ctx.state.group_ancestors(g)}
    candidates = [p for p in ctx.state.projects.values() if p.namespace_id in namespaces]
    projects = list_projects(request, ctx, user, candidates, params)
    return paginate(request, projects, lambda p: entities.project(ctx, p, user))


@routes.get("/api/v4/groups/{id}/subgroups")
async def list_subgroups(request: web.Request) -> web.Response:
    user, group = readable_group(request)
    ctx = context(request)
    subgroups = [g for g in ctx.state.subgroups(group) if permissions.can_read_group(ctx.state, user, g)]
    return paginate(
        request, sorted(subgroups, key=lambda g: g.name.lower()), lambda g: entities.group(ctx, g)
    )
