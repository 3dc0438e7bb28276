"""What a quickstart run can leave on this machine, found by looking at the machine, never by asking the run.

A run that was killed or interrupted cannot be trusted to say what it left, so ``stability.py`` looks for
itself between runs, in four places:

* **processes**: the script makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``), so every
  process a run starts, even one that changed session (the reference stack, ``setsid``) or cleared its
  environment (OpenBao, git), is re-parented to the script when its parent dies instead of vanishing under
  init; anything still below the script after a run has ended is a leftover. Each run's environment also
  carries a marker (:data:`MARKER_VARIABLE`) that names the run a process came from.
* **ports**: TCP sockets in LISTEN state (``/proc/net/tcp``, ``tcp6``) that were not listening before the run.
  Their owner is found through ``/proc/<pid>/fd`` (``socket:[inode]``): a socket owned by a process that is
  not the series' (another job on the machine) is noted, not counted.
* **directories**: the runs get a ``TMPDIR`` of their own, so every file or folder a run creates with
  ``tempfile`` (the world directory ``nautes-e2e-world-*`` with the stack and ``credentials.env``, scratch
  copies) is there; whatever is left in it after the run is a leftover. pytest's own ``pytest-of-<user>``
  base directory is pytest's (it keeps the last :data:`PYTEST_KEPT_BASETEMPS` sessions) and counts only if
  it holds more.
* **Docker**: containers, networks and volumes with the harness's owner label
  (:mod:`nautes_e2e.containers.labels`) that were not there before the run.

Everything here reads a ``/proc``-shaped directory given as a parameter, so the tests run it on fakes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nautes_e2e.containers.labels import OWNER, OWNER_LABEL, WORLD_LABEL

PROC = Path("/proc")
#: Set in each run's environment as ``<series>:<run>``; inherited by whatever the run starts (unless it
#: clears its environment, which the subreaper covers).
MARKER_VARIABLE = "NAUTES_E2E_STABILITY_RUN"
#: prctl(2) option number (linux/prctl.h).
PR_SET_CHILD_SUBREAPER = 36
#: ``/proc/net/tcp`` state code of a listening socket (include/net/tcp_states.h: TCP_LISTEN = 10).
TCP_LISTEN = "0A"
#: pytest's ``tmp_path_retention_count`` default: the base directories of the last three sessions are kept.
PYTEST_KEPT_BASETEMPS = 3
_PYTEST_USER_DIR = re.compile(r"pytest-of-.+")
_PYTEST_SESSION_DIR = re.compile(r"pytest-\d+")
#: The local target's world directory (fixtures/target.py: ``mkdtemp(prefix="nautes-e2e-world-")``), whose
#: name is also the Docker world label of the containers it starts.
WORLD_DIR_PREFIX = "nautes-e2e-world-"
#: Files that hold credentials in a world directory (the stack's ``credentials.env``, kubeconfigs, keys).
_CREDENTIAL_FILE = re.compile(r"credentials\.env|kubeconfig.*|.*\.key|id_.*|.*token.*")
_PEM_HEADER = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----")


@dataclass(frozen=True)
class Process:
    """One ``/proc/<pid>``: enough to tell whose it is and to name it in a report."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str
    start_ticks: int  # with the pid, identifies the process (pids are reused)
    command: str
    marker: str | None  # the value of MARKER_VARIABLE in its environment

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")

    def describe(self) -> str:
        where = f"session {self.sid}, group {self.pgid}"
        origin = f", from run {self.marker.rpartition(':')[2]}" if self.marker else ""
        return f"process {self.pid} ({_shorten(self.command)}) [{where}{origin}]"


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket."""

    address: str
    port: int
    inode: int

    @property
    def endpoint(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


@dataclass(frozen=True)
class DockerObject:
    kind: str  # container | network | volume
    name: str
    world: str | None  # the harness's world label

    def describe(self) -> str:
        return f"Docker {self.kind} {self.name} (world {self.world or '?'})"


@dataclass(frozen=True)
class Findings:
    """What one check found: ``leaks`` count against the run, ``notes`` are shown but do not."""

    leaks: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __add__(self, other: Findings) -> Findings:
        return Findings(self.leaks + other.leaks, self.notes + other.notes)


# -- processes -------------------------------------------------------------------------------------------


def become_subreaper() -> bool:
    """Make orphaned descendants this process's children (Linux ≥ 3.4); False where that is impossible."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def parse_stat(text: str) -> tuple[int, str, int, int, int, int]:
    """``/proc/<pid>/stat``: pid, state, ppid, pgrp, session, starttime (proc(5))."""
    pid = int(text.split(" ", 1)[0])
    fields = stat_fields(text)
    # fields[0] is field 3 of proc(5) (state); starttime is field 22.
    return pid, fields[0], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19])


