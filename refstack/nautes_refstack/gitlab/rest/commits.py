"""History and trees: ``/repository/tree``, ``/repository/commits`` (listing, creating a commit of several
actions) and one commit's detail, diff, containing refs, merge requests and signature.

Follows gitlab ``lib/api/commits.rb`` and ``lib/api/repositories.rb``;
https://docs.gitlab.com/ee/api/commits.html and https://docs.gitlab.com/ee/api/repositories.html
"""

from __future__ import annotations

import asyncio
import base64

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.history import blob_by_id, commit_diff, is_signed, refs_containing, snapshot
from nautes_refstack.gitlab.model import AccessLevel, Project
from nautes_refstack.gitlab.repository import BareRepository, FileChange, TreeEntry
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.auth import admin_user
from nautes_refstack.gitlab.rest.commit_actions import planned_changes
from nautes_refstack.gitlab.rest.commit_writes import author_of, commit_to_branch, parent_of
from nautes_refstack.gitlab.rest.context import ApiContext, context
from nautes_refstack.gitlab.rest.entities import Json
from nautes_refstack.gitlab.rest.lookup import project_with_role, readable_project
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params

routes = web.RouteTableDef()


def _code(request: web.Request) -> tuple[Project, BareRepository]:
    user, project = readable_project(request)
    state = context(request).state
    if not permissions.can_download_code(state, user, project):
        raise errors.forbidden()
    return project, state.repository(project)


def _tree_entry(entry: TreeEntry) -> entities.Json:
    return {"id": entry.id, "name": entry.name, "type": entry.type, "path": entry.path, "mode": entry.mode}


@routes.get("/api/v4/projects/{id}/repository/tree")
async def list_tree(request: web.Request) -> web.Response:
    project, repository = _code(request)
    commit = await asyncio.to_thread(
        repository.resolve_commit, request.query.get("ref") or project.default_branch
    )
    recursive = request.query.get("recursive", "false").lower() in ("true", "1")
    entries = None
    if commit is not None:
        entries = await asyncio.to_thread(
            repository.list_tree, commit, request.query.get("path", ""), recursive
        )
    if entries is None:
        raise errors.not_found("Tree")
    return paginate(request, entries, _tree_entry)


@routes.get("/api/v4/projects/{id}/repository/blobs/{sha}/raw")
async def get_raw_blob(request: web.Request) -> web.Response:
    """A blob's bytes by its id (gitlab ``lib/api/repositories.rb``, ``send_git_blob``)."""
    _, repository = _code(request)
    data = await asyncio.to_thread(blob_by_id, repository, request.match_info["sha"])
    if data is None:
        raise errors.not_found("Blob")
    return web.Response(body=data, content_type="text/plain", charset="utf-8")


@routes.get("/api/v4/projects/{id}/repository/blobs/{sha}")
async def get_blob(request: web.Request) -> web.Response:
    """A blob's size and base64 content (gitlab ``lib/api/repositories.rb``)."""
    _, repository = _code(request)
    sha = request.match_info["sha"]
    data = await asyncio.to_thread(blob_by_id, repository, sha)
    if data is None:
        raise errors.not_found("Blob")
    content = base64.b64encode(data).decode()
    return web.json_response({"size": len(data), "encoding": "base64", "content": content, "sha": sha})


@routes.get("/api/v4/projects/{id}/snapshot")
async def get_snapshot(request: web.Request) -> web.Response:
    """The repository as a tar, for administrators (gitlab ``lib/api/project_snapshots.rb``)."""
    admin_user(request)
    project, repository = _code(request)
    body = await asyncio.to_thread(snapshot, repository)
    disposition = f'attachment; filename="{project.path}.tar"'
    return web.Response(
        body=body, content_type="application/x-tar", headers={"Content-Disposition": disposition}
    )


@routes.get("/api/v4/projects/{id}/repository/commits")
async def list_commits(request: web.Request) -> web.Response:
    """``all=true`` lists the commits of every ref (``ref_name`` is then ignored), as GitLab's
    ``repository.commits(ref, all: true)`` does; otherwise ``ref_name`` or the default branch."""
    project, repository = _code(request)
    ctx = context(request)
    path = ctx.state.path_with_namespace(project)
    if request.query.get("all", "false").lower() in ("true", "1"):
        commits = await asyncio.to_thread(repository.log_all)
        return paginate(request, commits, lambda c: entities.commit(ctx, path, c))
    ref = request.query.get("ref_name") or project.default_branch
    commit = await asyncio.to_thread(repository.resolve_commit, ref)
    commits = (
        []
        if commit is None
        else await asyncio.to_thread(repository.log, commit, request.query.get("path", ""))
    )
    return paginate(request, commits, lambda c: entities.commit(ctx, path, c))


