"""The records the emulated GitLab keeps, shaped like GitLab's own tables.

Groups and user namespaces share one id space (as GitLab's ``namespaces`` table does), user SSH keys and
deploy keys share another (GitLab's ``keys`` table), and a deploy key is one record enabled on many projects
through :class:`DeployKeyLink`, with ``can_push`` per project.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

Visibility = Literal["private", "internal", "public"]
VISIBILITY_LEVELS: dict[str, int] = {"private": 0, "internal": 10, "public": 20}
ZERO_SHA = "0" * 40


class AccessLevel(IntEnum):
    """GitLab's member roles (``Gitlab::Access``)."""

    NO_ACCESS = 0
    GUEST = 10
    REPORTER = 20
    DEVELOPER = 30
    MAINTAINER = 40
    OWNER = 50


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_time(moment: dt.datetime) -> str:
    """GitLab's timestamp format in REST replies: milliseconds and a ``Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class User:
    id: int
    username: str
    name: str
    email: str
    namespace_id: int
    is_admin: bool = False
    bot: bool = False
    state: str = "active"
    created_at: dt.datetime = field(default_factory=utc_now)


@dataclass
class AccessToken:
    """A personal access token, or a project access token (``project_id`` set, owned by a bot user).

    Only the SHA-256 digest of the token is kept, so a dump of the state never reveals a usable token.
    """

    id: int
    user_id: int
    name: str
    scopes: list[str]
    digest: str
    project_id: int | None = None
    expires_at: dt.date | None = None
    revoked: bool = False
    created_at: dt.datetime = field(default_factory=utc_now)
    last_used_at: dt.datetime | None = None

    def is_active(self, today: dt.date) -> bool:
        return not self.revoked and (self.expires_at is None or self.expires_at > today)


@dataclass
class Group:
    id: int
    name: str
    path: str
    description: str
    visibility: Visibility
    parent_id: int | None = None
    created_at: dt.datetime = field(default_factory=utc_now)


@dataclass
class Project:
    id: int
    name: str
    path: str
    namespace_id: int
    description: str
    visibility: Visibility
    creator_id: int
    default_branch: str = "main"
    created_at: dt.datetime = field(default_factory=utc_now)
    last_activity_at: dt.datetime = field(default_factory=utc_now)
    #: GitLab's ``projects.pending_delete``: set by ``DELETE /projects/:id`` until the destroy job has run.
    pending_delete: bool = False


@dataclass
class Membership:
    """A member of a group (``source_type`` "Namespace") or directly of a project ("Project")."""

    source_type: Literal["Namespace", "Project"]
    source_id: int
    user_id: int
    access_level: AccessLevel
    created_at: dt.datetime = field(default_factory=utc_now)


@dataclass
class GroupLink:
    """A group shared with another (GitLab's ``group_group_links``): the members of ``shared_with_group_id``
    get up to ``group_access`` on ``shared_group_id`` and the groups below it."""

    shared_group_id: int
    shared_with_group_id: int
    group_access: AccessLevel
    expires_at: dt.date | None = None


@dataclass
class SshKey:
    """A user's SSH key, or a deploy key (``deploy``); ``user_id`` is the owner (the deploy key's creator)."""

    id: int
    title: str
    key: str
    fingerprint_md5: str
    fingerprint_sha256: str
    user_id: int
    deploy: bool
    expires_at: dt.datetime | None = None
    created_at: dt.datetime = field(default_factory=utc_now)


@dataclass
class DeployKeyLink:
    """A deploy key enabled on one project (GitLab's ``deploy_keys_projects``)."""

    key_id: int
    project_id: int
    can_push: bool
    created_at: dt.datetime = field(default_factory=utc_now)
    id: int = 0


HOOK_EVENT_FLAGS = (
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "job_events",
    "pipeline_events",
    "wiki_page_events",
    "deployment_events",
    "releases_events",
    "repository_update_events",
)


@dataclass
class ProjectHook:
    id: int
    project_id: int
    url: str
    token: str
    events: dict[str, bool]
    enable_ssl_verification: bool = True
    push_events_branch_filter: str = ""
    created_at: dt.datetime = field(default_factory=utc_now)


@dataclass
class BranchAccessRule:
    """One entry of a protected branch's push or merge access levels: a role, or one deploy key."""

    id: int
    access_level: AccessLevel
    deploy_key_id: int | None = None


@dataclass
class ProtectedBranch:
    id: int
    project_id: int
    name: str
    push_access_levels: list[BranchAccessRule]
    merge_access_levels: list[BranchAccessRule]
    allow_force_push: bool = False


@dataclass(frozen=True)
class RefChange:
    """One line a pre-receive/post-receive hook reads: ``<old> <new> <ref>``."""

    before: str
    after: str
    ref: str

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None

    @property
    def is_creation(self) -> bool:
        return self.before == ZERO_SHA

    @property
    def is_deletion(self) -> bool:
        return self.after == ZERO_SHA

    @classmethod
    def parse_lines(cls, text: str) -> list[RefChange]:
        changes = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3:
                changes.append(cls(*parts))
        return changes
