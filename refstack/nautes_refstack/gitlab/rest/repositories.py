"""The repository as a whole (gitlab ``lib/api/repositories.rb``, ``lib/api/project_snapshots.rb``): its tree,
blobs by id, archives in GitLab's formats, the merge base of refs, and an administrator's snapshot.

Follows https://docs.gitlab.com/ee/api/repositories.html
"""

from __future__ import annotations

import asyncio
import base64

from aiohttp import web

from nautes_refstack.gitlab.archives import ARCHIVE_FORMATS, archive, merge_base
from nautes_refstack.gitlab.history import blob_by_id, snapshot
from nautes_refstack.gitlab.repository import TreeEntry
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.auth import admin_user
from nautes_refstack.gitlab.rest.commits import readable_code
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params

routes = web.RouteTableDef()


def _tree_entry(entry: TreeEntry) -> entities.Json:
    return {"id": entry.id, "name": entry.name, "type": entry.type, "path": entry.path, "mode": entry.mode}


@routes.get("/api/v4/projects/{id}/repository/tree")
async def list_tree(request: web.Request) -> web.Response:
    project, repository = readable_code(request)
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
    _, repository = readable_code(request)
    data = await asyncio.to_thread(blob_by_id, repository, request.match_info["sha"])
    if data is None:
        raise errors.not_found("Blob")
    return web.Response(body=data, content_type="text/plain", charset="utf-8")


@routes.get("/api/v4/projects/{id}/repository/blobs/{sha}")
async def get_blob(request: web.Request) -> web.Response:
    """A blob's size and base64 content (gitlab ``lib/api/repositories.rb``)."""
    _, repository = readable_code(request)
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
    project, repository = readable_code(request)
    body = await asyncio.to_thread(snapshot, repository)
    disposition = f'attachment; filename="{project.path}.tar"'
    return web.Response(
        body=body, content_type="application/x-tar", headers={"Content-Disposition": disposition}
    )


@routes.get("/api/v4/projects/{id}/repository/archive{extension:(\\.[a-z0-9.]+)?}")
async def get_archive(request: web.Request) -> web.Response:
    """``archive(.:format)`` at ``sha`` (the default branch if absent), optionally of ``path`` only: tar.gz
    by default; its top directory ``<project>-<ref>-<commit>`` (gitlab ``app/models/repository.rb``
    ``archive_metadata``). An unknown format is a 404, as the route's requirements do not match it."""
    project, repository = readable_code(request)
    extension = request.match_info.get("extension", "").removeprefix(".") or "tar.gz"
    if extension not in ARCHIVE_FORMATS:
        raise errors.not_found()
    ref = request.query.get("sha") or project.default_branch
    commit = await asyncio.to_thread(repository.resolve_commit, ref)
    if commit is None:
        raise errors.not_found("Ref")
    prefix = f"{project.path}-{ref.replace('/', '-')}-{commit}"
    body = await asyncio.to_thread(
        archive, repository, commit, extension, prefix, request.query.get("path", "")
    )
    disposition = f'attachment; filename="{prefix}.{extension}"'
    headers = {"Content-Disposition": disposition}
    return web.Response(body=body, content_type="application/octet-stream", headers=headers)


@routes.get("/api/v4/projects/{id}/repository/merge_base")
async def get_merge_base(request: web.Request) -> web.Response:
    """The best common ancestor of ``refs`` (at least two; ``Gitlab::Git::MergeBase``)."""
    project, repository = readable_code(request)
    params = await Params.of(request)
    params.require("refs")
    refs = params.get_strings("refs") or []
    if len(refs) < 2:
        raise errors.bad_request("Provide at least 2 refs")
    commits = [await asyncio.to_thread(repository.resolve_commit, ref) for ref in refs]
    unknown = [ref for ref, commit in zip(refs, commits, strict=True) if commit is None]
    if unknown:
        noun = "ref" if len(unknown) == 1 else "refs"
        raise errors.bad_request(f"Could not find {noun}: {', '.join(unknown)}")
    found = await asyncio.to_thread(merge_base, repository, [c for c in commits if c])
    if found is None:
        raise errors.not_found("Merge Base")
    record = (await asyncio.to_thread(repository.commits, [found]))[0]
    ctx = context(request)
    return web.json_response(entities.commit(ctx, ctx.state.path_with_namespace(project), record))
