"""Project access tokens: each one is a bot user, a member of its project only, with the token's role.

The token authenticates the REST API and git over HTTP like a personal access token; revoking it blocks
the bot and drops its membership. The Nautes API server creates one per code repo (``accesstoken-api``,
scope ``api``, Maintainer) and stores it in Vault for Argo Events.

Follows gitlab ``lib/api/resource_access_tokens.rb``; https://docs.gitlab.com/ee/api/project_access_tokens.html.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from nautes_refstack.gitlab.model import AccessLevel, AccessToken, Project
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.lookup import project_with_role
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params

routes = web.RouteTableDef()
TOKEN_ACCESS_LEVELS = (10, 20, 30, 40, 50)
VALID_SCOPES = frozenset(
    {"api", "read_api", "read_repository", "write_repository", "read_registry", "write_registry"}
)


def _project_token(request: web.Request, project: Project) -> AccessToken:
    state = context(request).state
    token_id = request.match_info["token_id"]
    token = state.tokens.get(int(token_id)) if token_id.isdigit() else None
    if token is None or token.project_id != project.id:
        raise errors.not_found(f"Could not find project access token with token_id: {token_id}")
    return token


@routes.get("/api/v4/projects/{id}/access_tokens")
async def list_access_tokens(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    ctx = context(request)
    tokens = [t for t in ctx.state.tokens.values() if t.project_id == project.id and not t.revoked]
    return paginate(request, tokens, lambda t: entities.access_token(ctx, t))


@routes.get("/api/v4/projects/{id}/access_tokens/{token_id}")
async def get_access_token(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    return web.json_response(entities.access_token(context(request), _project_token(request, project)))


@routes.post("/api/v4/projects/{id}/access_tokens")
async def create_access_token(request: web.Request) -> web.Response:
    user, project = project_with_role(request, AccessLevel.MAINTAINER)
    ctx = context(request)
    params = await Params.of(request)
    params.require("name", "scopes")
    scopes = params.get_strings("scopes") or []
    if not scopes or not set(scopes) <= VALID_SCOPES:
        raise errors.ApiError(400, {"error": "scopes does not have a valid value"})
    requested = params.get_int("access_level")
    level = AccessLevel.MAINTAINER if requested is None else requested
    if level not in TOKEN_ACCESS_LEVELS:
        raise errors.ApiError(400, {"error": "access_level does not have a valid value"})
    level = AccessLevel(level)
    creator_level = ctx.state.project_access_level(user, project)
    if level == AccessLevel.OWNER and creator_level < AccessLevel.OWNER and not user.is_admin:
        raise errors.bad_request("400 Bad request - Could not provision owner access to project access token")
    suffix = secrets.token_hex(8)
    bot = ctx.state.create_user(
        username=f"project_{project.id}_bot_{suffix}",
        name=params.text("name"),
        email=f"project_{project.id}_bot_{suffix}@noreply.127.0.0.1",
        bot=True,
    )
    ctx.state.add_member("Project", project.id, bot, level)
    token, plaintext = ctx.state.issue_token(
        bot, params.text("name"), scopes, project, params.get_date("expires_at")
    )
    return web.json_response(entities.access_token(ctx, token, plaintext), status=201)


@routes.delete("/api/v4/projects/{id}/access_tokens/{token_id}")
async def revoke_access_token(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    token = _project_token(request, project)
    context(request).state.revoke_project_token(token)
    return web.Response(status=204)
