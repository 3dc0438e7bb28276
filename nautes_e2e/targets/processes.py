"""Process trees, as Linux's ``/proc`` shows them: what a started world runs, found and killed to the last.

A process group is not enough to stop a world: the reference stack runs task steps in sessions of their own
(as a kubelet runs containers), and those leave the stack's group. Its descendants are found by parent pid
while it still runs, and known by their start time afterwards (a pid alone may have been reused by then).
Elsewhere than Linux only the process group is known.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Process:
    """One process: its pid and its start time (clock ticks since boot; ``""`` where unknown)."""

    pid: int
    start: str

    def alive(self) -> bool:
        """Whether this very process still runs (and is not a zombie waiting to be reaped)."""
        if not PROC.is_dir():
            return _exists(self.pid)
        stat = _stat(self.pid)
        return stat is not None and stat[0] != "Z" and (not self.start or stat[19] == self.start)


def process(pid: int) -> Process:
    """``pid`` with its start time, to tell it apart from a later process given the same pid."""
    stat = _stat(pid)
    return Process(pid, stat[19] if stat is not None else "")


def tree(root: int) -> list[Process]:
    """``root`` and every process it started, and they started, in that order (children after parents)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    found = [process(root)]
    for current in found:
        found += [process(child) for child in children.get(current.pid, ())]
    return found


def kill(processes: list[Process]) -> None:
    """SIGKILL each process that still runs, and its process group unless that is this process's own.
    Needs no lock and never waits: safe in a signal handler."""
    own_group = os.getpgrp()
    for target in processes:
        if not target.alive():
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            group = os.getpgid(target.pid)
            if group != own_group:
                os.killpg(group, signal.SIGKILL)
            os.kill(target.pid, signal.SIGKILL)


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name: state, ppid, ... (``None``: no such
    process, or no ``/proc``)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
