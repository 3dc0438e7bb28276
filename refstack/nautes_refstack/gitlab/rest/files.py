"""The repository files API: read a file at a ref (its metadata also as ``X-Gitlab-*`` headers, on GET and
HEAD), blame it, and create/update/delete one with a real commit (``commit_writes``).

Follows gitlab ``lib/api/files.rb``; https://docs.gitlab.com/ee/api/repository_files.html.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.history import blame
from nautes_refstack.gitlab.model import AccessLevel
from nautes_refstack.gitlab.repository import BareRepository, Blob, FileChange
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.commit_writes import author_of, commit_to_branch, decoded, parent_of
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.lookup import project_with_role, readable_project
from nautes_refstack.gitlab.rest.params import Params

routes = web.RouteTableDef()
FILES = "/api/v4/projects/{id}/repository/files/{file_path:.+}"


async def _read(request: web.Request, ref: str | None) -> tuple[str, Blob, BareRepository]:
    """The commit ``ref`` names (the default branch if ``None``), the file in it, and the repository."""
    user, project = readable_project(request)
    state = context(request).state
    if not permissions.can_download_code(state, user, project):
        raise errors.forbidden()
    repository = state.repository(project)
    commit = await asyncio.to_thread(repository.resolve_commit, ref or project.default_branch)
    if commit is None:
        raise errors.not_found("Commit")
    blob = await asyncio.to_thread(repository.read_blob, commit, request.match_info["file_path"])
    if blob is None:
        raise errors.not_found("File")
    return commit, blob, repository


def _blob_data(ref: str | None, commit: str, blob: Blob, path: str, last_commit: str) -> dict[str, object]:
    """GitLab's ``blob_data`` (gitlab ``lib/api/files.rb``): the file's metadata, the JSON reply's fields
    and, as ``X-Gitlab-*`` headers, what a HEAD request or a raw read answers."""
    return {
        "file_name": path.rsplit("/", 1)[-1],
        "file_path": path,
        "size": len(blob.data),
        "encoding": "base64",
        "content_sha256": hashlib.sha256(blob.data).hexdigest(),
        "ref": ref,
        "blob_id": blob.id,
        "commit_id": commit,
        "last_commit_id": last_commit,
        "execute_filemode": blob.executable,
    }


def _headers(data: dict[str, object]) -> dict[str, str]:
    """``set_http_headers`` (gitlab ``lib/api/helpers.rb``): ``X-Gitlab-`` and the key's words capitalised
    (``last_commit_id`` -> ``X-Gitlab-Last-Commit-Id``), each value as Ruby's ``to_s`` prints it."""
    return {
        "X-Gitlab-" + "-".join(w.capitalize() for w in key.split("_")): _ruby_s(v) for key, v in data.items()
    }


def _ruby_s(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def _metadata(request: web.Request, ref: str | None) -> tuple[dict[str, object], Blob, str]:
    commit, blob, repository = await _read(request, ref)
    path = request.match_info["file_path"]
    last_commit = await asyncio.to_thread(repository.last_commit_touching, commit, path)
    return _blob_data(ref, commit, blob, path, last_commit), blob, commit


def _required_ref(request: web.Request) -> str:
    ref = request.query.get("ref")
    if not ref:
        raise errors.missing("ref")
    return ref


@routes.get(FILES + "/raw")
async def get_raw_file(request: web.Request) -> web.Response:
    """``ref`` is optional here (the default branch); GET and HEAD both carry the ``X-Gitlab-*`` headers."""
    data, blob, _ = await _metadata(request, request.query.get("ref"))
    return web.Response(body=blob.data, content_type="text/plain", charset="utf-8", headers=_headers(data))


@routes.get(FILES + "/blame")
async def get_blame(request: web.Request) -> web.Response:
    """Blame ranges (``Entities::BlameRange``): each run of lines one commit last changed."""
    data, _, commit = await _metadata(request, _required_ref(request))
    path = request.match_info["file_path"]
    repository = context(request).state.repository(readable_project(request)[1])
    ranges = await asyncio.to_thread(blame, repository, commit, path)
    body = [{"commit": entities.blame_commit(c), "lines": lines} for c, lines in ranges]
    return web.json_response(body, headers=_headers(data))


@routes.get(FILES)
async def get_file(request: web.Request) -> web.Response:
    """HEAD answers the same headers with no body (GitLab's ``head ":id/repository/files/:file_path"``)."""
    data, blob, _ = await _metadata(request, _required_ref(request))
    return web.json_response(
        {**data, "content": base64.b64encode(blob.data).decode()}, headers=_headers(data)
    )


async def _write(request: web.Request, action: str) -> web.Response:
    user, project = project_with_role(request, AccessLevel.DEVELOPER)
    ctx = context(request)
    params = await Params.of(request)
    params.require("branch", "commit_message", *(("content",) if action != "delete" else ()))
    branch = params.text("branch")
    path = request.match_info["file_path"]
    repository = ctx.state.repository(project)
    tips = await parent_of(repository, branch, params.get_str("start_branch"))
    parent = tips[1]
    existing = await asyncio.to_thread(repository.read_blob, parent, path) if parent else None
    if action == "create" and existing is not None:
        raise errors.bad_request("A file with this name already exists")
    if action != "create" and existing is None:
        raise errors.bad_request("A file with this name doesn't exist")
    last_commit_id = params.get_str("last_commit_id")
    stale = action == "update" and last_commit_id and parent
    if stale and last_commit_id != await asyncio.to_thread(
        repository.last_commit_touching, str(parent), path
    ):
        raise errors.bad_request(
            "You are attempting to update a file that has changed since you started editing it."
        )
    content = None if action == "delete" else decoded(params.text("content"), params.get_str("encoding"))
    executable = params.flag("execute_filemode", existing.executable if existing else False)
    change = FileChange(path, content, executable)
    message = params.text("commit_message")
    await commit_to_branch(ctx, user, project, branch, tips, [change], message, author_of(user, params))
    if action == "delete":
        return web.Response(status=204)
    return web.json_response({"file_path": path, "branch": branch}, status=201 if action == "create" else 200)


@routes.post(FILES)
async def create_file(request: web.Request) -> web.Response:
    return await _write(request, "create")


@routes.put(FILES)
async def update_file(request: web.Request) -> web.Response:
    return await _write(request, "update")


@routes.delete(FILES)
async def delete_file(request: web.Request) -> web.Response:
    return await _write(request, "delete")
