"""Whether a clone's view of its remote is still the remote's: its branches, asked as ``git fetch`` asks.

A fetch over smart HTTP starts with ``GET <repo>/info/refs?service=git-upload-pack`` and, with protocol v0,
asks for nothing more when every advertised branch is already where the clone's remote-tracking branch
is (https://git-scm.com/docs/http-protocol "Smart Clients", git ``transport-helper.c``/``fetch-pack.c``).
:func:`advertised_branches` makes that first request with the caller's ``Authorization`` header and
:func:`tracking_branches` reads the clone's ``refs/remotes/origin/*`` from its loose refs and
``packed-refs`` (git ``refs/files-backend.c``), so the answer "a fetch would change nothing" costs no git
process. Anything unexpected is ``None`` (not known): the caller then runs the real fetch, whose outcome
and error text are git's.

The credentials are only ever in the request's header: no URL, exception or log carries them.
"""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

#: The smart HTTP answer's media type (a dumb server answers something else: not known then).
ADVERTISEMENT = "application/x-git-upload-pack-advertisement"
HEADS = "refs/heads/"
TRACKING = "refs/remotes/origin/"
_OBJECT_NAME = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_SERVICE_LINE = b"# service=git-upload-pack\n"


async def advertised_branches(url: str, authorization: str) -> dict[str, str] | None:
    """Branch name -> commit as the remote at ``url`` advertises them to the holder of ``authorization``
    (an ``Authorization`` header value) right now; ``None`` unless a 200 smart HTTP v0 advertisement."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{url}/info/refs",
                params={"service": "git-upload-pack"},
                headers={"Authorization": authorization},
                allow_redirects=False,  # git re-asks a redirect's target; the real fetch does that
            ) as response,
        ):
            if response.status != 200 or response.content_type != ADVERTISEMENT:
                return None
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None  # not known; nothing of the request (its header) is kept
    return branches_of(body)


def branches_of(advertisement: bytes) -> dict[str, str] | None:
    """The ``refs/heads/*`` of a v0 ``git-upload-pack`` advertisement (pkt-lines: the service line, a
    flush, one ``<object> <ref>`` line each, capabilities after a NUL on the first, a flush); ``None`` when
    it is anything else."""
    lines = _pkt_lines(advertisement)
    if lines is None or len(lines) < 3 or lines[:2] != [_SERVICE_LINE, None] or lines[-1] is not None:
        return None
    branches: dict[str, str] = {}
    for line in lines[2:-1]:
        if line is None:
            return None
        reference, _, _capabilities = line.rstrip(b"\n").partition(b"\0")
        name, space, ref = reference.decode(errors="replace").partition(" ")
        if not space or not _OBJECT_NAME.match(name):
            return None
        if ref.startswith(HEADS):
            branches[ref.removeprefix(HEADS)] = name
    return branches


def _pkt_lines(data: bytes) -> list[bytes | None] | None:
    """pkt-line payloads, ``None`` for a flush (``0000``); ``None`` when ``data`` is not pkt-lines."""
    lines: list[bytes | None] = []
    position = 0
    while position < len(data):
        try:
            length = int(data[position : position + 4], 16)
        except ValueError:
            return None
        if length == 0:
            lines.append(None)
            position += 4
        elif 4 < length <= len(data) - position:
            lines.append(data[position + 4 : position + length])
            position += length
        else:
            return None
    return lines


def tracking_branches(git_dir: Path) -> dict[str, str] | None:
    """Branch name -> commit of the clone's ``refs/remotes/origin/*`` (``origin/HEAD``, a symbolic ref, is
    not a branch of the remote); ``None`` when they cannot be read as the files backend stores them."""
    refs = _references(git_dir, TRACKING)
    if refs is None:
        return None
    return {name.removeprefix(TRACKING): value for name, value in refs.items() if name != f"{TRACKING}HEAD"}


def local_branches(git_dir: Path) -> dict[str, str] | None:
    """Branch name -> commit of the clone's own ``refs/heads/*``; ``None`` when they cannot be read."""
    refs = _references(git_dir, HEADS)
    return None if refs is None else {name.removeprefix(HEADS): value for name, value in refs.items()}


def head_branch(git_dir: Path) -> str | None:
    """The branch ``HEAD`` is on, ``None`` when it is detached or unreadable."""
    try:
        head = (git_dir / "HEAD").read_text()
    except OSError:
        return None
    target = head.removeprefix("ref: ").strip()
    return target.removeprefix(HEADS) if head.startswith("ref: ") and target.startswith(HEADS) else None


def _references(git_dir: Path, prefix: str) -> dict[str, str] | None:
    """Refs under ``prefix`` (a directory of refs): ``packed-refs`` overridden by loose files, symbolic
    refs left out; ``None`` when they are not stored that way or cannot be read."""
    if (git_dir / "reftable").exists():
        return None
    refs = _packed(git_dir, prefix)
    if refs is None:
        return None
    try:
        for path in (git_dir / prefix).rglob("*"):
            if not path.is_file():
                continue
            value = path.read_text().strip()
            ref = path.relative_to(git_dir).as_posix()
            if value.startswith("ref: "):
                refs.pop(ref, None)
            elif _OBJECT_NAME.match(value):
                refs[ref] = value
            else:
                return None
    except OSError:
        return None
    return refs


def _packed(git_dir: Path, prefix: str) -> dict[str, str] | None:
    """The refs under ``prefix`` that ``packed-refs`` holds (lines ``<object> <ref>``, ``^`` peeled)."""
    try:
        packed = (git_dir / "packed-refs").read_text()
    except FileNotFoundError:
        return {}
    except OSError:
        return None
    refs: dict[str, str] = {}
    for line in packed.splitlines():
        if line.startswith(("#", "^")):
            continue
        name, _, ref = line.partition(" ")
        if not _OBJECT_NAME.match(name):
            return None
        if ref.startswith(prefix):
            refs[ref] = name
    return refs
