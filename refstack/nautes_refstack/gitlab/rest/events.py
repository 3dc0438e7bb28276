"""Events (gitlab ``lib/api/events.rb``, ``Entities::Event`` and ``Entities::PushEventPayload``): the
caller's own (``/events``), a user's (``/users/:id/events``) and a project's (``/projects/:id/events``),
newest first, each only in projects the caller may read; ``action`` narrows them ("pushed", "created").

Follows https://docs.gitlab.com/ee/api/events.html
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.activity import Event, PushRecord
from nautes_refstack.gitlab.model import ZERO_SHA, User, iso_time
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.auth import current_user, optional_user
from nautes_refstack.gitlab.rest.context import ApiContext, context
from nautes_refstack.gitlab.rest.lookup import readable_project
from nautes_refstack.gitlab.rest.pagination import paginate

routes = web.RouteTableDef()
#: ``action`` filter values and the ``action_name``s they select (``Event::ACTIONS``).
_ACTIONS = {"created": ("created",), "pushed": ("pushed new", "pushed to", "deleted")}


def _push_data(ctx: ApiContext, project_id: int, record: PushRecord) -> entities.Json:
    """``push_data``: what the push did to which ref, with its commits counted and the newest one's title."""
    change = record.change
    ref_type = "branch" if change.branch is not None else "tag"
    count, title = 0, None
    project = ctx.state.projects.get(project_id)
    if project is not None and not change.is_deletion:
        repository = ctx.state.repository(project)
        revisions = (
            [change.after, *(f"^{tip}" for tip in record.other_tips)]
            if change.is_creation
            else [f"{change.before}..{change.after}"]
        )
        count = int(
            repository.git("rev-list", "--count", *revisions, "--", check=False).decode().strip() or 0
        )
        commits = repository.commits([change.after]) if count else []
        title = commits[0].title if commits else None
    return {
        "commit_count": count,
        "action": "created" if change.is_creation else "removed" if change.is_deletion else "pushed",
        "ref_type": ref_type,
        "commit_from": None if change.before == ZERO_SHA else change.before,
        "commit_to": None if change.after == ZERO_SHA else change.after,
        "ref": change.ref.removeprefix("refs/heads/").removeprefix("refs/tags/"),
        "commit_title": title,
        "ref_count": None,
    }


def _event(ctx: ApiContext, event: Event) -> entities.Json:
    author = ctx.state.users.get(event.author_id)
    entity: entities.Json = {
        "id": event.id,
        "project_id": event.project_id,
        "action_name": event.action_name,
        "target_id": None,
        "target_iid": None,
        "target_type": None,
        "author_id": event.author_id,
        "target_title": None,
        "created_at": iso_time(event.created_at),
        "author": entities.user_basic(ctx, author) if author else None,
        "imported": False,
        "imported_from": "none",
        "author_username": author.username if author else None,
    }
    if event.push is not None:
        entity["push_data"] = _push_data(ctx, event.project_id, event.push)
    return entity


async def _listed(request: web.Request, viewer: User | None, keep: Callable[[Event], bool]) -> web.Response:
    ctx = context(request)
    action = request.query.get("action")
    if action is not None and action not in _ACTIONS:
        raise errors.ApiError(400, {"error": "action does not have a valid value"})
    state = ctx.state
    events = [
        e
        for e in state.events
        if keep(e)
        and (action is None or e.action_name in _ACTIONS[action])
        and e.project_id in state.projects
        and permissions.can_read_project(state, viewer, state.projects[e.project_id])
    ]
    events.sort(key=lambda e: e.id, reverse=request.query.get("sort", "desc") == "desc")
    rendered = await asyncio.to_thread(lambda: [_event(ctx, e) for e in events])
    return paginate(request, rendered, lambda e: e)


@routes.get("/api/v4/events")
async def list_own_events(request: web.Request) -> web.Response:
    user = current_user(request)
    return await _listed(request, user, lambda e: e.author_id == user.id)


@routes.get("/api/v4/users/{user_id}/events")
async def list_user_events(request: web.Request) -> web.Response:
    viewer = optional_user(request)
    raw = request.match_info["user_id"]
    state = context(request).state
    user = state.users.get(int(raw)) if raw.isdigit() else state.user_by_username(raw)
    if user is None:
        raise errors.not_found("User")
    return await _listed(request, viewer, lambda e: e.author_id == user.id)


@routes.get("/api/v4/projects/{id}/events")
async def list_project_events(request: web.Request) -> web.Response:
    viewer, project = readable_project(request)
    return await _listed(request, viewer, lambda e: e.project_id == project.id)
