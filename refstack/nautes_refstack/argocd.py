"""Argo CD on the tenant management cluster: which commit of each repository it has synced into the cluster.

What the API server's global validation and the operators see of the tenant repository and of each
product's ``default.project`` are CRs that Argo CD created from them (contract §3.5, steps 1-2), not the
files on ``main``. The applications use automated sync (INST ``nautes/roles/nautes/templates/
argocd-app.yaml``) and no GitLab webhook points at Argo CD **(inferred: the installer adds none)**, so the
application controller notices a new commit only when it refreshes the application, every
``timeout.reconciliation`` (default 180 s: Argo CD ``argocd-cm`` docs, ``appResyncPeriod``). A newly
created application (the base operator's ``product-<groupID>``) is synced at once.

Under the ``instant`` pace every read sees ``main`` (the stack as it was before the pace existed). Under
fault ``tenant-repo-never-syncs`` the tenant application never syncs again after the installation: the
Cluster resources a later save writes never appear (the app is ``OutOfSync``/``ComparisonError``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.supervision import log_survived_error, start_supervised

log = logging.getLogger(__name__)

MAIN = "main"
# Argo CD ``timeout.reconciliation`` default (argocd-cm): how often an application is refreshed.
RECONCILIATION_SECONDS = 180.0


class CommitResolver(Protocol):
    """The in-process GitLab seam: the commit a branch of a project points at."""

    def resolve_commit(self, project_path: str, ref: str) -> str | None: ...


SyncedCallback = Callable[[str], Awaitable[None]]


class ArgoCd:
    """The applications of one tenant management cluster; ``ref(path)`` is the commit synced from ``path``.

    ``on_synced(path)`` is awaited after a refresh moved an application to a new commit (the CRs changed,
    which is what the operators watch).
    """

    def __init__(
        self, gitlab: CommitResolver, tenant_repo: str, pace: Pace = INSTANT, faults: Faults = NO_FAULTS
    ) -> None:
        self._gitlab = gitlab
        self._tenant_repo = tenant_repo
        self._pace = pace
        self._faults = faults
        self._synced: dict[str, str] = {}
        self._callbacks: list[SyncedCallback] = []
        self._task: asyncio.Task[None] | None = None

    def on_synced(self, callback: SyncedCallback) -> None:
        self._callbacks.append(callback)

    def ref(self, path: str) -> str | None:
        """What to read ``path`` at: ``main`` when nothing lags, else the synced commit (None: not yet)."""
        if not self._pace.real and not self._held(path):
            return MAIN
        return self._synced.get(path)

    def tenant_ref(self) -> str:
        """The tenant repository's synced commit (the installer waited for its first sync)."""
        return self.ref(self._tenant_repo) or MAIN

    async def add_application(self, path: str) -> None:
        """A new application for ``path`` (the base operator found a product): synced at once."""
        if path not in self._synced:
            await self._refresh(path)

    async def start(self) -> None:
        """The installer's first sync of the tenant repository, then (``real``) the periodic refreshes."""
        commit = self._gitlab.resolve_commit(self._tenant_repo, MAIN)
        if commit is not None:
            self._synced[self._tenant_repo] = commit
        if self._pace.real:
            self._task = start_supervised(self._refresh_loop(), "argocd-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh_loop(self) -> None:
        while True:
            await self._pace.wait(RECONCILIATION_SECONDS)
            for path in list(self._synced):
                try:
                    await self._refresh(path)
                except Exception:  # the application controller survives a failed refresh
                    log_survived_error("argo cd refresh of %s failed", path)

    async def _refresh(self, path: str) -> None:
        if self._held(path):
            return
        commit = self._gitlab.resolve_commit(path, MAIN)
        if commit is None or self._synced.get(path) == commit:
            return
        self._synced[path] = commit
        log.info("argo cd synced %s at %s", path, commit[:12])
        for callback in self._callbacks:
            await callback(path)

    def _held(self, path: str) -> bool:
        return path == self._tenant_repo and self._faults.active("tenant-repo-never-syncs")
