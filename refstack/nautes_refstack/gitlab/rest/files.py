"""The repository files API: read a file at a ref, and create/update/delete one with a real commit.

A write is a commit built on the branch's tip and moved in through the same checks and post-receive path
as a ``git push``: protected branches apply and ``on_push``/webhooks fire.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib

from aiohttp import web

from nautes_refstack.gitlab import git_access, permissions
from nautes_refstack.gitlab.git_access import GitActor
from nautes_refstack.gitlab.model import ZERO_SHA, AccessLevel, RefChange, User
from nautes_refstack.gitlab.repository import BareRepository, Blob, FileChange, Signature
from nautes_refstack.gitlab.rest import errors
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.lookup import project_with_role, readable_project
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.rest.ref_updates import move_ref

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


@routes.get(FILES + "/raw")
async def get_raw_file(request: web.Request) -> web.Response:
    _, blob, _ = await _read(request, request.query.get("ref"))
    return web.Response(body=blob.data, content_type="text/plain", charset="utf-8")


@routes.get(FILES)
async def get_file(request: web.Request) -> web.Response:
    ref = request.query.get("ref")
    if not ref:
        raise errors.missing("ref")
    commit, blob, repository = await _read(request, ref)
    path = request.match_info["file_path"]
    last_commit = await asyncio.to_thread(repository.last_commit_touching, commit, path)
    return web.json_response(
        {
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
            "content": base64.b64encode(blob.data).decode(),
        }
    )


def _content(params: Params) -> bytes:
    text = params.text("content") if params.has("content") else ""
    if (params.get_str("encoding") or "text") == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error as error:
            raise errors.bad_request("Invalid base64 content") from error
    return text.encode()


async def _write(request: web.Request, action: str) -> web.Response:
    user, project = project_with_role(request, AccessLevel.DEVELOPER)
    ctx = context(request)
    params = await Params.of(request)
    params.require("branch", "commit_message", *(("content",) if action != "delete" else ()))
    branch = params.text("branch")
    path = request.match_info["file_path"]
    repository = ctx.state.repository(project)
    tip, parent = await _parent(repository, branch, params.get_str("start_branch"))
    if not git_access.can_push_to_branch(ctx.state, GitActor(user), project, branch, parent is None):
        raise errors.bad_request("You are not allowed to push into this branch")
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
    change = FileChange(
        path,
        None if action == "delete" else _content(params),
        params.flag("execute_filemode", existing.executable if existing else False),
    )
    commit = await asyncio.to_thread(
        repository.write_commit,
        parent,
        [change],
        params.text("commit_message"),
        _author(user, params),
        Signature(user.name, user.email),
    )
    await move_ref(
        ctx, user, project, RefChange(tip or ZERO_SHA, commit, f"refs/heads/{branch}"), refusal_status=400
    )
    if action == "delete":
        return web.Response(status=204)
    return web.json_response({"file_path": path, "branch": branch}, status=201 if action == "create" else 200)


async def _parent(
    repository: BareRepository, branch: str, start_branch: str | None
) -> tuple[str | None, str | None]:
    """The branch's current tip (``None`` for a new branch) and the commit to build on."""
    branches = await asyncio.to_thread(repository.branches)
    if branch in branches:
        return branches[branch], branches[branch]
    if start_branch:
        if start_branch not in branches:
            raise errors.bad_request(f"Cannot find start_branch {start_branch}")
        return None, branches[start_branch]
    if branches:
        raise errors.bad_request("You can only create or edit files when you are on a branch")
    return None, None


def _author(user: User, params: Params) -> Signature:
    return Signature(params.get_str("author_name") or user.name, params.get_str("author_email") or user.email)


@routes.post(FILES)
async def create_file(request: web.Request) -> web.Response:
    return await _write(request, "create")


@routes.put(FILES)
async def update_file(request: web.Request) -> web.Response:
    return await _write(request, "update")


@routes.delete(FILES)
async def delete_file(request: web.Request) -> web.Response:
    return await _write(request, "delete")
