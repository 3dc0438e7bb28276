"""GitLab 15.10's REST API v4 subset (one module per resource family) plus the internal API for hooks."""

from __future__ import annotations

from aiohttp import web

from nautes_refstack.gitlab.rest import (
    access_tokens,
    branches,
    commits,
    deploy_keys,
    events,
    files,
    group_sharing,
    groups,
    hooks,
    internal,
    keys,
    members,
    namespaces,
    projects,
    repositories,
    tags,
    user_admin,
    users,
)
from nautes_refstack.gitlab.rest.content_type import plain_json_content_type
from nautes_refstack.gitlab.rest.context import CONTEXT, ApiContext
from nautes_refstack.gitlab.rest.errors import render_api_errors
from nautes_refstack.gitlab.rest.restarting import bad_gateway_on_first_request

_RESOURCE_FAMILIES = (
    users,
    user_admin,
    groups,
    group_sharing,
    projects,
    members,
    deploy_keys,
    keys,
    access_tokens,
    hooks,
    namespaces,
    branches,
    tags,
    files,
    commits,
    repositories,
    events,
    internal,
)


def build_app(ctx: ApiContext) -> web.Application:
    """An application serving the REST API under ``/api/v4`` (the caller adds the git routes). Workhorse's
    502 (fault ``gitlab-502-first-request``) comes first: it answers before Puma would."""
    app = web.Application(middlewares=[bad_gateway_on_first_request(), render_api_errors])
    app[CONTEXT] = ctx
    app.on_response_prepare.append(plain_json_content_type)
    for family in _RESOURCE_FAMILIES:
        app.router.add_routes(family.routes)
    return app
