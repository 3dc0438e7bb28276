"""What changed in the repositories an operator follows, and the wake-up of its loop.

The runtime operators (:mod:`.reconciler`) and the management cluster's sync both follow the tenant
repository and each product's ``default.project``: a change to either (a push under the instant pace, or
Argo CD's sync of a new commit) marks it and wakes the loop, and the loop otherwise wakes after its
requeue/poll period, as controller-runtime's watches and ``RequeueAfter`` do.
"""

from __future__ import annotations

import asyncio
import contextlib

from nautes_refstack.runtime.snapshots import PRODUCT_REPO


class RepositoryChanges:
    """``note(path)`` marks a change; ``await wait(period)`` returns at a change or after ``period``;
    ``take()`` hands over what changed since the last take (everything at first)."""

    def __init__(self, tenant_repo: str) -> None:
        self._tenant_repo = tenant_repo
        self._tenant = True  # the first round reads the tenant repository whatever happened before it
        self._products: set[str] = set()
        self._wakeup = asyncio.Event()
        self._wakeup.set()

    def note(self, path: str) -> None:
        """``path`` changed: mark it and wake the loop (a repository it does not follow is ignored)."""
        group, _, project = path.rpartition("/")
        if path == self._tenant_repo:
            self._tenant = True
        elif project == PRODUCT_REPO and group:
            self._products.add(group)
        else:
            return
        self._wakeup.set()

    def mark_tenant(self) -> None:
        """The next round reads the tenant repository again (a periodic requeue: everything)."""
        self._tenant = True

    async def wait(self, period: float) -> bool:
        """Until a change or ``period`` seconds; ``True`` when a change woke it, ``False`` when the period ran
        out. ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` loses a cancel that lands as
        the wait ends (python/cpython#86296), and the loop would then outlive the stack's stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(period):
                await self._wakeup.wait()
        woken = self._wakeup.is_set()
        self._wakeup.clear()
        return woken

    def take(self) -> tuple[bool, set[str]]:
        """Whether the tenant repository changed, and the groups whose products did, since the last take."""
        tenant, products = self._tenant, self._products
        self._tenant, self._products = False, set()
        return tenant, products