def stat_fields(text: str) -> list[str]:
    """The fields of a ``/proc/<pid>/stat`` line after the command name, from field 3 of proc(5) (state)
    on: the name in parentheses may itself hold spaces and parentheses, so they start after the last ')'."""
    return text[text.rindex(")") + 2 :].split()


def read_processes(proc: Path = PROC, variable: str = MARKER_VARIABLE) -> dict[int, Process]:
    """Every process ``proc`` shows; one that ends while being read is left out."""
    processes: dict[int, Process] = {}
    for entry in pid_dirs(proc):
        try:
            pid, state, ppid, pgid, sid, start = parse_stat((entry / "stat").read_text())
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError, IndexError):
            continue
        marker = _marker(entry, variable)
        processes[pid] = Process(pid, ppid, pgid, sid, state, start, command or f"[{entry.name}]", marker)
    return processes


def _marker(entry: Path, variable: str) -> str | None:
    try:
        environment = (entry / "environ").read_bytes()
    except OSError:  # another user's process, or gone
        return None
    prefix = variable.encode() + b"="
    for item in environment.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode(errors="replace")
    return None


def descendants(processes: Mapping[int, Process], root: int) -> list[Process]:
    """Every process below ``root`` (not ``root`` itself), parents before children."""
    children: dict[int, list[Process]] = {}
    for process in processes.values():
        children.setdefault(process.ppid, []).append(process)
    found: list[Process] = []
    pending = [root]
    while pending:
        for child in sorted(children.get(pending.pop(), ()), key=lambda p: p.pid):
            if child.pid != root and child not in found:
                found.append(child)
                pending.append(child.pid)
    return found


def series_processes(processes: Mapping[int, Process], *, reaper: int, series: str) -> list[Process]:
    """The live processes the series left: below the reaper (the script itself), or marked as the series'."""
    below = {process.pid: process for process in descendants(processes, reaper)}
    marked = {
        process.pid: process
        for process in processes.values()
        if process.marker is not None and process.marker.partition(":")[0] == series and process.pid != reaper
    }
    return [process for _, process in sorted((below | marked).items()) if process.alive]


def reap(processes: Mapping[int, Process], reaper: int) -> None:
    """Collect the exit status of dead orphans re-parented to the reaper (they would stay zombies)."""
    for process in processes.values():
        if process.ppid == reaper and not process.alive:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(process.pid, os.WNOHANG)


