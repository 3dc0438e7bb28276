"""What every target is: a context manager that brings a world up (or just reads it) and takes it down.

The one guarantee the stages and the fixtures rely on lives here, not in each target: a start that fails
leaves nothing running (``start`` stops what ``_start`` got going before it re-raises), and ``stop`` may be
called any number of times.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType

from nautes_e2e.targets.world import World


class Target(ABC):
    """A world for the stages. Use it as ``with target as world: ...`` (or ``start()``/``stop()``)."""

    #: The directory of the world's state when the world outlives the run for ``--reuse-env`` (kept by
    #: ``stop`` under ``--keep-env``, or reused); the run's stages are saved there for ``--from-stage``.
    kept_state: Path | None = None

    @abstractmethod
    def _start(self) -> World:
        """Bring the world up (or read it); may raise :class:`~nautes_e2e.targets.TargetError`. Need not
        clean up after itself on failure: :meth:`start` calls :meth:`stop`."""

    @abstractmethod
    def stop(self) -> None:
        """Take down whatever this target started; does nothing when nothing runs (idempotent)."""

    def stack_bugs(self) -> list[str]:
        """The bugs of the embedded reference stack this world met, as the stack's own log names them (a
        controller that died, an exception one survived): the world was then not the one the stack meant,
        and the stages' verdicts on it prove nothing. Only a target that runs the stack can tell; read after
        :meth:`stop`, when the log is complete."""
        return []

    def start(self) -> World:
        """The world, ready for the stages; on any failure (Ctrl-C included) nothing is left running."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> World:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
