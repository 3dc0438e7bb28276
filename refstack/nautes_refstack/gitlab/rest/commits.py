"""Reading history and trees: ``/repository/tree``, ``/repository/commits``, ``/repository/commits/:sha``."""

from __future__ import annotations

import asyncio

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.model import Project
from nautes_refstack.gitlab.repository import BareRepository, TreeEntry
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.lookup import readable_project
from nautes_refstack.gitlab.rest.pagination import paginate

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


@routes.get("/api/v4/projects/{id}/repository/commits")
async def list_commits(request: web.Request) -> web.Response:
    project, repository = _code(request)
    ctx = context(request)
    path = ctx.state.path_with_namespace(project)
    ref = request.query.get("ref_name") or project.default_branch
    commit = await asyncio.to_thread(repository.resolve_commit, ref)
    commits = (
        []
        if commit is None
        else await asyncio.to_thread(repository.log, commit, request.query.get("path", ""))
    )
    return paginate(request, commits, lambda c: entities.commit(ctx, path, c))


@routes.get("/api/v4/projects/{id}/repository/commits/{sha}")
async def get_commit(request: web.Request) -> web.Response:
    project, repository = _code(request)
    ctx = context(request)
    commit_id = await asyncio.to_thread(repository.resolve_commit, request.match_info["sha"])
    if commit_id is None:
        raise errors.not_found("Commit")
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
    return web.json_response(entity)
