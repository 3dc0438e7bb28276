"""What every REST handler reaches through ``request.app``: the state, the URLs, the push receiver, the
background jobs that delete projects and groups, and the faults the stack runs with."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.gitlab.deletion import BackgroundDeletions
from nautes_refstack.gitlab.receive import PushReceiver
from nautes_refstack.gitlab.state import GitLabState
from nautes_refstack.gitlab.urls import GitLabUrls


@dataclass(frozen=True)
class ApiContext:
    state: GitLabState
    urls: GitLabUrls
    receiver: PushReceiver
    shared_secret: str
    deletions: BackgroundDeletions
    faults: Faults = NO_FAULTS


CONTEXT = web.AppKey("gitlab_context", ApiContext)


def context(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]
