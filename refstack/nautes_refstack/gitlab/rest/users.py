"""Users: ``/user``, ``/users``, the caller's SSH keys (``/user/keys``), and ``/version``.

Follows gitlab ``lib/api/users.rb`` and ``lib/api/version.rb``; https://docs.gitlab.com/ee/api/users.html.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from nautes_refstack.gitlab.rest import entities, errors, personal_keys
from nautes_refstack.gitlab.rest.auth import current_user, optional_user
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params

routes = web.RouteTableDef()
READ_USER = ("read_user",)
VERSION = {
    "version": "15.10.0",
    "revision": "a3ae1dc4a27",
    "kas": {"enabled": False, "externalUrl": None, "version": None},
    "enterprise": False,
}


@routes.get("/api/v4/version")
async def get_version(request: web.Request) -> web.Response:
    current_user(request, READ_USER)
    return web.json_response(VERSION)


@routes.get("/api/v4/user")
async def get_current_user(request: web.Request) -> web.Response:
    user = current_user(request, READ_USER)
    return web.json_response(entities.user_detail(context(request), user, with_private=True))


@routes.get("/api/v4/users")
async def list_users(request: web.Request) -> web.Response:
    viewer = optional_user(request)
    ctx = context(request)
    users = sorted(ctx.state.users.values(), key=lambda u: u.id, reverse=True)
    if username := request.query.get("username"):
        users = [u for u in users if u.username.lower() == username.lower()]
    if search := request.query.get("search", "").lower():
        users = [u for u in users if search in u.username.lower() or search in u.name.lower()]
    is_admin = viewer is not None and viewer.is_admin
    return paginate(request, users, lambda u: entities.user_detail(ctx, u, with_private=is_admin))


@routes.get("/api/v4/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    viewer = optional_user(request)
    ctx = context(request)
    user_id = request.match_info["user_id"]
    user = ctx.state.users.get(int(user_id)) if user_id.isdigit() else None
    if user is None:
        raise errors.not_found("User")
    with_private = viewer is not None and (viewer.is_admin or viewer.id == user.id)
    return web.json_response(entities.user_detail(ctx, user, with_private))


@routes.get("/api/v4/user/keys")
async def list_user_keys(request: web.Request) -> web.Response:
    return personal_keys.list_keys(request, current_user(request, READ_USER))


@routes.post("/api/v4/user/keys")
async def add_user_key(request: web.Request) -> web.Response:
    user = current_user(request)
    params = await Params.of(request)
    key = personal_keys.new_key(params)
    expires = params.get_date("expires_at")
    expires_at = dt.datetime.combine(expires, dt.time(), tzinfo=dt.UTC) if expires else None
    return personal_keys.created_key(request, user, params.text("title"), key, expires_at)


@routes.delete("/api/v4/user/keys/{key_id}")
async def delete_user_key(request: web.Request) -> web.Response:
    return personal_keys.deleted_key(request, current_user(request))
