"""Reading a repository's history the way GitLab's commit and blame APIs present it: blame ranges, a
commit's per-file diffs, the refs that contain a commit, and every commit on any ref.

Separate from ``repository.py`` (refs, trees, blobs, writing), which the push path needs; these reads serve
only the REST API, each with the real ``git`` on the bare repository.
"""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass

from nautes_refstack.gitlab.repository import BareRepository, CommitInfo

_BLAME_HEADER = re.compile(r"^([0-9a-f]{40}) \d+ \d+")


@dataclass(frozen=True)
class FileDiff:
    """One file of a commit's diff, as GitLab's ``Entities::Diff`` has it."""

    old_path: str
    new_path: str
    a_mode: str
    b_mode: str
    new_file: bool
    renamed_file: bool
    deleted_file: bool
    diff: str


def blame(repository: BareRepository, commit_id: str, path: str) -> list[tuple[CommitInfo, list[str]]]:
    """Runs of consecutive lines last changed by one commit (``Gitlab::Blame#groups``), top to bottom."""
    out = repository.git("blame", "--line-porcelain", commit_id, "--", path).decode(errors="replace")
    runs: list[tuple[str, list[str]]] = []
    current = ""
    for line in out.splitlines():
        if line.startswith("\t"):
            if runs and runs[-1][0] == current:
                runs[-1][1].append(line[1:])
            else:
                runs.append((current, [line[1:]]))
        elif match := _BLAME_HEADER.match(line):
            current = match.group(1)
    commits = {c.id: c for c in repository.commits(list(dict.fromkeys(sha for sha, _ in runs)))}
    return [(commits[sha], lines) for sha, lines in runs]


def refs_containing(
    repository: BareRepository, commit_id: str, kinds: tuple[str, ...]
) -> list[tuple[str, str]]:
    """``(type, name)`` of each branch and/or tag whose tip contains ``commit_id`` (``type`` is ``branch`` or
    ``tag``, as ``GET /repository/commits/:sha/refs`` lists them)."""
    prefixes = {"branch": "refs/heads/", "tag": "refs/tags/"}
    wanted = [prefixes[kind] for kind in kinds]
    out = repository.git("for-each-ref", f"--contains={commit_id}", "--format=%(refname)", *wanted)
    found = []
    for ref in out.decode(errors="replace").splitlines():
        kind = next(k for k, prefix in prefixes.items() if ref.startswith(prefix))
        found.append((kind, ref.removeprefix(prefixes[kind])))
    return found


def commit_diff(repository: BareRepository, commit_id: str) -> list[FileDiff]:
    """The commit's changes against its first parent (all of it for a root commit), file by file; each
    ``diff`` is the patch from its first ``@@`` on, without git's ``diff --git``/``---``/``+++`` header."""
    raw = repository.git("diff-tree", "--root", "-r", "--no-commit-id", "--no-renames", "-z", commit_id)
    fields = raw.decode(errors="replace").split("\0")
    entries = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if meta.startswith(":"):
            a_mode, b_mode, _, _, status = meta[1:].split(" ")
            entries.append((path, a_mode, b_mode, status))
    patch = repository.git("diff-tree", "--root", "-r", "--no-commit-id", "--no-renames", "-p", commit_id)
    bodies = re.split(r"^diff --git .*$\n?", patch.decode(errors="replace"), flags=re.MULTILINE)[1:]
    diffs = []
    for (path, a_mode, b_mode, status), body in zip(entries, bodies, strict=False):
        hunk_start = body.find("@@")
        diffs.append(
            FileDiff(
                old_path=path,
                new_path=path,
                a_mode=a_mode,
                b_mode=b_mode,
                new_file=status == "A",
                renamed_file=False,
                deleted_file=status == "D",
                diff=body[hunk_start:] if hunk_start >= 0 else "",
            )
        )
    return diffs


def is_signed(repository: BareRepository, commit_id: str) -> bool:
    """Whether the commit object carries a signature (a ``gpgsig`` header)."""
    header = repository.git("cat-file", "commit", commit_id).split(b"\n\n", 1)[0]
    return any(line.startswith(b"gpgsig") for line in header.splitlines())


def blob_by_id(repository: BareRepository, blob_id: str) -> bytes | None:
    """The blob ``blob_id`` names (a full or abbreviated id); ``None`` if it is no blob of this repository."""
    if not re.fullmatch(r"[0-9a-f]{4,40}", blob_id):
        return None
    kind = repository.git("cat-file", "-t", blob_id, check=False).decode().strip()
    return repository.git("cat-file", "blob", blob_id) if kind == "blob" else None


def snapshot(repository: BareRepository) -> bytes:
    """A tar of the bare repository as it is on disk (``GET /projects/:id/snapshot``: gitlab
    ``lib/api/project_snapshots.rb``, Gitaly's ``GetSnapshot``), for an administrator's backup."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(repository.path.rglob("*")):
            if path.is_file() and not path.name.endswith(".lock"):
                archive.add(path, arcname=str(path.relative_to(repository.path)), recursive=False)
    return buffer.getvalue()
