"""Processes as ``/proc`` shows them: a parent's living children, and whether a pid still runs."""

from __future__ import annotations

import os
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


def processes_mentioning(text: str) -> list[str]:
    """Living processes (zombies aside) whose command line, environment or working directory holds
    ``text`` (a stack's directory: OpenBao's HOME is in it), as ``pid: argv[0]``."""
    needle = text.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            cwd = os.readlink(entry / "cwd").encode()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in cmdline or needle in environ or cwd.startswith(needle):
            program = cmdline.split(b"\0")[0].decode(errors="replace")
            found.append(f"{entry.name}: {program}")
    return found
