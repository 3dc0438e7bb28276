"""The internal API the repository hooks call (``/api/v4/internal/allowed`` and ``/post_receive``).

As in GitLab, only holders of the instance's shared secret may call it (the emulation hands the secret to
the git processes it starts, never to API clients). ``gl_id`` names the pusher (``user-<id>`` or
``key-<id>``), ``gl_repository`` the project (``project-<id>``).

Follows gitlab ``lib/api/internal/base.rb``; https://docs.gitlab.com/ee/development/internal_api/.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web

from nautes_refstack.gitlab.git_access import GitAccessDenied, GitActor
from nautes_refstack.gitlab.model import Project, RefChange
from nautes_refstack.gitlab.repository_hooks import gl_repository
from nautes_refstack.gitlab.rest import errors
from nautes_refstack.gitlab.rest.context import ApiContext, context
from nautes_refstack.gitlab.state import GitLabState

routes = web.RouteTableDef()
SECRET_HEADER = "Gitlab-Shared-Secret"
_OBJECT_ENV = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")


def actor_for(state: GitLabState, gl_id: str) -> GitActor | None:
    kind, _, number = gl_id.partition("-")
    if not number.isdigit():
        return None
    if kind == "user":
        user = state.users.get(int(number))
        return GitActor(user) if user is not None and user.state == "active" else None
    key = state.keys.get(int(number)) if kind == "key" else None
    owner = state.users.get(key.user_id) if key is not None else None
    return GitActor(owner, key) if owner is not None and owner.state == "active" else None


async def _request(
    request: web.Request,
) -> tuple[ApiContext, GitActor, Project, list[RefChange], dict[str, Any]]:
    ctx = context(request)
    if not secrets.compare_digest(request.headers.get(SECRET_HEADER, ""), ctx.shared_secret):
        raise errors.unauthorized()
    body = await request.json()
    actor = actor_for(ctx.state, str(body.get("gl_id", "")))
    kind, _, number = str(body.get("gl_repository", "")).partition("-")
    project = ctx.state.projects.get(int(number)) if kind == "project" and number.isdigit() else None
    if actor is None or project is None:
        raise errors.ApiError(404, {"status": False, "message": "Unknown user or repository"})
    return ctx, actor, project, RefChange.parse_lines(str(body.get("changes", ""))), body


def _object_env(repository: Path, env: object) -> dict[str, str]:
    """The quarantine variables of a push, kept only if they point inside the repository."""
    if not isinstance(env, dict):
        return {}
    root = os.path.realpath(repository)
    accepted = {}
    for name in _OBJECT_ENV:
        value = env.get(name)
        paths = str(value).split(os.pathsep) if value else []
        if paths and all(os.path.realpath(p).startswith(root + os.sep) for p in paths):
            accepted[name] = str(value)
    return accepted


@routes.post("/api/v4/internal/allowed")
async def allowed(request: web.Request) -> web.Response:
    ctx, actor, project, changes, body = await _request(request)
    object_env = _object_env(ctx.state.repository(project).path, body.get("env"))
    try:
        await ctx.receiver.check(actor, project, changes, object_env)
    except GitAccessDenied as denied:
        return web.json_response(
            {"status": False, "message": denied.message}, status=404 if denied.not_found else 403
        )
    return web.json_response({"status": True, "gl_repository": gl_repository(project), "gl_id": actor.gl_id})


@routes.post("/api/v4/internal/post_receive")
async def post_receive(request: web.Request) -> web.Response:
    ctx, actor, project, changes, _ = await _request(request)
    await ctx.receiver.post_receive(actor, project, changes)
    return web.json_response({"reference_counter_decreased": True, "messages": []})
