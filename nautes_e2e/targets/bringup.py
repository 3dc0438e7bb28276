"""How a target reports its bring-up: one step at a time, each with the facts it established.

Real targets (k3d, kind, the local target with service containers) take minutes to bring a world up; the
run reports each step as a stage with its timing (design §3), so a slow or failed bring-up is as visible
as a failed quickstart stage. Targets sit below the stage recorder in the layers, so they see only this
protocol; the ``world`` fixture adapts the recorder to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class StepLog(Protocol):
    """What one bring-up step may say about itself (a :class:`~nautes_e2e.stages.StageContext` is one)."""

    def fact(self, key: str, value: object) -> None: ...

    def note(self, text: str) -> None: ...


class BringUp(Protocol):
    """Opens one reported step; an exception inside is recorded as the step's failure and re-raised."""

    def step(self, name: str) -> AbstractContextManager[StepLog]: ...


class _Unreported:
    """A step nobody records (a target used outside a run: the CLI, a test)."""

    def fact(self, key: str, value: object) -> None:
        del key, value

    def note(self, text: str) -> None:
        del text


class UnreportedBringUp:
    """The bring-up of a target nobody reports on."""

    @contextmanager
    def step(self, name: str) -> Iterator[StepLog]:
        del name
        yield _Unreported()


UNREPORTED = UnreportedBringUp()
