"""Project webhooks (``/projects/:id/hooks``), as Argo Events' GitLab event source registers them.

GitLab blocks hooks to local addresses unless an administrator allows them; every receiver of this stack
listens on 127.0.0.1, so the emulation behaves as an instance with "allow requests to the local network
from webhooks" switched on. The hook's secret token is stored but never returned.

Follows gitlab ``lib/api/project_hooks.rb``; https://docs.gitlab.com/ee/api/projects.html#hooks.
"""

from __future__ import annotations

import urllib.parse

from aiohttp import web

from nautes_refstack.gitlab.model import HOOK_EVENT_FLAGS, AccessLevel, Project, ProjectHook
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.lookup import project_with_role
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params

routes = web.RouteTableDef()


def _valid_url(params: Params) -> str:
    url = params.text("url")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.ApiError(422, {"message": {"url": ["is blocked: Only allowed schemes are http, https"]}})
    return url


def _hook(request: web.Request, project: Project) -> ProjectHook:
    hook_id = request.match_info["hook_id"]
    hook = context(request).state.hooks.get(int(hook_id)) if hook_id.isdigit() else None
    if hook is None or hook.project_id != project.id:
        raise errors.record_not_found()
    return hook


def _apply(hook: ProjectHook, params: Params) -> None:
    for flag in HOOK_EVENT_FLAGS:
        hook.events[flag] = params.flag(flag, hook.events.get(flag, False))
    hook.enable_ssl_verification = params.flag("enable_ssl_verification", hook.enable_ssl_verification)
    hook.push_events_branch_filter = (
        params.get_str("push_events_branch_filter", hook.push_events_branch_filter) or ""
    )
    hook.token = params.get_str("token", hook.token) or ""


@routes.get("/api/v4/projects/{id}/hooks")
async def list_hooks(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    return paginate(request, context(request).state.hooks_of(project), entities.hook)


@routes.get("/api/v4/projects/{id}/hooks/{hook_id}")
async def get_hook(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    return web.json_response(entities.hook(_hook(request, project)))


@routes.post("/api/v4/projects/{id}/hooks")
async def add_hook(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    state = context(request).state
    params = await Params.of(request)
    hook = ProjectHook(
        id=state.next_id("hooks"),
        project_id=project.id,
        url=_valid_url(params),
        token="",
        events={flag: flag == "push_events" for flag in HOOK_EVENT_FLAGS},
    )
    _apply(hook, params)
    if context(request).faults.active("webhook-push-events-off", about=state.path_with_namespace(project)):
        hook.events["push_events"] = False  # fault: saved without push events, whatever the request asked
    state.hooks[hook.id] = hook
    return web.json_response(entities.hook(hook), status=201)


@routes.put("/api/v4/projects/{id}/hooks/{hook_id}")
async def edit_hook(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    hook = _hook(request, project)
    params = await Params.of(request)
    hook.url = _valid_url(params)
    _apply(hook, params)
    return web.json_response(entities.hook(hook))


@routes.delete("/api/v4/projects/{id}/hooks/{hook_id}")
async def delete_hook(request: web.Request) -> web.Response:
    _, project = project_with_role(request, AccessLevel.MAINTAINER)
    del context(request).state.hooks[_hook(request, project).id]
    return web.Response(status=204)
