"""The change tracking the runtime operators and the management sync share: a push or a sync marks what
changed and wakes the loop at once; a period without one ends the wait as a requeue; a take hands over
each change once."""

from __future__ import annotations

import asyncio

from nautes_refstack.runtime.repository_changes import RepositoryChanges

TENANT = "nautes/management"


def test_the_first_round_reads_the_tenant_repository_at_once() -> None:
    changes = RepositoryChanges(TENANT)
    assert asyncio.run(changes.wait(5)) is True
    assert changes.take() == (True, set())
    assert changes.take() == (False, set())


def test_a_product_change_wakes_the_loop_and_is_handed_over_once() -> None:
    changes = RepositoryChanges(TENANT)
    changes.take()

    async def woken_by_a_push() -> bool:
        waiting = asyncio.create_task(changes.wait(5))
        await asyncio.sleep(0)
        changes.note("demo-a/default.project")
        return await waiting

    assert asyncio.run(woken_by_a_push()) is True
    assert changes.take() == (False, {"demo-a"})
    assert changes.take() == (False, set())


def test_a_repository_it_does_not_follow_neither_marks_nor_wakes() -> None:
    changes = RepositoryChanges(TENANT)
    asyncio.run(changes.wait(5))
    changes.take()
    changes.note("demo-a/demo-a-deployment")
    assert asyncio.run(changes.wait(0.01)) is False, "the period ran out: a requeue"
    assert changes.take() == (False, set())


def test_a_requeue_marks_the_tenant_repository_for_the_next_round() -> None:
    changes = RepositoryChanges(TENANT)
    changes.take()
    changes.mark_tenant()
    assert changes.take() == (True, set())