def kill(leftovers: Iterable[Process], proc: Path = PROC) -> None:
    """SIGKILL each leftover that is still the same process (same pid and start time)."""
    for process in leftovers:
        try:
            _, _, _, _, _, start = parse_stat((proc / str(process.pid) / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
        if start == process.start_ticks:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(process.pid, signal.SIGKILL)


# -- ports -----------------------------------------------------------------------------------------------


def parse_listeners(text: str) -> set[Listener]:
    """The LISTEN sockets of a ``/proc/net/tcp`` or ``tcp6`` table (addresses are little-endian hex words)."""
    listeners: set[Listener] = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != TCP_LISTEN:
            continue
        address, _, port = fields[1].partition(":")
        listeners.add(Listener(_address(address), int(port, 16), int(fields[9])))
    return listeners


def _address(hexadecimal: str) -> str:
    raw = bytes.fromhex(hexadecimal)
    # The kernel prints each 32-bit word in host order (little-endian here): reverse each word.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words)


def read_listeners(proc: Path = PROC) -> set[Listener]:
    listeners: set[Listener] = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            listeners |= parse_listeners((proc / "net" / table).read_text())
    return listeners


def socket_owners(inodes: Iterable[int], proc: Path = PROC) -> dict[int, int]:
    """Socket inode → the pid holding it open (``/proc/<pid>/fd/* -> socket:[inode]``)."""
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    owners: dict[int, int] = {}
    if not wanted:
        return owners
    for entry in pid_dirs(proc):
        try:
            descriptors = list((entry / "fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            with contextlib.suppress(OSError):
                inode = wanted.get(os.readlink(descriptor))
                if inode is not None:
                    owners.setdefault(inode, int(entry.name))
    return owners


def new_listeners(
    before: Iterable[Listener], after: Iterable[Listener], owners: Mapping[int, int], ours: Iterable[int]
) -> Findings:
    """Listeners on an endpoint that was not listening before: the series' (or of no known owner) are leaks,
    another process's are notes."""
    previous = {(listener.address, listener.port) for listener in before}
    mine = set(ours)
    leaks: list[str] = []
    notes: list[str] = []
    for listener in sorted(after, key=lambda item: (item.address, item.port)):
        if (listener.address, listener.port) in previous:
            continue
        owner = owners.get(listener.inode)
        if owner is None:
            leaks.append(f"listening port {listener.endpoint} (no process found holding it)")
        elif owner in mine:
            leaks.append(f"listening port {listener.endpoint} (held by process {owner})")
        else:
            notes.append(
                f"port {listener.endpoint} opened meanwhile by process {owner}, not from this series"
            )
    return Findings(tuple(leaks), tuple(notes))


# -- directories -----------------------------------------------------------------------------------------


def entries(directory: Path) -> set[str]:
    try:
        return {entry.name for entry in directory.iterdir()}
    except FileNotFoundError:
        return set()


def new_entries(directory: Path, before: Iterable[str]) -> Findings:
    """What appeared in ``directory`` since ``before``; pytest's base directory only when it keeps more
    sessions than pytest's retention."""
    leaks: list[str] = []
    for name in sorted(entries(directory) - set(before)):
        path = directory / name
        if _PYTEST_USER_DIR.fullmatch(name) and path.is_dir():
            sessions = sorted(p.name for p in path.iterdir() if _PYTEST_SESSION_DIR.fullmatch(p.name))
            if len(sessions) <= PYTEST_KEPT_BASETEMPS:
                continue
            leaks.append(
                f"{path} keeps {len(sessions)} pytest sessions (pytest keeps {PYTEST_KEPT_BASETEMPS})"
            )
        else:
            leaks.append(f"{'directory' if path.is_dir() else 'file'} {path}{_hint(path)}")
    return Findings(tuple(leaks))


def _hint(path: Path) -> str:
    """What a left entry holds, without its content: the credential files in a folder, a PEM file's header
    line (``-----BEGIN CERTIFICATE-----``, ``-----BEGIN PRIVATE KEY-----``: never the data)."""
    if path.is_dir():
        found = sorted(
            str(p.relative_to(path))
            for p in path.rglob("*")
            if _CREDENTIAL_FILE.fullmatch(p.name) and p.is_file()
        )
        return f" (holds {', '.join(found[:5])}{', ...' if len(found) > 5 else ''})" if found else ""
    try:
        with path.open("rb") as file:
            first = file.readline(80).strip()
    except OSError:
        return ""
    return f" ({first.decode()})" if _PEM_HEADER.fullmatch(first) else ""


# -- Docker ----------------------------------------------------------------------------------------------


class DockerInventory(Protocol):
    def labelled(self) -> set[DockerObject]:
        """Every container, network and volume carrying the harness's owner label."""


class EngineInventory:
    """The Docker engine's labelled objects, through the Docker SDK the harness uses."""

    def __init__(self, client: Any) -> None:  # docker.DockerClient (the SDK has no type hints)
        self._client = client

    def labelled(self) -> set[DockerObject]:
        selector = {"label": f"{OWNER_LABEL}={OWNER}"}
        found: set[DockerObject] = set()
        for kind, objects in (
            ("container", self._client.containers.list(all=True, filters=selector)),
            ("network", self._client.networks.list(filters=selector)),
            ("volume", self._client.volumes.list(filters=selector)),
        ):
            for item in objects:
                labels = (item.attrs.get("Labels") or item.attrs.get("Config", {}).get("Labels")) or {}
                found.add(DockerObject(kind, str(item.name), labels.get(WORLD_LABEL)))
        return found


def docker_inventory() -> tuple[DockerInventory | None, str]:
    """The engine's inventory, or None and why Docker is not looked at."""
    try:
        import docker  # the harness's own dependency

        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # any reason the engine cannot be reached (no socket, no permission, ...)
        return None, f"Docker not checked: {type(error).__name__}: {str(error)[:120]}"
    return EngineInventory(client), "Docker checked (labelled containers, networks, volumes)"


def new_docker_objects(
    before: Iterable[DockerObject], after: Iterable[DockerObject], worlds_seen: Iterable[str]
) -> Findings:
    """Labelled objects that were not there before: the series' when their world is one of its runs' world
    directories, or a named world (k3d/kind); another local run's otherwise (a note)."""
    seen = set(worlds_seen)
    leaks: list[str] = []
    notes: list[str] = []
    for item in sorted(set(after) - set(before), key=lambda o: (o.kind, o.name)):
        world = item.world or ""
        if world in seen or not world.startswith(WORLD_DIR_PREFIX):
            leaks.append(item.describe())
        else:
            notes.append(f"{item.describe()} appeared meanwhile, not from this series")
    return Findings(tuple(leaks), tuple(notes))


def pid_dirs(proc: Path) -> list[Path]:
    """The process directories of a ``/proc``-shaped directory (none when it cannot be read)."""
    try:
        return [entry for entry in proc.iterdir() if entry.name.isdigit()]
    except OSError:
        return []


def _shorten(command: str, limit: int = 140) -> str:
    return command if len(command) <= limit else command[: limit - 1] + "…"
