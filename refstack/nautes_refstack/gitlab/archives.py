"""A commit's files as an archive, and the merge base of commits, with the real ``git``.

GitLab's archive formats (``Gitlab::PathRegex.archive_formats_regex``): ``tar.gz``/``tgz``/``gz``,
``tar.bz2``/``tbz``/``tbz2``/``tb2``/``bz2``, ``tar`` and ``zip``. ``git archive`` writes the tar, gzip and
zip forms itself (reproducibly: entries carry the commit's time); bzip2 is applied here to its tar.
"""

from __future__ import annotations

import bz2

from nautes_refstack.gitlab.repository import BareRepository

_GZIP = ("tar.gz", "tgz", "gz")
_BZIP2 = ("tar.bz2", "tbz", "tbz2", "tb2", "bz2")
ARCHIVE_FORMATS = (*_GZIP, *_BZIP2, "tar", "zip")


def archive(repository: BareRepository, commit_id: str, extension: str, prefix: str, path: str) -> bytes:
    """``commit_id``'s files (under ``path`` if given) in ``prefix/``, in the format ``extension`` names."""
    git_format = "tar.gz" if extension in _GZIP else "zip" if extension == "zip" else "tar"
    args = ["archive", f"--format={git_format}", f"--prefix={prefix}/", commit_id]
    data = repository.git(*args, *(["--", path] if path else []))
    return bz2.compress(data) if extension in _BZIP2 else data


def merge_base(repository: BareRepository, commit_ids: list[str]) -> str | None:
    """``git merge-base`` of the commits (as Gitaly's ``FindMergeBase`` asks it); ``None`` if they share
    no history."""
    out = repository.git("merge-base", *commit_ids, check=False).decode().strip()
    return out.splitlines()[0] if out else None
