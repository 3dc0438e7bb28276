"""Sharing a group with another (``POST /groups/:id/share``, ``DELETE /groups/:id/share/:group_id``) and
listing every group below one (``GET /groups/:id/descendant_groups``), as gitlab ``lib/api/groups.rb`` does.

Sharing needs Owner on the shared group and sight of the other; the other group's members then hold up to
``group_access`` there (``GitLabState.group_access_level``), and the shared group's detail lists it under
``shared_with_groups``.
"""

from __future__ import annotations

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.model import AccessLevel, GroupLink
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.groups import group_detail_of
from nautes_refstack.gitlab.rest.lookup import group_with_role, readable_group
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params

routes = web.RouteTableDef()
SHARE_ACCESS_LEVELS = (10, 20, 30, 40, 50)


@routes.post("/api/v4/groups/{id}/share")
async def share_group(request: web.Request) -> web.Response:
    user, group = group_with_role(request, AccessLevel.OWNER)
    state = context(request).state
    params = await Params.of(request)
    params.require("group_id", "group_access")
    access = params.get_int("group_access")
    if access not in SHARE_ACCESS_LEVELS:
        raise errors.ApiError(400, {"error": "group_access does not have a valid value"})
    with_group = state.groups.get(params.get_int("group_id") or 0)
    if with_group is None or not permissions.can_read_group(state, user, with_group):
        raise errors.not_found("Group")
    if any(
        link.shared_group_id == group.id and link.shared_with_group_id == with_group.id
        for link in state.group_links
    ):
        raise errors.conflict("Group already shared with this group")
    state.group_links.append(
        GroupLink(group.id, with_group.id, AccessLevel(access), params.get_date("expires_at"))
    )
    return web.json_response(group_detail_of(request, group), status=201)


@routes.delete("/api/v4/groups/{id}/share/{group_id}")
async def unshare_group(request: web.Request) -> web.Response:
    _, group = group_with_role(request, AccessLevel.OWNER)
    state = context(request).state
    raw = request.match_info["group_id"]
    link = next(
        (
            link
            for link in state.group_links
            if link.shared_group_id == group.id and raw.isdigit() and link.shared_with_group_id == int(raw)
        ),
        None,
    )
    if link is None:
        raise errors.not_found("Group Link")
    state.group_links.remove(link)
    return web.Response(status=204)


@routes.get("/api/v4/groups/{id}/descendant_groups")
async def list_descendant_groups(request: web.Request) -> web.Response:
    user, group = readable_group(request)
    ctx = context(request)
    below = [
        g
        for g in ctx.state.groups.values()
        if g is not group
        and group in ctx.state.group_ancestors(g)
        and permissions.can_read_group(ctx.state, user, g)
    ]
    return paginate(
        request, sorted(below, key=lambda g: (g.name.lower(), g.id)), lambda g: entities.group(ctx, g)
    )
