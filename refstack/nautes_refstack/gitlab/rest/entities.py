"""The JSON shapes of GitLab 15.10's REST entities (``API::Entities::*``), for the attributes clients read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from nautes_refstack.gitlab.history import FileDiff
from nautes_refstack.gitlab.model import (
    VISIBILITY_LEVELS,
    AccessLevel,
    AccessToken,
    BranchAccessRule,
    DeployKeyLink,
    Group,
    GroupLink,
    Membership,
    Project,
    ProjectHook,
    ProtectedBranch,
    SshKey,
    User,
    iso_time,
)
from nautes_refstack.gitlab.repository import CommitInfo
from nautes_refstack.gitlab.rest.context import ApiContext

Json = dict[str, Any]

ACCESS_LEVEL_DESCRIPTIONS = {
    AccessLevel.NO_ACCESS: "No one",
    AccessLevel.DEVELOPER: "Developers + Maintainers",
    AccessLevel.MAINTAINER: "Maintainers",
}


def user_basic(ctx: ApiContext, user: User) -> Json:
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "avatar_url": ctx.urls.avatar(user.email),
        "web_url": ctx.urls.user_web(user.username),
    }


def user_detail(ctx: ApiContext, user: User, with_private: bool) -> Json:
    """``UserPublic`` for the user themself and for administrators; ``User`` for everyone else."""
    entity = {
        **user_basic(ctx, user),
        "created_at": iso_time(user.created_at),
        "bio": "",
        "location": None,
        "public_email": None,
        "skype": "",
        "linkedin": "",
        "twitter": "",
        "website_url": "",
        "organization": None,
        "job_title": "",
        "pronouns": None,
        "bot": user.bot,
        "work_information": None,
        "followers": 0,
        "following": 0,
        "local_time": None,
    }
    if with_private:
        entity.update(
            {
                "last_sign_in_at": None,
                "confirmed_at": iso_time(user.created_at),
                "last_activity_on": None,
                "email": user.email,
                "theme_id": 1,
                "color_scheme_id": 1,
                "projects_limit": 100000,
                "current_sign_in_at": None,
                "identities": [],
                "can_create_group": not user.bot,
                "can_create_project": not user.bot,
                "two_factor_enabled": False,
                "external": False,
                "private_profile": False,
                "commit_email": user.email,
                "is_admin": user.is_admin,
                "note": None,
                "namespace_id": user.namespace_id,
            }
        )
    return entity


def namespace(ctx: ApiContext, namespace_id: int) -> Json:
    state = ctx.state
    owner = state.namespace_owner(namespace_id)
    if owner is not None:
        return {
            "id": namespace_id,
            "name": owner.name,
            "path": owner.username,
            "kind": "user",
            "full_path": owner.username,
            "parent_id": None,
            "avatar_url": ctx.urls.avatar(owner.email),
            "web_url": ctx.urls.user_web(owner.username),
        }
    group = state.groups[namespace_id]
    full_path = state.group_full_path(group)
    return {
        "id": group.id,
        "name": group.name,
        "path": group.path,
        "kind": "group",
        "full_path": full_path,
        "parent_id": group.parent_id,
        "avatar_url": None,
        "web_url": ctx.urls.group_web(full_path),
    }


def group(ctx: ApiContext, group: Group) -> Json:
    full_path = ctx.state.group_full_path(group)
    full_name = " / ".join(g.name for g in reversed(ctx.state.group_ancestors(group)))
    return {
        "id": group.id,
        "web_url": ctx.urls.group_web(full_path),
        "name": group.name,
        "path": group.path,
        "description": group.description,
        "visibility": group.visibility,
        "share_with_group_lock": False,
        "require_two_factor_authentication": False,
        "two_factor_grace_period": 48,
        "project_creation_level": "maintainer",
        "auto_devops_enabled": None,
        "subgroup_creation_level": "owner",
        "emails_disabled": None,
        "mentions_disabled": None,
        "lfs_enabled": True,
        "default_branch_protection": 2,
        "avatar_url": None,
        "request_access_enabled": True,
        "full_name": full_name,
        "full_path": full_path,
        "created_at": iso_time(group.created_at),
        "parent_id": group.parent_id,
        "ldap_cn": None,
        "ldap_access": None,
    }


def group_detail(ctx: ApiContext, group_record: Group, projects: list[Json]) -> Json:
    shared_with = [
        _shared_with_group(ctx, link)
        for link in ctx.state.group_links
        if link.shared_group_id == group_record.id
    ]
    return {
        **group(ctx, group_record),
        "projects": projects,
        "shared_projects": [],
        "shared_with_groups": shared_with,
    }


def _shared_with_group(ctx: ApiContext, link: GroupLink) -> Json:
    """One entry of ``shared_with_groups`` (gitlab ``lib/api/entities/group_detail.rb``)."""
    with_group = ctx.state.groups[link.shared_with_group_id]
    return {
        "group_id": with_group.id,
        "group_name": with_group.name,
        "group_full_path": ctx.state.group_full_path(with_group),
        "group_access_level": int(link.group_access),
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
    }


def project(ctx: ApiContext, record: Project, user: User | None) -> Json:
    state = ctx.state
    empty_repo = state.repository(record).is_empty()
    path = state.path_with_namespace(record)
    owner = state.namespace_owner(record.namespace_id)
    namespace_entity = namespace(ctx, record.namespace_id)
    entity: Json = {
        "id": record.id,
        "description": record.description,
        "name": record.name,
        "name_with_namespace": f"{_namespace_full_name(ctx, record.namespace_id)} / {record.name}",
        "path": record.path,
        "path_with_namespace": path,
        "created_at": iso_time(record.created_at),
        "default_branch": record.default_branch,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": ctx.urls.project_ssh(path),
        "http_url_to_repo": ctx.urls.project_http(path),
        "web_url": ctx.urls.project_web(path),
        "readme_url": None,
        "avatar_url": None,
        "forks_count": 0,
        "star_count": 0,
        "last_activity_at": iso_time(record.last_activity_at),
        "namespace": namespace_entity,
        "empty_repo": empty_repo,
        "archived": False,
        "visibility": record.visibility,
        "resolve_outdated_diff_discussions": False,
        "issues_enabled": True,
        "merge_requests_enabled": True,
        "wiki_enabled": True,
        "jobs_enabled": True,
        "snippets_enabled": True,
        "container_registry_enabled": True,
        "repository_access_level": "enabled",
        "merge_requests_access_level": "enabled",
        "builds_access_level": "enabled",
        "visibility_level": VISIBILITY_LEVELS[record.visibility],
        "creator_id": record.creator_id,
        "import_status": "none",
        "open_issues_count": 0,
        "public_jobs": True,
        "shared_with_groups": [],
        "only_allow_merge_if_pipeline_succeeds": False,
        "request_access_enabled": True,
        "merge_method": "merge",
        "squash_option": "default_off",
        "_links": _project_links(ctx, record.id),
    }
    if owner is not None:
        entity["owner"] = user_basic(ctx, owner)
    if user is not None:
        entity["permissions"] = _permissions(ctx, record, user)
    return entity


def _namespace_full_name(ctx: ApiContext, namespace_id: int) -> str:
    owner = ctx.state.namespace_owner(namespace_id)
    if owner is not None:
        return owner.name
    return " / ".join(g.name for g in reversed(ctx.state.group_ancestors(ctx.state.groups[namespace_id])))


def _project_links(ctx: ApiContext, project_id: int) -> Json:
    base = f"{ctx.urls.api}/projects/{project_id}"
    return {
        "self": base,
        "issues": f"{base}/issues",
        "merge_requests": f"{base}/merge_requests",
        "repo_branches": f"{base}/repository/branches",
        "labels": f"{base}/labels",
        "events": f"{base}/events",
        "members": f"{base}/members",
        "cluster_agents": f"{base}/cluster_agents",
    }


def _permissions(ctx: ApiContext, record: Project, user: User) -> Json:
    state = ctx.state
    direct = state.membership("Project", record.id, user)
    group_access: Json | None = None
    if state.namespace_owner(record.namespace_id) is None:
        level = state.group_access_level(user, state.groups[record.namespace_id])
        group_access = {"access_level": int(level), "notification_level": 3} if level else None
    project_access = {"access_level": int(direct.access_level), "notification_level": 3} if direct else None
    return {"project_access": project_access, "group_access": group_access}


def member(ctx: ApiContext, membership: Membership) -> Json:
    user = ctx.state.users[membership.user_id]
    return {
        **user_basic(ctx, user),
        "access_level": int(membership.access_level),
        "created_at": iso_time(membership.created_at),
        "expires_at": None,
        "membership_state": "active",
    }


def ssh_key(key: SshKey) -> Json:
    return {
        "id": key.id,
        "title": key.title,
        "created_at": iso_time(key.created_at),
        "expires_at": iso_time(key.expires_at) if key.expires_at else None,
        "key": key.key,
        "fingerprint": key.fingerprint_md5,
        "fingerprint_sha256": key.fingerprint_sha256,
    }


def deploy_key_of_project(key: SshKey, link: DeployKeyLink) -> Json:
    """``Entities::DeployKeysProject``: the key merged with this project's ``can_push``."""
    return {**ssh_key(key), "can_push": link.can_push}


