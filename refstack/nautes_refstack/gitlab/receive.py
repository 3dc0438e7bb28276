"""GitLab's side of a ref update: the checks before it (pre-receive) and the bookkeeping after it.

Pushes over HTTP and SSH reach this through the repositories' hooks and the internal API; commits made by
the repository files API call it directly. Either way a push is checked by the same rules and reported the
same way: the default branch of a first push becomes the project's default branch and is protected
(GitLab's "fully protected" default), then the push is queued for ``on_push`` callbacks and webhooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.gitlab import git_access, webhooks
from nautes_refstack.gitlab.events import Push, PushDispatcher
from nautes_refstack.gitlab.git_access import GitActor
from nautes_refstack.gitlab.model import AccessLevel, Project, RefChange, utc_now
from nautes_refstack.gitlab.repository import BareRepository
from nautes_refstack.gitlab.state import GitLabState
from nautes_refstack.gitlab.urls import GitLabUrls


class PushReceiver:
    def __init__(
        self, state: GitLabState, urls: GitLabUrls, dispatcher: PushDispatcher, faults: Faults = NO_FAULTS
    ) -> None:
        self._state = state
        self._urls = urls
        self._dispatcher = dispatcher
        self._faults = faults

    async def check(
        self, actor: GitActor, project: Project, changes: Sequence[RefChange], object_env: Mapping[str, str]
    ) -> None:
        """Raise ``GitAccessDenied`` unless every change is allowed."""
        repository = self._state.repository(project)
        facts = await asyncio.to_thread(git_access.inspect_push, repository, changes, object_env)
        git_access.check_changes(self._state, actor, project, changes, facts)

    async def post_receive(self, actor: GitActor, project: Project, changes: Sequence[RefChange]) -> None:
        """Record a push whose refs have moved, then queue its events."""
        repository = self._state.repository(project)
        branches: dict[str, str] = {}
        if self._needs_branch_list(project, changes):
            branches = await asyncio.to_thread(repository.branches)
            if project.default_branch not in branches and branches:
                await self._adopt_default_branch(project, repository, branches, changes)
        created = {change.branch for change in changes if change.is_creation}
        if project.default_branch in created and not self._state.protected_branch_named(
            project, project.default_branch
        ):
            self._state.protect_branch(
                project,
                project.default_branch,
                AccessLevel.MAINTAINER,
                AccessLevel.MAINTAINER,
                allow_force_push=False,
            )
        project.last_activity_at = utc_now()
        for change in changes:
            self._state.record_push(project, actor.user, change, branches)
        self._dispatcher.submit(
            Push(
                project=self._snapshot(project),
                repository=repository,
                pusher=webhooks.Pusher(
                    actor.user.id, actor.user.name, actor.user.username, self._urls.avatar(actor.user.email)
                ),
                changes=list(changes),
                hooks=list(self._state.hooks_of(project)),
            )
        )
        await self._put_back_if_faulty(project, repository, changes)

    @staticmethod
    def _needs_branch_list(project: Project, changes: Sequence[RefChange]) -> bool:
        """Whether the branches must be listed: a new ref's event records the other branches' tips, and
        only a push that moved the default branch (not deleting it) is known to have left it in place."""
        kept_default = any(
            change.branch == project.default_branch and not change.is_deletion for change in changes
        )
        return not kept_default or any(change.is_creation for change in changes)

    async def _put_back_if_faulty(
        self, project: Project, repository: BareRepository, changes: Sequence[RefChange]
    ) -> None:
        """Fault ``main-put-back-after-force-push``: a pull mirror (or any second writer) moves the default
        branch back to where it was right after a forced update of it; the push itself was accepted."""
        path = self._state.path_with_namespace(project)
        for change in changes:
            if (
                change.branch == project.default_branch
                and not change.is_creation
                and not change.is_deletion
                and self._faults.active("main-put-back-after-force-push", about=path)
                and not await asyncio.to_thread(repository.is_ancestor, change.before, change.after, {})
            ):
                await asyncio.to_thread(repository.update_ref, change.ref, change.before, change.after)

    async def _adopt_default_branch(
        self,
        project: Project,
        repository: BareRepository,
        branches: Mapping[str, str],
        changes: Sequence[RefChange],
    ) -> None:
        """A first push without the default branch makes its first branch the default (GitLab's root ref)."""
        pushed = [change.branch for change in changes if change.branch in branches]
        project.default_branch = str(pushed[0] if pushed else sorted(branches)[0])
        await asyncio.to_thread(repository.set_head, project.default_branch)

    def _snapshot(self, project: Project) -> webhooks.ProjectSnapshot:
        path = self._state.path_with_namespace(project)
        owner = self._state.namespace_owner(project.namespace_id)
        namespace_name = owner.name if owner else self._state.groups[project.namespace_id].name
        return webhooks.ProjectSnapshot(
            id=project.id,
            name=project.name,
            description=project.description,
            namespace_name=namespace_name,
            path_with_namespace=path,
            default_branch=project.default_branch,
            visibility=project.visibility,
            web_url=self._urls.project_web(path),
            http_url=self._urls.project_http(path),
            ssh_url=self._urls.project_ssh(path),
        )
