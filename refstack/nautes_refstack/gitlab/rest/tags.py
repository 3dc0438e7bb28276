"""Tags (gitlab ``lib/api/tags.rb``): list (newest target commit first, or by name), get, create (annotated
with a ``message``) and delete. Creating and deleting go through the push checks and post-receive path, as
GitLab's ``repository.add_tag``/``rm_tag`` run the hooks: tag push webhooks fire, refusals are 400s."""

from __future__ import annotations

import asyncio

from aiohttp import web

from nautes_refstack.gitlab import permissions
from nautes_refstack.gitlab.model import ZERO_SHA, AccessLevel, Project, RefChange, User
from nautes_refstack.gitlab.repository import BareRepository, Signature
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.context import ApiContext, context
from nautes_refstack.gitlab.rest.lookup import project_with_role, readable_project
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.rest.ref_updates import move_ref
from nautes_refstack.gitlab.tags import Tag, list_tags, make_annotated_tag, valid_tag_name

routes = web.RouteTableDef()


def _code(request: web.Request) -> tuple[User | None, Project, BareRepository]:
    user, project = readable_project(request)
    state = context(request).state
    if not permissions.can_download_code(state, user, project):
        raise errors.forbidden()
    return user, project, state.repository(project)


async def _entities(
    ctx: ApiContext, project: Project, repository: BareRepository, tags: list[Tag]
) -> list[entities.Json]:
    """``Entities::Tag``: name, message, target, the commit, no release, not protected."""
    commits = {
        c.id: c for c in await asyncio.to_thread(repository.commits, sorted({t.commit_id for t in tags}))
    }
    path = ctx.state.path_with_namespace(project)
    return [
        {
            "name": tag.name,
            "message": tag.message,
            "target": tag.target,
            "commit": entities.commit(ctx, path, commits[tag.commit_id]),
            "release": None,
            "protected": False,
        }
        for tag in tags
    ]


@routes.get("/api/v4/projects/{id}/repository/tags")
async def list_project_tags(request: web.Request) -> web.Response:
    _, project, repository = _code(request)
    ctx = context(request)
    tags = await asyncio.to_thread(list_tags, repository)
    if search := request.query.get("search", ""):
        tags = [t for t in tags if search.lower() in t.name.lower()]
    rendered = await _entities(ctx, project, repository, tags)
    order_by = request.query.get("order_by", "updated")
    if order_by not in ("name", "updated", "version"):
        raise errors.ApiError(400, {"error": "order_by does not have a valid value"})
    key = "name" if order_by != "updated" else "committed_date"
    rendered.sort(
        key=lambda t: t["name"] if key == "name" else t["commit"]["committed_date"],
        reverse=request.query.get("sort", "desc") == "desc",
    )
    return paginate(request, rendered, lambda t: t)


@routes.get("/api/v4/projects/{id}/repository/tags/{tag_name}")
async def get_project_tag(request: web.Request) -> web.Response:
    _, project, repository = _code(request)
    tag = await _tag(repository, request.match_info["tag_name"])
    return web.json_response((await _entities(context(request), project, repository, [tag]))[0])


async def _tag(repository: BareRepository, name: str) -> Tag:
    found = next((t for t in await asyncio.to_thread(list_tags, repository) if t.name == name), None)
    if found is None:
        raise errors.not_found("Tag")
    return found


@routes.post("/api/v4/projects/{id}/repository/tags")
async def create_project_tag(request: web.Request) -> web.Response:
    """``Tags::CreateService`` (gitlab ``app/services/tags/create_service.rb``): every refusal is a 400 here,
    as the API renders them (``render_api_error!(result[:message], 400)``)."""
    user, project = project_with_role(request, AccessLevel.DEVELOPER)
    ctx = context(request)
    repository = ctx.state.repository(project)
    params = await Params.of(request)
    params.require("tag_name", "ref")
    name, ref = params.text("tag_name"), params.text("ref")
    if not valid_tag_name(name):
        raise errors.bad_request("Tag name invalid")
    if any(t.name == name for t in await asyncio.to_thread(list_tags, repository)):
        raise errors.bad_request(f"Tag {name} already exists")
    commit_id = await asyncio.to_thread(repository.resolve_commit, ref)
    if commit_id is None:
        raise errors.bad_request(f"Target {ref} is invalid")
    message = (params.get_str("message") or "").strip()
    target = commit_id
    if message:
        tagger = Signature(user.name, user.email)
        target = await asyncio.to_thread(make_annotated_tag, repository, name, commit_id, message, tagger)
    await move_ref(ctx, user, project, RefChange(ZERO_SHA, target, f"refs/tags/{name}"), refusal_status=400)
    tag = await _tag(repository, name)
    return web.json_response((await _entities(ctx, project, repository, [tag]))[0], status=201)


@routes.delete("/api/v4/projects/{id}/repository/tags/{tag_name}")
async def delete_project_tag(request: web.Request) -> web.Response:
    user, project = project_with_role(request, AccessLevel.DEVELOPER)
    ctx = context(request)
    tag = await _tag(ctx.state.repository(project), request.match_info["tag_name"])
    await move_ref(
        ctx, user, project, RefChange(tag.target, ZERO_SHA, f"refs/tags/{tag.name}"), refusal_status=400
    )
    return web.Response(status=204)