def deploy_key_with_projects(ctx: ApiContext, key: SshKey) -> Json:
    """``GET /deploy_keys`` (administrators): each key with the projects it may push to."""
    writable = [p for p, link in ctx.state.projects_of_deploy_key(key) if link.can_push]
    return {**ssh_key(key), "projects_with_write_access": [_project_identity(ctx, p) for p in writable]}


def _project_identity(ctx: ApiContext, record: Project) -> Json:
    return {
        "id": record.id,
        "description": record.description,
        "name": record.name,
        "name_with_namespace": f"{_namespace_full_name(ctx, record.namespace_id)} / {record.name}",
        "path": record.path,
        "path_with_namespace": ctx.state.path_with_namespace(record),
        "created_at": iso_time(record.created_at),
    }


def access_token(ctx: ApiContext, token: AccessToken, plaintext: str | None = None) -> Json:
    entity: Json = {
        "id": token.id,
        "name": token.name,
        "revoked": token.revoked,
        "created_at": iso_time(token.created_at),
        "scopes": token.scopes,
        "user_id": token.user_id,
        "last_used_at": iso_time(token.last_used_at) if token.last_used_at else None,
        "active": token.is_active(dt.datetime.now(dt.UTC).date()),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }
    if token.project_id is not None:
        project_record = ctx.state.projects.get(token.project_id)
        bot = ctx.state.users[token.user_id]
        membership = ctx.state.membership("Project", token.project_id, bot) if project_record else None
        entity["access_level"] = int(membership.access_level) if membership else 0
    if plaintext is not None:
        entity["token"] = plaintext
    return entity


