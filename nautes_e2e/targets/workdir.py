"""A run's private working directory for its world (``$TMPDIR/nautes-e2e-world-*``), and the sweep of the
ones that killed runs left behind.

A run removes its directory when it ends: passed, failed, Ctrl-C or SIGTERM. A run killed outright
(SIGKILL, the OOM killer) cannot: its reference stack stops by itself (``--exit-with-parent``), but the
directory stays, with the world's credentials in it. So every directory names its owner in ``.owner``
(pid and start time), and the processes started for the world in ``.processes``; the next run, like
``nautes-e2e world prune``, removes each directory whose owner is gone, after killing those processes
if they still run (a stack that missed its parent's death). A directory kept on purpose (``--keep-env``)
is disowned and never swept.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from nautes_e2e.targets import processes

PREFIX = "nautes-e2e-world-"
OWNER_FILE = ".owner"
PROCESSES_FILE = ".processes"


def make_work_dir(parent: Path | None = None) -> Path:
    """A new private directory (0700) under ``parent`` (default: the temporary directory), owned by this
    process."""
    work_dir = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    me = processes.process(os.getpid())
    (work_dir / OWNER_FILE).write_text(f"{me.pid} {me.start}\n")
    return work_dir


def record_process(work_dir: Path, pid: int) -> None:
    """Note a process started for the world in ``work_dir`` (the stack): a sweep kills it, and all it
    started, if it outlives the run."""
    started = processes.process(pid)
    with (work_dir / PROCESSES_FILE).open("a") as file:
        file.write(f"{started.pid} {started.start}\n")


def disown(work_dir: Path) -> None:
    """Keep ``work_dir`` for good (``--keep-env``): no sweep removes it."""
    (work_dir / OWNER_FILE).unlink(missing_ok=True)


def holds_files(work_dir: Path) -> bool:
    """Whether the world left anything in ``work_dir`` (the harness's own notes aside)."""
    return any(entry.name not in (OWNER_FILE, PROCESSES_FILE) for entry in work_dir.iterdir())


def sweep_orphaned(parent: Path | None = None, *, dry_run: bool = False) -> list[Path]:
    """Remove every world directory under ``parent`` (default: the temporary directory) whose owner is
    gone, killing first whatever still runs in it (a stack that missed its parent's death). Directories
    of live runs, kept ones, and ones without an owner stamp (not made by this harness) are left alone.
    Returns the directories removed (``dry_run``: that would be, touching nothing)."""
    base = Path(parent or tempfile.gettempdir())
    swept: list[Path] = []
    for work_dir in sorted(base.glob(PREFIX + "*")):
        owner = _owner(work_dir)
        if owner is None or owner.alive():
            continue
        if dry_run:
            swept.append(work_dir)
            continue
        for started in _recorded(work_dir, PROCESSES_FILE):
            if started.alive():
                processes.kill(processes.tree(started.pid))
        shutil.rmtree(work_dir, ignore_errors=True)
        swept.append(work_dir)
    return swept


def _owner(work_dir: Path) -> processes.Process | None:
    owners = _recorded(work_dir, OWNER_FILE)
    return owners[0] if owners else None


def _recorded(work_dir: Path, name: str) -> list[processes.Process]:
    """The processes a note in ``work_dir`` names, one ``pid start`` a line (none if it cannot be read)."""
    try:
        lines = (work_dir / name).read_text().splitlines()
    except OSError:
        return []
    found: list[processes.Process] = []
    for line in lines:
        pid, _, start = line.strip().partition(" ")
        if pid.isdigit():
            found.append(processes.Process(int(pid), start))
    return found
