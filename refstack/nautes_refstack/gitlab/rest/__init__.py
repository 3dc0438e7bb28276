"""GitLab 15.10's REST API v4 subset (one module per resource family) plus the internal API for hooks."""

from __future__ import annotations

from aiohttp import web

from nautes_refstack.gitlab.rest import (
    access_tokens,
    branches,
    commits,
    deploy_keys,
    files,
    groups,
    hooks,
    internal,
    members,
    projects,
    users,
)
from nautes_refstack.gitlab.rest.context import CONTEXT, ApiContext
from nautes_refstack.gitlab.rest.errors import render_api_errors

_RESOURCE_FAMILIES = (
    users,
    groups,
    projects,
    members,
    deploy_keys,
    access_tokens,
    hooks,
    branches,
    files,
    commits,
    internal,
)


def build_app(ctx: ApiContext) -> web.Application:
    """An application serving the REST API under ``/api/v4`` (the caller adds the git routes)."""
    app = web.Application(middlewares=[render_api_errors])
    app[CONTEXT] = ctx
    for family in _RESOURCE_FAMILIES:
        app.router.add_routes(family.routes)
    return app
