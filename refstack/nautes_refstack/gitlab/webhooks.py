"""Project webhooks: GitLab's push and tag-push event payloads, and their delivery over HTTP.

Payloads follow GitLab 15.10's ``Gitlab::DataBuilder::Push``; delivery follows ``WebHookService``: one POST
per hook, JSON body, ``X-Gitlab-Event``/``X-Gitlab-Token`` headers, 10 s timeout, no retry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import logging
import time
import uuid
from typing import Any

import aiohttp

from nautes_refstack.gitlab.model import VISIBILITY_LEVELS, ZERO_SHA, ProjectHook, RefChange
from nautes_refstack.gitlab.repository import CommitWithChanges

GITLAB_VERSION = "15.10.0"
DELIVERY_TIMEOUT_S = 10.0
PUSH_HOOK = "Push Hook"
TAG_PUSH_HOOK = "Tag Push Hook"

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ProjectSnapshot:
    """What a push event says about its project, captured when the push happened."""

    id: int
    name: str
    description: str
    namespace_name: str
    path_with_namespace: str
    default_branch: str
    visibility: str
    web_url: str
    http_url: str
    ssh_url: str


@dataclasses.dataclass(frozen=True)
class Pusher:
    id: int
    name: str
    username: str
    avatar_url: str


def hook_event_name(change: RefChange) -> str:
    return TAG_PUSH_HOOK if change.ref.startswith("refs/tags/") else PUSH_HOOK


def hook_wants(hook: ProjectHook, change: RefChange) -> bool:
    """Whether ``hook`` subscribes to this ref change (event flag, then the push branch filter)."""
    if change.ref.startswith("refs/tags/"):
        return hook.events.get("tag_push_events", False)
    if not hook.events.get("push_events", False):
        return False
    branch = change.branch
    return not hook.push_events_branch_filter or (
        branch is not None and fnmatch.fnmatchcase(branch, hook.push_events_branch_filter)
    )


def push_payload(
    project: ProjectSnapshot,
    pusher: Pusher,
    change: RefChange,
    commits: list[CommitWithChanges],
    total_commits: int,
    commit_url_base: str,
) -> dict[str, Any]:
    is_tag = change.ref.startswith("refs/tags/")
    kind = "tag_push" if is_tag else "push"
    return {
        "object_kind": kind,
        "event_name": kind,
        "before": change.before,
        "after": change.after,
        "ref": change.ref,
        "checkout_sha": None if change.after == ZERO_SHA else change.after,
        "message": None,
        "user_id": pusher.id,
        "user_name": pusher.name,
        "user_username": pusher.username,
        "user_email": "[REDACTED]",
        "user_avatar": pusher.avatar_url,
        "project_id": project.id,
        "project": {
            "id": project.id,
            "name": project.name,
            "description": project.description,
            "web_url": project.web_url,
            "avatar_url": None,
            "git_ssh_url": project.ssh_url,
            "git_http_url": project.http_url,
            "namespace": project.namespace_name,
            "visibility_level": VISIBILITY_LEVELS[project.visibility],
            "path_with_namespace": project.path_with_namespace,
            "default_branch": project.default_branch,
            "ci_config_path": None,
            "homepage": project.web_url,
            "url": project.ssh_url,
            "ssh_url": project.ssh_url,
            "http_url": project.http_url,
        },
        "commits": [_commit_payload(c, f"{commit_url_base}/{c.commit.id}") for c in commits],
        "total_commits_count": total_commits,
        "push_options": {},
        "repository": {
            "name": project.name,
            "url": project.ssh_url,
            "description": project.description,
            "homepage": project.web_url,
            "git_http_url": project.http_url,
            "git_ssh_url": project.ssh_url,
            "visibility_level": VISIBILITY_LEVELS[project.visibility],
        },
    }


def _commit_payload(entry: CommitWithChanges, url: str) -> dict[str, Any]:
    commit = entry.commit
    timestamp = dt.datetime.fromisoformat(commit.committed_date).isoformat(timespec="seconds")
    return {
        "id": commit.id,
        "message": commit.message,
        "title": commit.title,
        "timestamp": timestamp,
        "url": url,
        "author": {"name": commit.author_name, "email": commit.author_email},
        "added": entry.added,
        "modified": entry.modified,
        "removed": entry.removed,
    }


async def deliver(
    session: aiohttp.ClientSession, hook: ProjectHook, event: str, payload: dict[str, Any], instance_url: str
) -> None:
    """POST one event to one hook; failures are logged (without the hook's token), never raised."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"GitLab/{GITLAB_VERSION}",
        "X-Gitlab-Event": event,
        "X-Gitlab-Instance": instance_url,
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
    }
    if hook.token:
        headers["X-Gitlab-Token"] = hook.token
    started = time.monotonic()
    try:
        async with session.post(
            hook.url,
            json=payload,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_S),
            ssl=hook.enable_ssl_verification,
        ) as response:
            await response.read()
            log.info(
                "webhook %s (hook %d) -> HTTP %d in %.3fs",
                event,
                hook.id,
                response.status,
                time.monotonic() - started,
            )
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("webhook %s (hook %d) to %s failed: %s", event, hook.id, hook.url, type(error).__name__)
