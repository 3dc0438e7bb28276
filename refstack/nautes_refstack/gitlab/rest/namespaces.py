"""Namespaces (gitlab ``lib/api/namespaces.rb``): the personal namespaces of users and the groups, in one
id space. An administrator lists them all; anyone else their own and the groups they may create projects
in. ``GET /namespaces/:id`` takes an id or a full path; ``/namespaces/:path/exists`` says whether a
top-level (or ``parent_id``'s child) path is taken, suggesting a free one."""

from __future__ import annotations

from aiohttp import web

from nautes_refstack.gitlab.model import AccessLevel, User
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.auth import current_user
from nautes_refstack.gitlab.rest.context import ApiContext, context
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.state import GitLabState

routes = web.RouteTableDef()


def _namespace_ids(state: GitLabState, user: User) -> list[int]:
    user_namespaces = [u.namespace_id for u in state.users.values() if user.is_admin or u.id == user.id]
    groups = [
        g.id
        for g in state.groups.values()
        if user.is_admin or state.group_access_level(user, g) >= AccessLevel.MAINTAINER
    ]
    return sorted(user_namespaces + groups)


def _matches(ctx: ApiContext, namespace_id: int, search: str) -> bool:
    entity = entities.namespace(ctx, namespace_id)
    return search in str(entity["name"]).lower() or search in str(entity["path"]).lower()


@routes.get("/api/v4/namespaces")
async def list_namespaces(request: web.Request) -> web.Response:
    user = current_user(request)
    ctx = context(request)
    ids = _namespace_ids(ctx.state, user)
    if search := request.query.get("search", "").lower():
        ids = [i for i in ids if _matches(ctx, i, search)]
    return paginate(request, ids, lambda i: entities.namespace(ctx, i))


@routes.get("/api/v4/namespaces/{namespace:.+}/exists")
async def namespace_exists(request: web.Request) -> web.Response:
    current_user(request)
    state = context(request).state
    path = request.match_info["namespace"]
    parent_id = request.query.get("parent_id")
    siblings = [g for g in state.groups.values() if str(g.parent_id or "") == (parent_id or "")]
    taken = {g.path.lower() for g in siblings}
    if not parent_id:
        taken |= {u.username.lower() for u in state.users.values()}
    exists = path.lower() in taken
    suggestion = next(f"{path}{n}" for n in range(1, len(taken) + 2) if f"{path}{n}".lower() not in taken)
    return web.json_response({"exists": exists, "suggests": [suggestion] if exists else []})


@routes.get("/api/v4/namespaces/{namespace:.+}")
async def get_namespace(request: web.Request) -> web.Response:
    user = current_user(request)
    ctx = context(request)
    reference = request.match_info["namespace"]
    visible = _namespace_ids(ctx.state, user)
    if reference.isdigit():
        found = int(reference) if int(reference) in visible else None
    else:
        found = next(
            (i for i in visible if str(entities.namespace(ctx, i)["full_path"]).lower() == reference.lower()),
            None,
        )
    if found is None:
        raise errors.not_found("Namespace")
    return web.json_response(entities.namespace(ctx, found))
