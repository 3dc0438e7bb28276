"""Who may see and do what, after GitLab's ``ProjectPolicy`` and ``GroupPolicy`` with default settings.

``user`` is ``None`` for an anonymous request. Administrators pass every check except protected-branch role
checks, which GitLab evaluates against membership only (see ``git_access.py``).
"""

from __future__ import annotations

from nautes_refstack.gitlab.model import AccessLevel, Group, Project, User
from nautes_refstack.gitlab.state import GitLabState


def _visible_by_visibility(user: User | None, visibility: str) -> bool:
    return visibility == "public" or (visibility == "internal" and user is not None)


def can_read_project(state: GitLabState, user: User | None, project: Project) -> bool:
    if _visible_by_visibility(user, project.visibility):
        return True
    if user is None:
        return False
    return user.is_admin or state.project_access_level(user, project) >= AccessLevel.GUEST


def can_download_code(state: GitLabState, user: User | None, project: Project) -> bool:
    """Guests of a private project see it but may not fetch its code."""
    if _visible_by_visibility(user, project.visibility):
        return True
    if user is None:
        return False
    return user.is_admin or state.project_access_level(user, project) >= AccessLevel.REPORTER


def has_project_role(state: GitLabState, user: User | None, project: Project, role: AccessLevel) -> bool:
    """``push_code`` is Developer, ``admin_project`` Maintainer, ``remove_project`` Owner."""
    if user is None:
        return False
    return user.is_admin or state.project_access_level(user, project) >= role


def can_read_group(state: GitLabState, user: User | None, group: Group) -> bool:
    """A private group is visible to its members and to members of anything inside it."""
    if _visible_by_visibility(user, group.visibility):
        return True
    if user is None:
        return False
    if user.is_admin or state.group_access_level(user, group) > AccessLevel.NO_ACCESS:
        return True
    return _has_membership_below(state, user, group)


def _has_membership_below(state: GitLabState, user: User, group: Group) -> bool:
    if any(
        state.project_access_level(user, p) > 0 for p in state.projects.values() if p.namespace_id == group.id
    ):
        return True
    return any(
        state.group_access_level(user, sub) > 0 or _has_membership_below(state, user, sub)
        for sub in state.subgroups(group)
    )


def has_group_role(state: GitLabState, user: User | None, group: Group, role: AccessLevel) -> bool:
    """``create_projects`` is Maintainer (GitLab's default), ``admin_group`` and subgroups Owner."""
    if user is None:
        return False
    return user.is_admin or state.group_access_level(user, group) >= role


def can_create_project_in(state: GitLabState, user: User, namespace_id: int) -> bool:
    owner = state.namespace_owner(namespace_id)
    if owner is not None:
        return owner.id == user.id or user.is_admin
    return has_group_role(state, user, state.groups[namespace_id], AccessLevel.MAINTAINER)
