"""The filters and ordering shared by ``GET /projects`` and ``GET /groups/:id/projects``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.model import AccessLevel, Project, User
from nautes_refstack.gitlab.rest import errors
from nautes_refstack.gitlab.rest.context import ApiContext
from nautes_refstack.gitlab.rest.params import Params

_ORDER_KEYS = ("id", "name", "path", "created_at", "updated_at", "last_activity_at")


def list_projects(
    request: web.Request, ctx: ApiContext, user: User | None, candidates: Iterable[Project], params: Params
) -> list[Project]:
    """Visible projects, filtered by search, ownership, membership, visibility and minimum access level."""
    state = ctx.state
    projects = [p for p in candidates if permissions.can_read_project(state, user, p)]
    if search := (params.get_str("search") or "").lower():
        projects = [
            p
            for p in projects
            if search in p.name.lower() or search in p.path.lower() or search in p.description.lower()
        ]
    if visibility := params.get_str("visibility"):
        projects = [p for p in projects if p.visibility == visibility]
    if user is not None:
        if params.flag("owned", False):
            projects = [p for p in projects if state.project_access_level(user, p) >= AccessLevel.OWNER]
        min_level = params.get_int("min_access_level")
        if params.flag("membership", False) or min_level is not None:
            floor = min_level if min_level is not None else AccessLevel.GUEST
            projects = [p for p in projects if state.project_access_level(user, p) >= floor]
    return _ordered(request, projects)


def _ordered(request: web.Request, projects: list[Project]) -> list[Project]:
    order_by = request.query.get("order_by", "created_at")
    if order_by not in _ORDER_KEYS:
        raise errors.ApiError(400, {"error": "order_by does not have a valid value"})
    descending = request.query.get("sort", "desc") != "asc"

    def key(project: Project) -> tuple[Any, int]:
        attribute = {"updated_at": "last_activity_at"}.get(order_by, order_by)
        return getattr(project, attribute), project.id

    return sorted(projects, key=key, reverse=descending)
