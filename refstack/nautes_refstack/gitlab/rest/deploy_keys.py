"""Deploy keys: one key (one fingerprint) enabled on many projects, ``can_push`` per project.

As in GitLab, adding a key that already exists on another project the caller maintains enables that same
key; ``POST .../deploy_keys/:key_id/enable`` does it by id. The key's owner is whoever created it, and a
push made with it acts for that owner (see ``git_access.py``). Removing a key from its last project
destroys it.

Follows gitlab ``lib/api/deploy_keys.rb``; https://docs.gitlab.com/ee/api/deploy_keys.html.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from nautes_refstack.gitlab.model import AccessLevel, DeployKeyLink, Project, SshKey, User
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.auth import admin_user
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.lookup import project_with_role
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.ssh_keys import parse_public_key
from nautes_refstack.gitlab.state import GitLabState, ValidationFailed

routes = web.RouteTableDef()


def accessible_deploy_keys(state: GitLabState, user: User) -> list[SshKey]:
    """Deploy keys of the projects ``user`` maintains (``User#accessible_deploy_keys``)."""
    maintained = {
        p.id for p in state.projects.values() if state.project_access_level(user, p) >= AccessLevel.MAINTAINER
    }
    ids = {link.key_id for link in state.deploy_links if link.project_id in maintained}
    return [state.keys[key_id] for key_id in sorted(ids)]


def _project_key(request: web.Request, project: Project) -> tuple[SshKey, DeployKeyLink]:
    state = context(request).state
    key_id = request.match_info["key_id"]
    key = state.keys.get(int(key_id)) if key_id.isdigit() else None
    link = state.deploy_link(key, project) if key is not None else None
    if key is None or link is None:
        raise errors.record_not_found()
    return key, link


@routes.get("/api/v4/deploy_keys")
async def list_all_deploy_keys(request: web.Request) -> web.Response:
    admin_user(request)
    ctx = context(request)
    keys = [k for k in ctx.state.keys.values() if k.deploy]
    return paginate(request, keys, lambda k: entities.deploy_key_with_projects(ctx, k))


@routes.get("/api/v4/projects/{id}/deploy_keys")
async def list_project_deploy_keys(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    pairs = context(request).state.deploy_keys_of(project)
    return paginate(request, pairs, lambda pair: entities.deploy_key_of_project(*pair))


@routes.get("/api/v4/projects/{id}/deploy_keys/{key_id}")
async def get_project_deploy_key(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    return web.json_response(entities.deploy_key_of_project(*_project_key(request, project)))


@routes.post("/api/v4/projects/{id}/deploy_keys")
async def add_project_deploy_key(request: web.Request) -> web.Response:
    user, project = project_with_role(request, AccessLevel.MAINTAINER)
    state = context(request).state
    params = await Params.of(request)
    params.require("key", "title")
    can_push = params.flag("can_push", False)
    project_path = state.path_with_namespace(project)
    if context(request).faults.active("readonly-deploykey-can-push", about=project_path):
        can_push = True  # fault: every new deploy key gets write access, whatever the request asked
    parsed = parse_public_key(params.text("key"))
    if parsed is None:
        raise errors.validation_failed(
            {"deploy_key.key": ["is invalid"], "deploy_key.fingerprint_sha256": ["cannot be generated"]}
        )
    existing = state.key_by_fingerprint(parsed.fingerprint_sha256)
    if existing is not None and (link := state.deploy_link(existing, project)) is not None:
        return web.json_response(entities.deploy_key_of_project(existing, link), status=201)
    if existing is not None and existing in accessible_deploy_keys(state, user):
        link = state.enable_deploy_key(existing, project, can_push)
        return web.json_response(entities.deploy_key_of_project(existing, link), status=201)
    expires = params.get_date("expires_at")
    expires_at = dt.datetime.combine(expires, dt.time(), tzinfo=dt.UTC) if expires else None
    try:
        key = state.add_key(user, params.text("title"), parsed, True, expires_at)
    except ValidationFailed as failure:
        raise errors.validation_failed({f"deploy_key.{k}": v for k, v in failure.errors.items()}) from failure
    link = state.enable_deploy_key(key, project, can_push)
    return web.json_response(entities.deploy_key_of_project(key, link), status=201)


@routes.put("/api/v4/projects/{id}/deploy_keys/{key_id}")
async def update_project_deploy_key(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    key, link = _project_key(request, project)
    params = await Params.of(request)
    link.can_push = params.flag("can_push", link.can_push)
    key.title = params.get_str("title", key.title) or key.title
    return web.json_response(entities.deploy_key_of_project(key, link))


@routes.delete("/api/v4/projects/{id}/deploy_keys/{key_id}")
async def delete_project_deploy_key(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    key, _ = _project_key(request, project)
    context(request).state.disable_deploy_key(key, project)
    return web.Response(status=204)


@routes.post("/api/v4/projects/{id}/deploy_keys/{key_id}/enable")
async def enable_project_deploy_key(request: web.Request) -> web.Response:
    user, project = project_with_role(request, AccessLevel.MAINTAINER)
    state = context(request).state
    key_id = request.match_info["key_id"]
    key = next((k for k in accessible_deploy_keys(state, user) if str(k.id) == key_id), None)
    if key is None:
        raise errors.not_found("Deploy Key")
    state.enable_deploy_key(key, project)
    return web.json_response(entities.ssh_key(key), status=201)
