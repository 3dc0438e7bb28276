"""A stopping stack ends within a deadline, however its stop goes.

The orderly stop (:meth:`ReferenceStack.stop`, then ``asyncio.run`` cancelling what is left and joining
its default executor) awaits things the stack does not control: a child's exit and the end of its output
pipe, an HTTP server's open connections, a thread blocked in a ``git`` call. Seen under heavy load: a stack
whose parent had been SIGKILLed noticed it, began to stop, and then sat idle in its event loop for good,
its signal handlers setting an event already set — a process nobody would ever end, keeping ports, files
and a token in memory.

:class:`StopDeadline` is the backstop, on a thread of its own so a stuck loop cannot hold it up: armed when
the stop begins, it fires after :data:`STOP_DEADLINE_SECONDS` (or at once, on a second SIGINT/SIGTERM/
SIGHUP: the user's "stop now"). Firing writes every thread's stack to the log (what hung, for whoever
reads it), kills the stack's children outright, releases the world directory as a normal stop would, and
ends the process with :data:`STOP_HUNG_EXIT`.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

#: Long enough for the slowest orderly stop measured (OpenBao's 5 s grace included), short enough that a
#: harness waiting on the stack's exit does not give up first.
STOP_DEADLINE_SECONDS = 20.0
#: Exit status of a stack whose stop was cut short (1 is a failed start, 2 a usage error).
STOP_HUNG_EXIT = 3


class _Releasable(Protocol):
    def release(self) -> None: ...


class StopDeadline:
    """Ends the process if the stop has not finished ``seconds`` after :meth:`arm` (or on :meth:`fire`)."""

    def __init__(self, world: _Releasable, log_path: Path, seconds: float | None = None) -> None:
        """``seconds`` defaults to :data:`STOP_DEADLINE_SECONDS` as it is when the countdown starts."""
        self._world = world
        self._log_path = log_path
        self._seconds = seconds
        self._timer: threading.Timer | None = None
        self._firing = threading.Lock()

    def arm(self) -> None:
        """Start the countdown (once; later calls keep the first one's)."""
        if self._timer is None:
            if self._seconds is None:
                self._seconds = STOP_DEADLINE_SECONDS
            self._timer = threading.Timer(self._seconds, self.fire, kwargs={"why": "deadline"})
            self._timer.daemon = True
            self._timer.start()

    def disarm(self) -> None:
        """The stop finished in time: no backstop needed."""
        if self._timer is not None:
            self._timer.cancel()

    def fire(self, why: str = "second signal") -> None:
        """Dump, kill the children, release the directory, exit: never returns."""
        if not self._firing.acquire(blocking=False):
            return  # the other trigger is already ending the process
        log.error(
            "stop cut short (%s, %s s deadline): every thread's stack follows, then the stack's "
            "children are killed",
            why,
            self._seconds,
        )
        logging.shutdown()  # flush what the handlers hold before faulthandler writes behind them
        try:
            with self._log_path.open("a") as sink:
                faulthandler.dump_traceback(file=sink, all_threads=True)
        except OSError:
            pass  # the directory may be gone already: the exit matters more than the dump
        kill_children()
        try:
            self._world.release()
        finally:
            os._exit(STOP_HUNG_EXIT)


def kill_children(pid: int | None = None) -> list[int]:
    """SIGKILL every live child of ``pid`` (this process by default); return their pids.

    Children are found by their parent pid in ``/proc`` (no ``CONFIG_PROC_CHILDREN`` needed); elsewhere
    there is nothing to find and the children's own parent-death signal is all that is left."""
    parent = os.getpid() if pid is None else pid
    killed = []
    for child in _children_of(parent):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(child)
    return killed


def _children_of(parent: int) -> list[int]:
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    children = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after its last ')'.
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and fields[1] == str(parent):
            children.append(int(entry.name))
    return children
