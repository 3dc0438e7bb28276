"""What an administrator does to users (gitlab ``lib/api/users.rb``): create and delete them, manage their
SSH keys, list their memberships; and what anyone may read of another user: their projects.

Creating a user needs ``email``, ``name``, ``username`` and one of ``password``/``reset_password``/
``force_random_password`` (Grape's ``at_least_one_of``); a taken email or username is a 409 with GitLab's
message. Deleting one answers 204 (GitLab deletes in a background job; here at once, with their personal
projects, memberships, tokens and keys; with ``hard_delete`` also the groups they alone own, which otherwise
keep the user, as GitLab's ``Users::DestroyService`` refuses to orphan them).
"""

from __future__ import annotations

import re

from aiohttp import web

from nautes_refstack.gitlab.model import Membership, User
from nautes_refstack.gitlab.rest import entities, errors, personal_keys
from nautes_refstack.gitlab.rest.auth import admin_user, optional_user
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.listing import list_projects
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.state import PATH_RULE, ValidationFailed, path_errors

routes = web.RouteTableDef()
_EMAIL = re.compile(r"\A[^@\s]+@[^@\s]+\Z")
_PASSWORD_CHOICES = ("password", "reset_password", "force_random_password")
MIN_PASSWORD_LENGTH = 8


def _user(request: web.Request) -> User:
    raw = request.match_info["user_id"]
    user = context(request).state.users.get(int(raw)) if raw.isdigit() else None
    if user is None:
        raise errors.not_found("User")
    return user


@routes.post("/api/v4/users")
async def create_user(request: web.Request) -> web.Response:
    admin_user(request)
    ctx = context(request)
    params = await Params.of(request)
    params.require("email", "name", "username")
    if not any(params.has(choice) for choice in _PASSWORD_CHOICES):
        raise errors.ApiError(
            400,
            {"error": ", ".join(_PASSWORD_CHOICES) + " are missing, at least one parameter must be provided"},
        )
    email, username = params.text("email"), params.text("username")
    if ctx.state.user_by_email(email) is not None:
        raise errors.conflict("Email has already been taken")
    if ctx.state.user_by_username(username) is not None:
        raise errors.conflict("Username has already been taken")
    problems: dict[str, list[str]] = {}
    if not _EMAIL.match(email):
        problems["email"] = ["is invalid"]
    if path_errors(username):
        problems["username"] = [PATH_RULE]
    password = params.get_str("password")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        problems["password"] = [f"is too short (minimum is {MIN_PASSWORD_LENGTH} characters)"]
    if problems:
        raise errors.validation_failed(problems)
    try:
        user = ctx.state.create_user(
            username, params.text("name"), email, is_admin=params.flag("admin", False)
        )
    except ValidationFailed as failure:
        raise errors.validation_failed(failure.errors) from failure
    return web.json_response(entities.user_detail(ctx, user, with_private=True), status=201)


@routes.delete("/api/v4/users/{user_id}")
async def delete_user(request: web.Request) -> web.Response:
    admin_user(request)
    user = _user(request)
    params = await Params.of(request)
    context(request).state.delete_user(user, hard_delete=params.flag("hard_delete", False))
    return web.Response(status=204)


@routes.get("/api/v4/users/{user_id}/projects")
async def list_user_projects(request: web.Request) -> web.Response:
    """The projects in the user's personal namespace the caller may see."""
    viewer = optional_user(request)
    user = _user(request)
    ctx = context(request)
    params = await Params.of(request)
    own = [p for p in ctx.state.projects.values() if p.namespace_id == user.namespace_id]
    projects = list_projects(request, ctx, viewer, own, params)
    return paginate(request, projects, lambda p: entities.project(ctx, p, viewer))


@routes.get("/api/v4/users/{user_id}/keys")
async def list_keys_of_user(request: web.Request) -> web.Response:
    return personal_keys.list_keys(request, _user(request))


@routes.get("/api/v4/users/{user_id}/keys/{key_id}")
async def get_key_of_user(request: web.Request) -> web.Response:
    return web.json_response(entities.ssh_key(personal_keys.key_of(request, _user(request))))


@routes.post("/api/v4/users/{user_id}/keys")
async def add_key_for_user(request: web.Request) -> web.Response:
    admin_user(request)
    user = _user(request)
    params = await Params.of(request)
    key = personal_keys.new_key(params)
    return personal_keys.created_key(request, user, params.text("title"), key, None)


@routes.delete("/api/v4/users/{user_id}/keys/{key_id}")
async def delete_key_of_user(request: web.Request) -> web.Response:
    admin_user(request)
    return personal_keys.deleted_key(request, _user(request))


@routes.get("/api/v4/users/{user_id}/memberships")
async def list_memberships(request: web.Request) -> web.Response:
    """The user's direct memberships (``Entities::Membership``), groups as ``Namespace``; administrators
    only. ``type`` narrows them to ``Project`` or ``Namespace``."""
    admin_user(request)
    user = _user(request)
    ctx = context(request)
    kind = request.query.get("type")
    if kind is not None and kind not in ("Project", "Namespace"):
        raise errors.ApiError(400, {"error": "type does not have a valid value"})
    memberships = [m for m in ctx.state.memberships if m.user_id == user.id and kind in (None, m.source_type)]

    def render(membership: Membership) -> entities.Json:
        source_id = membership.source_id
        is_project = membership.source_type == "Project"
        source = ctx.state.projects[source_id] if is_project else ctx.state.groups[source_id]
        return {
            "source_id": source_id,
            "source_name": source.name,
            "source_type": membership.source_type,
            "access_level": int(membership.access_level),
        }

    return paginate(request, memberships, render)
