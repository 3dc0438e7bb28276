"""What a stage pushed is what GitLab serves: the branch is at the pushed commit, which holds exactly the
pushed files, byte for byte.

``git push`` exiting 0 says the server accepted the update, not that the branch still points there when
the pipeline clones it (a pull mirror or another writer can move it back) nor that the tree is what the
user meant. GitLab's tree listing gives each file's git blob id, the SHA-1 of ``blob <size>\\0<content>``
(git ``hash-object``), so one listing compares every byte of every file without downloading them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from nautes_e2e.suite import GitLabClient, StageContext


def git_blob_id(content: bytes) -> str:
    """The id git gives a file's content (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def verify_served(
    stage: StageContext,
    gitlab: GitLabClient,
    project: str,
    branch: str,
    commit: str,
    files: Mapping[str, bytes],
) -> None:
    """Fail the stage unless ``branch`` of ``project`` is at ``commit`` and that commit holds ``files`` and
    nothing else, each with the content pushed."""
    head = gitlab.branch_head(project, branch)
    if head != commit:
        stage.fail(
            f"{branch} of {project} is at {head}, not at the commit just pushed ({commit}): git accepted the "
            "push, but GitLab does not serve it"
        )
    served = gitlab.tree_blobs(project, commit)
    expected = {path: git_blob_id(content) for path, content in files.items()}
    missing = sorted(set(expected) - set(served))
    extra = sorted(set(served) - set(expected))
    changed = sorted(path for path in expected if path in served and served[path] != expected[path])
    problems = [
        f"{label} {paths}"
        for label, paths in (("lacks", missing), ("holds files not pushed:", extra), ("changed", changed))
        if paths
    ]
    if problems:
        stage.fail(f"GitLab's {project}@{commit[:12]} " + "; ".join(problems))
