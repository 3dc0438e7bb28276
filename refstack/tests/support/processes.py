"""Processes as ``/proc`` shows them: a parent's living children, and whether a pid still runs."""

from __future__ import annotations

from pathlib import Path


def child_processes(parent: int) -> dict[int, str]:
    """Pid to command line of the living (not zombie) direct children of ``parent``."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found[int(status.parent.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