def hook(record: ProjectHook) -> Json:
    return {
        "id": record.id,
        "url": record.url,
        "created_at": iso_time(record.created_at),
        "project_id": record.project_id,
        **record.events,
        "push_events_branch_filter": record.push_events_branch_filter or None,
        "enable_ssl_verification": record.enable_ssl_verification,
        "alert_status": "executable",
        "disabled_until": None,
        "url_variables": [],
    }


def _access_rule(ctx: ApiContext, rule: BranchAccessRule) -> Json:
    if rule.deploy_key_id is not None:
        key = ctx.state.keys.get(rule.deploy_key_id)
        description = key.title if key else "Deploy key"
    else:
        description = ACCESS_LEVEL_DESCRIPTIONS.get(rule.access_level, rule.access_level.name.title())
    return {
        "id": rule.id,
        "access_level": int(rule.access_level),
        "access_level_description": description,
        "deploy_key_id": rule.deploy_key_id,
        "user_id": None,
        "group_id": None,
    }


def protected_branch(ctx: ApiContext, record: ProtectedBranch) -> Json:
    return {
        "id": record.id,
        "name": record.name,
        "push_access_levels": [_access_rule(ctx, rule) for rule in record.push_access_levels],
        "merge_access_levels": [_access_rule(ctx, rule) for rule in record.merge_access_levels],
        "unprotect_access_levels": [],
        "allow_force_push": record.allow_force_push,
        "code_owner_approval_required": False,
    }


def commit(ctx: ApiContext, path_with_namespace: str, record: CommitInfo) -> Json:
    return {
        "id": record.id,
        "short_id": record.id[:8],
        "created_at": record.committed_date,
        "parent_ids": record.parent_ids,
        "title": record.title,
        "message": record.message,
        "author_name": record.author_name,
        "author_email": record.author_email,
        "authored_date": record.authored_date,
        "committer_name": record.committer_name,
        "committer_email": record.committer_email,
        "committed_date": record.committed_date,
        "trailers": {},
        "web_url": ctx.urls.commit_web(path_with_namespace, record.id),
    }


def blame_commit(record: CommitInfo) -> Json:
    """``Entities::BlameRangeCommit`` (gitlab ``lib/api/entities/blame_range_commit.rb``)."""
    return {
        "id": record.id,
        "parent_ids": record.parent_ids,
        "message": record.message,
        "authored_date": record.authored_date,
        "author_name": record.author_name,
        "author_email": record.author_email,
        "committed_date": record.committed_date,
        "committer_name": record.committer_name,
        "committer_email": record.committer_email,
    }


def diff(record: FileDiff) -> Json:
    """``Entities::Diff`` as GitLab 15.10 has it (gitlab ``lib/api/entities/diff.rb``)."""
    return {
        "diff": record.diff,
        "new_path": record.new_path,
        "old_path": record.old_path,
        "a_mode": record.a_mode,
        "b_mode": record.b_mode,
        "new_file": record.new_file,
        "renamed_file": record.renamed_file,
        "deleted_file": record.deleted_file,
    }
