"""Finding the project or group a route names, with GitLab's visibility rules.

``:id`` is a numeric id or a URL-encoded full path (``nautes%2Fmanagement``). An object the caller may not
see is "404 ... Not Found", exactly like one that does not exist; one the caller sees but may not change is
"403 Forbidden". A project waiting for its destroy job is not found either (GitLab's ``find_project_scopes``
is ``Project.without_deleted``), though it still holds its path.
"""

from __future__ import annotations

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.model import AccessLevel, Group, Project, User
from nautes_refstack.gitlab.rest import errors
from nautes_refstack.gitlab.rest.auth import current_user, optional_user
from nautes_refstack.gitlab.rest.context import context


def _project(request: web.Request, user: User | None) -> Project:
    state = context(request).state
    reference = request.match_info["id"]
    project = state.projects.get(int(reference)) if reference.isdigit() else state.project_by_path(reference)
    if project is None or project.pending_delete or not permissions.can_read_project(state, user, project):
        raise errors.not_found("Project")
    return project


def _group(request: web.Request, user: User | None) -> Group:
    state = context(request).state
    reference = request.match_info["id"]
    group = state.groups.get(int(reference)) if reference.isdigit() else state.group_by_full_path(reference)
    if group is None or not permissions.can_read_group(state, user, group):
        raise errors.not_found("Group")
    return group


def readable_project(request: web.Request) -> tuple[User | None, Project]:
    user = optional_user(request)
    return user, _project(request, user)


def project_with_role(request: web.Request, role: AccessLevel) -> tuple[User, Project]:
    """The caller and the project, if the caller holds ``role`` there (or is an administrator)."""
    user = current_user(request)
    project = _project(request, user)
    if not permissions.has_project_role(context(request).state, user, project, role):
        raise errors.forbidden()
    return user, project


def readable_group(request: web.Request) -> tuple[User | None, Group]:
    user = optional_user(request)
    return user, _group(request, user)


def group_with_role(request: web.Request, role: AccessLevel) -> tuple[User, Group]:
    user = current_user(request)
    group = _group(request, user)
    if not permissions.has_group_role(context(request).state, user, group, role):
        raise errors.forbidden()
    return user, group
