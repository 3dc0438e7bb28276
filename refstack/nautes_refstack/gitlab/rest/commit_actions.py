"""The ``actions`` of ``POST /projects/:id/repository/commits``, checked and turned into file changes.

Grape checks each action's shape first (``{"error": "actions[0][action] does not have a valid value"}``,
gitlab ``lib/api/commits.rb``); then ``Files::MultiService`` and Gitaly's ``UserCommitFiles`` check each
against the parent commit, in order, with GitLab's messages ("A file with this name already exists", "A file
with this name doesn't exist", "The file has changed since you started editing it: <path>").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nautes_refstack.gitlab.repository import BareRepository, FileChange
from nautes_refstack.gitlab.rest import errors
from nautes_refstack.gitlab.rest.commit_writes import decoded

ACTIONS = ("create", "update", "move", "delete", "chmod")
_TRUE = (True, "true", "1", 1)


def planned_changes(
    repository: BareRepository, parent: str | None, actions: list[dict[str, Any]]
) -> list[FileChange]:
    """The changes ``actions`` make to ``parent`` (``None``: an empty repository), later actions seeing
    what earlier ones did."""
    if not actions:
        raise errors.missing("actions")
    for index, action in enumerate(actions):
        _check_shape(index, action)
    files: dict[str, FileChange | None] = {}  # path -> its content after the actions so far (None: removed)
    changes: list[FileChange] = []

    def current(path: str) -> FileChange | None:
        if path in files:
            return files[path]
        blob = repository.read_blob(parent, path) if parent else None
        return FileChange(path, blob.data, blob.executable) if blob else None

    for action in actions:
        path = str(action["file_path"])
        existing = current(path)
        kind = action["action"]
        _check_last_commit(repository, parent, action, path)
        if kind == "create" and existing is not None:
            raise errors.bad_request("A file with this name already exists")
        if kind in ("update", "delete", "chmod") and existing is None:
            raise errors.bad_request("A file with this name doesn't exist")
        new = _applied(kind, action, path, existing, current)
        for change in new:
            files[change.path] = change if change.content is not None else None
        changes.extend(new)
    return changes


def _applied(
    kind: str,
    action: dict[str, Any],
    path: str,
    existing: FileChange | None,
    current: Callable[[str], FileChange | None],
) -> list[FileChange]:
    executable = action.get("execute_filemode") in _TRUE
    content = decoded(str(action.get("content") or ""), action.get("encoding"))
    if kind == "delete":
        return [FileChange(path, None)]
    if kind == "chmod":
        assert existing is not None
        return [FileChange(path, existing.content, executable)]
    if kind == "move":
        previous_path = str(action.get("previous_path") or "")
        previous = current(previous_path) if previous_path else None
        if previous is None:
            raise errors.bad_request("A file with this name doesn't exist")
        if existing is not None and previous_path != path:
            raise errors.bad_request("A file with this name already exists")
        moved = content if action.get("content") is not None else previous.content
        return [FileChange(previous_path, None), FileChange(path, moved, previous.executable)]
    keep_mode = existing.executable if existing and "execute_filemode" not in action else executable
    return [FileChange(path, content, keep_mode)]


def _check_shape(index: int, action: dict[str, Any]) -> None:
    name = f"actions[{index}]"
    if "action" not in action:
        raise errors.missing(f"{name}[action]")
    if action["action"] not in ACTIONS:
        raise errors.ApiError(400, {"error": f"{name}[action] does not have a valid value"})
    if not action.get("file_path"):
        raise errors.missing(f"{name}[file_path]")
    if action.get("encoding", "text") not in ("text", "base64"):
        raise errors.ApiError(400, {"error": f"{name}[encoding] does not have a valid value"})


def _check_last_commit(
    repository: BareRepository, parent: str | None, action: dict[str, Any], path: str
) -> None:
    last_commit_id = action.get("last_commit_id")
    if last_commit_id and parent and last_commit_id != repository.last_commit_touching(parent, path):
        raise errors.bad_request(f"The file has changed since you started editing it: {path}")
