"""Members of groups and projects (``/groups/:id/members``, ``/projects/:id/members``).

Group members are members of every subgroup and project inside (``/members/all`` lists them with the
inherited ones); adding a member needs Owner on a group and Maintainer on a project.

Follows gitlab ``lib/api/members.rb``; https://docs.gitlab.com/ee/api/members.html.
"""

from __future__ import annotations

from aiohttp import web

from nautes_refstack.gitlab.model import AccessLevel, Group, Membership, Project, User
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.lookup import (
    group_with_role,
    project_with_role,
    readable_group,
    readable_project,
)
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.state import GitLabState, ValidationFailed

routes = web.RouteTableDef()
MEMBER_ACCESS_LEVELS = (10, 20, 30, 40, 50)


def _source(target: Group | Project) -> tuple[str, int]:
    return ("Project", target.id) if isinstance(target, Project) else ("Namespace", target.id)


def _inherited(state: GitLabState, target: Group | Project) -> list[Membership]:
    """Direct members first, then members of the enclosing groups not already listed."""
    if isinstance(target, Project):
        direct = state.members_of("Project", target.id)
        owner = state.namespace_owner(target.namespace_id)
        groups = [] if owner is not None else state.group_ancestors(state.groups[target.namespace_id])
    else:
        direct = []
        groups = state.group_ancestors(target)
    found = {m.user_id: m for m in direct}
    for group in groups:
        for membership in state.members_of("Namespace", group.id):
            found.setdefault(membership.user_id, membership)
    return list(found.values())


def _user_param(state: GitLabState, params: Params) -> User:
    params.require("access_level")
    user_id = params.get_int("user_id")
    user = (
        state.users.get(user_id)
        if user_id is not None
        else state.user_by_username(params.get_str("username") or "")
    )
    if user is None:
        raise errors.not_found("User")
    return user


def _access_level(params: Params) -> AccessLevel:
    level = params.get_int("access_level")
    if level not in MEMBER_ACCESS_LEVELS:
        raise errors.ApiError(400, {"error": "access_level does not have a valid value"})
    return AccessLevel(level)


async def _list(request: web.Request, target: Group | Project, inherited: bool) -> web.Response:
    """``user_ids`` narrows the list to those users (gitlab ``lib/api/members.rb``)."""
    ctx = context(request)
    params = await Params.of(request)
    members = _inherited(ctx.state, target) if inherited else ctx.state.members_of(*_source(target))
    if (user_ids := params.get_strings("user_ids")) is not None:
        members = [m for m in members if str(m.user_id) in user_ids]
    return paginate(request, members, lambda m: entities.member(ctx, m))


def _direct_member(request: web.Request, target: Group | Project) -> Membership:
    state = context(request).state
    user_id = request.match_info["user_id"]
    user = state.users.get(int(user_id)) if user_id.isdigit() else None
    membership = state.membership(*_source(target), user) if user else None
    if membership is None:
        raise errors.not_found("Member")
    return membership


async def _get(request: web.Request, target: Group | Project) -> web.Response:
    return web.json_response(entities.member(context(request), _direct_member(request, target)))


async def _edit(request: web.Request, target: Group | Project) -> web.Response:
    """``PUT .../members/:user_id`` with ``access_level`` (required): the member's new role."""
    membership = _direct_member(request, target)
    params = await Params.of(request)
    params.require("access_level")
    membership.access_level = _access_level(params)
    return web.json_response(entities.member(context(request), membership))


async def _add(request: web.Request, target: Group | Project) -> web.Response:
    ctx = context(request)
    params = await Params.of(request)
    user = _user_param(ctx.state, params)
    source_type, source_id = _source(target)
    if ctx.state.membership(source_type, source_id, user) is not None:
        raise errors.conflict("Member already exists")
    try:
        membership = ctx.state.add_member(source_type, source_id, user, _access_level(params))
    except ValidationFailed as failure:
        raise errors.validation_failed(failure.errors) from failure
    return web.json_response(entities.member(ctx, membership), status=201)


async def _remove(request: web.Request, target: Group | Project) -> web.Response:
    state = context(request).state
    user_id = request.match_info["user_id"]
    user = state.users.get(int(user_id)) if user_id.isdigit() else None
    membership = state.membership(*_source(target), user) if user else None
    if membership is None:
        raise errors.not_found("Member")
    state.memberships.remove(membership)
    return web.Response(status=204)


@routes.get("/api/v4/projects/{id}/members")
async def list_project_members(request: web.Request) -> web.Response:
    return await _list(request, readable_project(request)[1], inherited=False)


@routes.get("/api/v4/projects/{id}/members/all")
async def list_all_project_members(request: web.Request) -> web.Response:
    return await _list(request, readable_project(request)[1], inherited=True)


@routes.post("/api/v4/projects/{id}/members")
async def add_project_member(request: web.Request) -> web.Response:
    return await _add(request, project_with_role(request, AccessLevel.MAINTAINER)[1])


@routes.delete("/api/v4/projects/{id}/members/{user_id}")
async def remove_project_member(request: web.Request) -> web.Response:
    return await _remove(request, project_with_role(request, AccessLevel.MAINTAINER)[1])


@routes.get("/api/v4/projects/{id}/members/{user_id:\\d+}")
async def get_project_member(request: web.Request) -> web.Response:
    return await _get(request, readable_project(request)[1])


@routes.put("/api/v4/projects/{id}/members/{user_id}")
async def edit_project_member(request: web.Request) -> web.Response:
    return await _edit(request, project_with_role(request, AccessLevel.MAINTAINER)[1])


@routes.get("/api/v4/groups/{id}/members/{user_id:\\d+}")
async def get_group_member(request: web.Request) -> web.Response:
    return await _get(request, readable_group(request)[1])


@routes.put("/api/v4/groups/{id}/members/{user_id}")
async def edit_group_member(request: web.Request) -> web.Response:
    return await _edit(request, group_with_role(request, AccessLevel.OWNER)[1])


@routes.get("/api/v4/groups/{id}/members")
async def list_group_members(request: web.Request) -> web.Response:
    return await _list(request, readable_group(request)[1], inherited=False)


@routes.get("/api/v4/groups/{id}/members/all")
async def list_all_group_members(request: web.Request) -> web.Response:
    return await _list(request, readable_group(request)[1], inherited=True)


@routes.post("/api/v4/groups/{id}/members")
async def add_group_member(request: web.Request) -> web.Response:
    return await _add(request, group_with_role(request, AccessLevel.OWNER)[1])


@routes.delete("/api/v4/groups/{id}/members/{user_id}")
async def remove_group_member(request: web.Request) -> web.Response:
    return await _remove(request, group_with_role(request, AccessLevel.OWNER)[1])
