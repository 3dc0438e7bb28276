"""GitLab CE 15.10 deletes projects and groups in a background job, not in the request that asks for it.

``DELETE /projects/:id`` runs ``Projects::DestroyService#async_execute``: it sets ``pending_delete`` and
queues ``ProjectDestroyWorker`` (Sidekiq), then answers ``202 {"message": "202 Accepted"}``
(``API::Helpers::ProjectsHelpers#delete_project`` -> ``accepted!``). Until the worker has run, the API's
project lookup (``find_project_scopes``: ``Project.without_deleted``) no longer finds it -- ``404 Project
Not Found`` -- but the row still holds its name and path: creating the project again answers ``400 ... has
already been taken``. ``DELETE /groups/:id`` runs ``Groups::DestroyService#async_execute``, which only
queues ``GroupDestroyWorker``: CE marks nothing (``marked_for_deletion_on`` and delayed deletion are EE), so
the group, its subgroups and projects stay fully readable until the worker destroys them.

Under the ``real`` pace these jobs run after the durations below (scaled); under ``instant`` at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from nautes_refstack.gitlab.model import Group, Project
from nautes_refstack.gitlab.state import GitLabState
from nautes_refstack.pace import Pace
from nautes_refstack.supervision import start_supervised

log = logging.getLogger(__name__)

# Estimates, not measurements: Sidekiq picks a queued job up within about a second on an idle instance, and
# ProjectDestroyWorker then removes the repository and the project's rows (a few seconds for a small
# project). GroupDestroyWorker destroys every project of the group one after the other in the same job.
PROJECT_DESTROY_SECONDS = 5.0
GROUP_DESTROY_SECONDS = 10.0


class BackgroundDeletions:
    """The Sidekiq queue of the emulated GitLab, for project and group destruction only."""

    def __init__(self, state: GitLabState, pace: Pace) -> None:
        self._state = state
        self._pace = pace
        self._jobs: set[asyncio.Task[None]] = set()

    def delete_project(self, project: Project) -> None:
        """``Projects::DestroyService#async_execute``: mark ``pending_delete`` and queue the destroy job."""
        if not self._pace.real:
            self._state.delete_project(project)
            return
        project.pending_delete = True
        self._queue(self._destroy_project(project), f"ProjectDestroyWorker {project.id}")

    def delete_group(self, group: Group) -> None:
        """``Groups::DestroyService#async_execute``: queue the destroy job; the group stays as it is."""
        if not self._pace.real:
            self._state.delete_group(group)
            return
        self._queue(self._destroy_group(group), f"GroupDestroyWorker {group.id}")

    async def stop(self) -> None:
        """Drop the queued jobs (GitLab going down with its queue): nothing is half-destroyed."""
        for job in self._jobs:
            job.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)
        self._jobs.clear()

    def _queue(self, job: Coroutine[Any, Any, None], name: str) -> None:
        task = start_supervised(job, name)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _destroy_project(self, project: Project) -> None:
        await self._pace.wait(PROJECT_DESTROY_SECONDS)
        if self._state.projects.get(project.id) is project:  # a group's job may have destroyed it first
            self._state.delete_project(project)
            log.info("ProjectDestroyWorker destroyed project %s", project.id)

    async def _destroy_group(self, group: Group) -> None:
        await self._pace.wait(GROUP_DESTROY_SECONDS)
        if self._state.groups.get(group.id) is group:  # a second DELETE queues a second job
            self._state.delete_group(group)
            log.info("GroupDestroyWorker destroyed group %s", group.id)
