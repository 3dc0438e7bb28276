"""After a push: in-process ``on_push`` callbacks and project webhooks, delivered off the pusher's path.

Like GitLab's ``PostReceive`` job, the work happens after the refs have moved and after the push has been
answered. One worker handles pushes in the order they landed; within one push, callbacks and webhook
deliveries of every ref run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.gitlab import webhooks
from nautes_refstack.gitlab.model import ZERO_SHA, ProjectHook, RefChange
from nautes_refstack.gitlab.repository import BareRepository, CommitWithChanges, GitCommandError
from nautes_refstack.supervision import log_survived_error, start_supervised

log = logging.getLogger(__name__)
#: What GitLab records for a hook whose URL its outbound-request filter refuses (fault webhook-not-delivered).
BLOCKED_URL = "URL is blocked: Requests to the local network are not allowed"
#: How late webhooks go out under fault webhook-delivered-late: GitLab delivers them from a Sidekiq job
#: (``WebHookWorker``), which a busy queue starts late.
LATE_DELIVERY_S = 2.0


@dataclass(frozen=True)
class PushEvent:
    """One ref moved by a push (HTTP, SSH or the repository files API)."""

    project_id: int
    path_with_namespace: str
    ref: str
    before: str
    after: str
    user_username: str


PushCallback = Callable[[PushEvent], Awaitable[None]]


@dataclass(frozen=True)
class Push:
    """A push as it was when it landed: the project, the pusher, the ref changes, the hooks to call."""

    project: webhooks.ProjectSnapshot
    repository: BareRepository
    pusher: webhooks.Pusher
    changes: list[RefChange]
    hooks: list[ProjectHook]


class PushDispatcher:
    def __init__(self, faults: Faults = NO_FAULTS) -> None:
        self._faults = faults
        self._instance_url = ""
        self._callbacks: list[PushCallback] = []
        self._queue: asyncio.Queue[Push] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def on_push(self, callback: PushCallback) -> None:
        self._callbacks.append(callback)

    def submit(self, push: Push) -> None:
        self._queue.put_nowait(push)

    async def start(self, instance_url: str) -> None:
        """Start delivering; ``instance_url`` goes into each webhook's ``X-Gitlab-Instance`` header."""
        self._instance_url = instance_url
        self._session = aiohttp.ClientSession()
        self._worker = start_supervised(self._run(self._session), "gitlab-push-events")

    async def stop(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if self._queue.qsize():
            log.warning("%d push(es) stopped before their events were delivered", self._queue.qsize())
        if self._session is not None:
            await self._session.close()

    async def _run(self, session: aiohttp.ClientSession) -> None:
        while True:
            push = await self._queue.get()
            try:
                await self._dispatch(push, session)
            except Exception:
                log_survived_error("push event handling failed for %s", push.project.path_with_namespace)

    async def _dispatch(self, push: Push, session: aiohttp.ClientSession) -> None:
        deliveries: list[Awaitable[None]] = []
        for change in push.changes:
            event = PushEvent(
                push.project.id,
                push.project.path_with_namespace,
                change.ref,
                change.before,
                change.after,
                push.pusher.username,
            )
            deliveries += [self._call(callback, event) for callback in self._callbacks]
            hooks = [hook for hook in push.hooks if webhooks.hook_wants(hook, change)]
            if hooks and self._faults.active("webhook-not-delivered", about=push.project.path_with_namespace):
                for hook in hooks:  # fault: GitLab's UrlBlocker refuses the cluster's address
                    log.warning(
                        "webhook %s (hook %d) to %s not delivered: %s",
                        webhooks.hook_event_name(change),
                        hook.id,
                        hook.url,
                        BLOCKED_URL,
                    )
                hooks = []
            if hooks:
                payload = await self._payload(push, change)
                late = self._faults.active("webhook-delivered-late", about=push.project.path_with_namespace)
                deliveries += [
                    _after(
                        LATE_DELIVERY_S if late else 0.0,
                        webhooks.deliver(
                            session, hook, webhooks.hook_event_name(change), payload, self._instance_url
                        ),
                    )
                    for hook in hooks
                ]
        await asyncio.gather(*deliveries)

    async def _payload(self, push: Push, change: RefChange) -> dict[str, object]:
        commits, total = await asyncio.to_thread(_pushed_commits, push.repository, change)
        return webhooks.push_payload(
            push.project, push.pusher, change, commits, total, f"{push.project.web_url}/-/commit"
        )

    @staticmethod
    async def _call(callback: PushCallback, event: PushEvent) -> None:
        try:
            await callback(event)
        except Exception:
            log_survived_error(
                "on_push callback %r failed for %s %s", callback, event.path_with_namespace, event.ref
            )


async def _after(delay_s: float, delivery: Awaitable[None]) -> None:
    """``delivery``, started ``delay_s`` late (fault webhook-delivered-late: the Sidekiq job ran late)."""
    if delay_s:
        await asyncio.sleep(delay_s)
    await delivery


def _pushed_commits(repository: BareRepository, change: RefChange) -> tuple[list[CommitWithChanges], int]:
    if change.after == ZERO_SHA:
        return [], 0
    try:
        other_tips = [
            sha for name, sha in repository.branches().items() if f"refs/heads/{name}" != change.ref
        ]
        return repository.pushed_commits(change.before, change.after, other_tips)
    except GitCommandError as error:  # the project was deleted before its push was reported
        log.warning("cannot list the commits of a push: %s", error)
        return [], 0
