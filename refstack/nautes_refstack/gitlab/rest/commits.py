"""Commits: ``/repository/commits`` (listing, creating a commit of several actions) and one commit's
detail, diff, containing refs, merge requests and signature.

Follows gitlab ``lib/api/commits.rb``; https://docs.gitlab.com/ee/api/commits.html
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.history import commit_diff, is_signed, refs_containing
from nautes_refstack.gitlab.model import AccessLevel, Project
from nautes_refstack.gitlab.repository import BareRepository, FileChange
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.commit_actions import planned_changes
from nautes_refstack.gitlab.rest.commit_writes import author_of, commit_to_branch, parent_of
from nautes_refstack.gitlab.rest.context import ApiContext, context
from nautes_refstack.gitlab.rest.entities import Json
from nautes_refstack.gitlab.rest.lookup import project_with_role, readable_project
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params

routes = web.RouteTableDef()


def readable_code(request: web.Request) -> tuple[Project, BareRepository]:
    """The project and its repository, if the caller may read its code (403 if they see it but may not)."""
    user, project = readable_project(request)
    state = context(request).state
    if not permissions.can_download_code(state, user, project):
        raise errors.forbidden()
    return project, state.repository(project)


@routes.get("/api/v4/projects/{id}/repository/commits")
async def list_commits(request: web.Request) -> web.Response:
    """``all=true`` lists the commits of every ref (``ref_name`` is then ignored), as GitLab's
    ``repository.commits(ref, all: true)`` does; otherwise ``ref_name`` or the default branch."""
    project, repository = readable_code(request)
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
    project, repository = readable_code(request)
    commit_id = await _commit_id(request, repository)
    return web.json_response(await _commit_detail(context(request), project, repository, commit_id))


@routes.get("/api/v4/projects/{id}/repository/commits/{sha}/diff")
async def get_commit_diff(request: web.Request) -> web.Response:
    _, repository = readable_code(request)
    commit_id = await _commit_id(request, repository)
    diffs = await asyncio.to_thread(commit_diff, repository, commit_id)
    return paginate(request, diffs, entities.diff)


@routes.get("/api/v4/projects/{id}/repository/commits/{sha}/refs")
async def get_commit_refs(request: web.Request) -> web.Response:
    """Branches and tags containing the commit (``type``: ``branch``, ``tag`` or ``all``, the default)."""
    _, repository = readable_code(request)
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
    _, repository = readable_code(request)
    await _commit_id(request, repository)
    return paginate(request, [], entities.diff)


@routes.get("/api/v4/projects/{id}/repository/commits/{sha}/signature")
async def get_commit_signature(request: web.Request) -> web.Response:
    """An unsigned commit has no signature: ``not_found! 'Signature'`` (gitlab ``lib/api/commits.rb``).
    Verifying a signed one (GPG keys, X.509) is not emulated: it says so instead of pretending."""
    _, repository = readable_code(request)
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