async def _commit_detail(
    ctx: ApiContext, project: Project, repository: BareRepository, commit_id: str
) -> Json:
    """``Entities::CommitDetail``: the commit with its stats, no pipeline status."""
    commit = (await asyncio.to_thread(repository.commits, [commit_id]))[0]
    additions, deletions = await asyncio.to_thread(repository.diff_stats, commit_id)
    entity = entities.commit(ctx, ctx.state.path_with_namespace(project), commit)
    entity.update(
        {
            "stats": {"additions": additions, "deletions": deletions, "total": additions + deletions},
            "status": None,
            "project_id": project.id,
            "last_pipeline": None,
        }
    )
    return entity


async def _commit_id(request: web.Request, repository: BareRepository) -> str:
    commit_id = await asyncio.to_thread(repository.resolve_commit, request.match_info["sha"])
    if commit_id is None:
        raise errors.not_found("Commit")
    return commit_id


@routes.get("/api/v4/projects/{id}/repository/commits/{sha}")
async def get_commit(request: web.Request) -> web.Response:
    project, repository = _code(request)
    commit_id = await _commit_id(request, repository)
    return web.json_response(await _commit_detail(context(request), project, repository, commit_id))


@routes.get("/api/v4/projects/{id}/repository/commits/{sha}/diff")
async def get_commit_diff(request: web.Request) -> web.Response:
    _, repository = _code(request)
    commit_id = await _commit_id(request, repository)
    diffs = await asyncio.to_thread(commit_diff, repository, commit_id)
    return paginate(request, diffs, entities.diff)


@routes.get("/api/v4/projects/{id}/repository/commits/{sha}/refs")
async def get_commit_refs(request: web.Request) -> web.Response:
    """Branches and tags containing the commit (``type``: ``branch``, ``tag`` or ``all``, the default)."""
    _, repository = _code(request)
    commit_id = await _commit_id(request, repository)
    kind = request.query.get("type", "all")
    if kind not in ("branch", "tag", "all"):
        raise errors.ApiError(400, {"error": "type does not have a valid value"})
    kinds = ("branch", "tag") if kind == "all" else (kind,)
    refs = await asyncio.to_thread(refs_containing, repository, commit_id, kinds)
    return paginate(request, refs, lambda ref: {"type": ref[0], "name": ref[1]})


@routes.get("/api/v4/projects/{id}/repository/commits/{sha}/merge_requests")
async def get_commit_merge_requests(request: web.Request) -> web.Response:
    """The merge requests that contain the commit: none, since this GitLab has no merge requests (the
    Nautes flow never opens one; ``POST /merge_requests`` is not served)."""
    _, repository = _code(request)
    await _commit_id(request, repository)
    return paginate(request, [], entities.diff)


@routes.get("/api/v4/projects/{id}/repository/commits/{sha}/signature")
async def get_commit_signature(request: web.Request) -> web.Response:
    """An unsigned commit has no signature: ``not_found! 'Signature'`` (gitlab ``lib/api/commits.rb``).
    Verifying a signed one (GPG keys, X.509) is not emulated: it says so instead of pretending."""
    _, repository = _code(request)
    commit_id = await _commit_id(request, repository)
    if await asyncio.to_thread(is_signed, repository, commit_id):
        raise errors.ApiError(501, {"message": "signature verification is not emulated"})
    raise errors.not_found("Signature")


@routes.post("/api/v4/projects/{id}/repository/commits")
async def create_commit(request: web.Request) -> web.Response:
    """A commit of several ``actions`` (create, update, delete, move, chmod) at once, on ``branch``
    (new ones start from ``start_branch``): ``Commits::CreateService`` via ``Files::MultiService``."""
    user, project = project_with_role(request, AccessLevel.DEVELOPER)
    ctx = context(request)
    params = await Params.of(request)
    params.require("branch", "commit_message", "actions")
    branch = params.text("branch")
    repository = ctx.state.repository(project)
    tips = await parent_of(repository, branch, params.get_str("start_branch"))
    changes: list[FileChange] = await asyncio.to_thread(
        planned_changes, repository, tips[1], params.get_objects("actions")
    )
    message = params.text("commit_message")
    commit_id = await commit_to_branch(
        ctx, user, project, branch, tips, changes, message, author_of(user, params)
    )
    return web.json_response(await _commit_detail(ctx, project, repository, commit_id), status=201)
