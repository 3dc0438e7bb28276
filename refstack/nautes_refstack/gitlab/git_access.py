"""GitLab's git access checks (``Gitlab::GitAccess``, ``Checks::PushCheck``, ``Checks::BranchCheck``).

One set of rules for every way in: smart HTTP and SSH check the command up front, the ``pre-receive`` hook
(through the internal API) and the repository files API check each ref change. Messages are GitLab's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.model import AccessLevel, BranchAccessRule, Project, RefChange, SshKey, User
from nautes_refstack.gitlab.repository import BareRepository
from nautes_refstack.gitlab.state import GitLabState

PROJECT_NOT_FOUND = (
    "The project you were looking for could not be found or you don't have permission to view it."
)
DOWNLOAD = "You are not allowed to download code from this project."
AUTH_DOWNLOAD = "You are not allowed to download code."
AUTH_UPLOAD = "You are not allowed to upload code."
DEPLOY_KEY_UPLOAD = "This deploy key does not have write access to this project."
PUSH_CODE = "You are not allowed to push code to this project."
DELETE_DEFAULT_BRANCH = "The default branch of a project cannot be deleted."
FORCE_PUSH_PROTECTED_BRANCH = "You are not allowed to force push code to a protected branch on this project."
NON_MAINTAINER_DELETE_PROTECTED_BRANCH = (
    "You are not allowed to delete protected branches from this project. "
    "Only a project maintainer or owner can delete a protected branch."
)
NON_WEB_DELETE_PROTECTED_BRANCH = "You can only delete protected branches using the web interface."
PUSH_PROTECTED_BRANCH = "You are not allowed to push code to protected branches on this project."
CREATE_PROTECTED_BRANCH = "You are not allowed to create protected branches on this project."
PROHIBITED_HEX_BRANCH_NAME = "You cannot create a branch with a 40-character hexadecimal branch name."
CHANGE_EXISTING_TAGS = "You are not allowed to change existing tags on this project."

_HEX_40 = re.compile(r"\A[0-9a-fA-F]{40}\Z")
DOWNLOAD_CODE = "download_code"
PUSH_CODE_ABILITY = "push_code"
ALL_ABILITIES = frozenset({DOWNLOAD_CODE, PUSH_CODE_ABILITY})


class GitAccessDenied(Exception):
    """A refused git action; ``not_found`` hides the project's existence (HTTP 404) instead of 403."""

    def __init__(self, message: str, not_found: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.not_found = not_found


@dataclass(frozen=True)
class GitActor:
    """Who runs a git command: a user (token or their SSH key), or a deploy key acting for its owner.

    ``abilities`` are what the credential allows (a ``read_repository`` token cannot push).
    """

    user: User
    key: SshKey | None = None
    abilities: frozenset[str] = field(default=ALL_ABILITIES)

    @property
    def deploy_key(self) -> SshKey | None:
        return self.key if self.key is not None and self.key.deploy else None

    @property
    def gl_id(self) -> str:
        """GitLab's actor id as its hooks pass it around: ``key-<id>`` or ``user-<id>``."""
        return f"key-{self.key.id}" if self.key is not None else f"user-{self.user.id}"


def _can_read(state: GitLabState, actor: GitActor, project: Project) -> bool:
    deploy_key = actor.deploy_key
    if deploy_key is not None:
        return project.visibility == "public" or state.deploy_link(deploy_key, project) is not None
    return permissions.can_read_project(state, actor.user, project)


def check_download(state: GitLabState, actor: GitActor, project: Project) -> None:
    if not _can_read(state, actor, project):
        raise GitAccessDenied(PROJECT_NOT_FOUND, not_found=True)
    if DOWNLOAD_CODE not in actor.abilities:
        raise GitAccessDenied(AUTH_DOWNLOAD)
    if actor.deploy_key is None and not permissions.can_download_code(state, actor.user, project):
        raise GitAccessDenied(DOWNLOAD)


def check_push(state: GitLabState, actor: GitActor, project: Project) -> None:
    """The up-front check of a ``git-receive-pack`` (changes not known yet: GitLab's ``_any``)."""
    if not _can_read(state, actor, project):
        raise GitAccessDenied(PROJECT_NOT_FOUND, not_found=True)
    if PUSH_CODE_ABILITY not in actor.abilities:
        raise GitAccessDenied(AUTH_UPLOAD)
    deploy_key = actor.deploy_key
    if deploy_key is not None:
        link = state.deploy_link(deploy_key, project)
        if link is None or not link.can_push:
            raise GitAccessDenied(DEPLOY_KEY_UPLOAD)
    elif not permissions.has_project_role(state, actor.user, project, AccessLevel.DEVELOPER):
        raise GitAccessDenied(PUSH_CODE)


@dataclass(frozen=True)
class PushFacts:
    """What the checks need from the repository, gathered before the rules run (off the event loop)."""

    repository_empty: bool
    forced: frozenset[RefChange]


def inspect_push(
    repository: BareRepository, changes: Sequence[RefChange], object_env: Mapping[str, str]
) -> PushFacts:
    """Read the repository for a push; ``object_env`` exposes the push's objects still in quarantine."""
    forced = {
        change
        for change in changes
        if not change.is_creation
        and not change.is_deletion
        and not repository.is_ancestor(change.before, change.after, object_env)
    }
    return PushFacts(repository_empty=repository.is_empty(), forced=frozenset(forced))


def check_changes(
    state: GitLabState, actor: GitActor, project: Project, changes: Sequence[RefChange], facts: PushFacts
) -> None:
    """Every ref change of a push, before any ref moves; one refused change refuses the whole push."""
    check_push(state, actor, project)
    checker = _ChangeChecker(state, actor, project, facts)
    for change in changes:
        checker.check(change)


@dataclass
class _ChangeChecker:
    """The per-ref rules (``Checks::PushCheck``, ``BranchCheck``, ``TagCheck``) for one actor and project."""

    state: GitLabState
    actor: GitActor
    project: Project
    facts: PushFacts

    @property
    def repository_empty(self) -> bool:
        return self.facts.repository_empty

    def check(self, change: RefChange) -> None:
        if not self._passes_push_check(change):
            raise GitAccessDenied(PUSH_CODE)
        branch = change.branch
        if branch is None:
            if not change.is_creation and not self._member_level_at_least(AccessLevel.MAINTAINER):
                raise GitAccessDenied(CHANGE_EXISTING_TAGS)
            return
        if change.is_deletion and branch == self.project.default_branch:
            raise GitAccessDenied(DELETE_DEFAULT_BRANCH)
        if change.is_creation and _HEX_40.match(branch):
            raise GitAccessDenied(PROHIBITED_HEX_BRANCH_NAME)
        if self._is_protected(branch):
            self._check_protected_branch(change, branch)

    def _passes_push_check(self, change: RefChange) -> bool:
        """``Checks::PushCheck``: a user needs push rights, a deploy key the right to push to the branch."""
        if self.actor.deploy_key is not None and change.branch is not None:
            return self.can_push_to_branch(change.branch)
        return self._can_collaborate()

    def _check_protected_branch(self, change: RefChange, branch: str) -> None:
        forced = change in self.facts.forced
        allow_force = any(pb.allow_force_push for pb in self.state.protections_matching(self.project, branch))
        if forced and not allow_force:
            raise GitAccessDenied(FORCE_PUSH_PROTECTED_BRANCH)
        if change.is_deletion and not self.repository_empty:
            if not self._member_level_at_least(AccessLevel.MAINTAINER):
                raise GitAccessDenied(NON_MAINTAINER_DELETE_PROTECTED_BRANCH)
            raise GitAccessDenied(NON_WEB_DELETE_PROTECTED_BRANCH)
        if self.can_push_to_branch(branch):
            return
        if change.is_creation and not self.repository_empty:
            raise GitAccessDenied(CREATE_PROTECTED_BRANCH)
        raise GitAccessDenied(self._protected_push_refused_message())

    def _protected_push_refused_message(self) -> str:
        if not self.repository_empty:
            return PUSH_PROTECTED_BRANCH
        full_path = self.state.path_with_namespace(self.project)
        return (
            f"\nA default branch (e.g. master) does not yet exist for {full_path}\n"
            "Ask a project Owner or Maintainer to create a default branch:\n\n"
            f"  /{full_path}/-/project_members\n"
        )

    def _is_protected(self, branch: str) -> bool:
        """In an empty repository every branch counts as protected (GitLab's default branch protection)."""
        return self.repository_empty or bool(self.state.protections_matching(self.project, branch))

    def _member_level_at_least(self, level: AccessLevel) -> bool:
        return self.state.project_access_level(self.actor.user, self.project) >= level

    def _can_collaborate(self) -> bool:
        deploy_key = self.actor.deploy_key
        if deploy_key is None:
            return permissions.has_project_role(
                self.state, self.actor.user, self.project, AccessLevel.DEVELOPER
            )
        link = self.state.deploy_link(deploy_key, self.project)
        readable = permissions.can_read_project(self.state, self.actor.user, self.project)
        return readable and link is not None and link.can_push

    def can_push_to_branch(self, branch: str) -> bool:
        """``UserAccess#can_push_to_branch?``; a deploy key is judged by its owner's role and its own id."""
        if not self._can_collaborate():
            return False
        if self.repository_empty:
            return self.actor.user.is_admin or self._member_level_at_least(AccessLevel.MAINTAINER)
        rules = [
            rule
            for pb in self.state.protections_matching(self.project, branch)
            for rule in pb.push_access_levels
        ]
        return not rules or any(self._rule_allows(rule) for rule in rules)

    def _rule_allows(self, rule: BranchAccessRule) -> bool:
        if rule.deploy_key_id is not None:
            deploy_key = self.actor.deploy_key
            return deploy_key is not None and deploy_key.id == rule.deploy_key_id
        if rule.access_level == AccessLevel.NO_ACCESS:
            return False
        return self._member_level_at_least(rule.access_level)


def can_push_to_branch(
    state: GitLabState, actor: GitActor, project: Project, branch: str, empty: bool
) -> bool:
    """Whether ``actor`` may push to ``branch`` now (the ``can_push`` of GitLab's branch entity)."""
    checker = _ChangeChecker(state, actor, project, PushFacts(repository_empty=empty, forced=frozenset()))
    return checker.can_push_to_branch(branch)
