"""``/keys``: an SSH key or deploy key by id or by fingerprint, with its owner; administrators only
(gitlab ``lib/api/keys.rb``). A deploy key found by fingerprint also lists the projects it is enabled on
(``Entities::DeployKeyWithUser``); GitLab Shell and a debugging administrator ask "whose key is this?"."""

from __future__ import annotations

from aiohttp import web

from nautes_refstack.gitlab.model import SshKey, iso_time
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.auth import admin_user
from nautes_refstack.gitlab.rest.context import ApiContext, context
from nautes_refstack.gitlab.state import GitLabState

routes = web.RouteTableDef()


def _with_user(ctx: ApiContext, key: SshKey) -> entities.Json:
    owner = ctx.state.users.get(key.user_id)
    entity = {**entities.ssh_key(key), "user": entities.user_detail(ctx, owner, True) if owner else None}
    if key.deploy:
        entity["deploy_keys_projects"] = [
            {
                "id": link.id,
                "deploy_key_id": key.id,
                "project_id": project.id,
                "created_at": iso_time(link.created_at),
                "updated_at": iso_time(link.created_at),
                "can_push": link.can_push,
            }
            for project, link in ctx.state.projects_of_deploy_key(key)
        ]
    return entity


@routes.get("/api/v4/keys")
async def find_key_by_fingerprint(request: web.Request) -> web.Response:
    """``fingerprint`` is ``SHA256:<base64>`` or the MD5 hex pairs (``KeysFinder``)."""
    admin_user(request)
    ctx = context(request)
    fingerprint = request.query.get("fingerprint")
    if not fingerprint:
        raise errors.missing("fingerprint")
    key = _by_fingerprint(ctx.state, fingerprint)
    if key is None:
        raise errors.not_found("Key")
    return web.json_response(_with_user(ctx, key))


def _by_fingerprint(state: GitLabState, fingerprint: str) -> SshKey | None:
    if fingerprint.startswith("SHA256:"):
        return state.key_by_fingerprint(fingerprint)
    return next((k for k in state.keys.values() if k.fingerprint_md5 == fingerprint), None)


@routes.get("/api/v4/keys/{key_id}")
async def get_key(request: web.Request) -> web.Response:
    admin_user(request)
    ctx = context(request)
    raw = request.match_info["key_id"]
    key = ctx.state.keys.get(int(raw)) if raw.isdigit() else None
    if key is None:
        raise errors.record_not_found()
    return web.json_response(_with_user(ctx, key))
