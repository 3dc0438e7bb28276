"""The emulated GitLab's database: records, their ids, uniqueness rules, cascades, and the repos on disk.

All of it lives in memory and is only touched from the event loop's thread. The rules enforced here are
GitLab's model validations (taken paths, invalid keys); who may do what is ``permissions.py``'s job.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import itertools
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from nautes_refstack.gitlab.activity import Event, PushRecord, push_action
from nautes_refstack.gitlab.model import (
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
    RefChange,
    SshKey,
    User,
    Visibility,
)
from nautes_refstack.gitlab.repository import BareRepository
from nautes_refstack.gitlab.ssh_keys import PublicKey

TOKEN_PREFIX = "glpat-"
_PATH_PATTERN = re.compile(r"\A[a-zA-Z0-9_.][a-zA-Z0-9_.-]*\Z")
PATH_RULE = (
    "can contain only letters, digits, '_', '-' and '.'. "
    "Cannot start with '-', end in '.git' or end in '.atom'"
)
TAKEN = "has already been taken"


class ValidationFailed(Exception):
    """GitLab's model validation errors, attribute -> messages (rendered as a 400 by the REST layer)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def path_errors(path: str) -> list[str]:
    if not path:
        return ["can't be blank"]
    if not _PATH_PATTERN.match(path) or path.endswith((".git", ".atom")):
        return [PATH_RULE]
    return []


class GitLabState:
    def __init__(self, repositories_root: Path, hook_source: str) -> None:
        self.repositories_root = repositories_root
        self.hook_source = hook_source
        self.users: dict[int, User] = {}
        self.tokens: dict[int, AccessToken] = {}
        self.groups: dict[int, Group] = {}
        self.projects: dict[int, Project] = {}
        self.memberships: list[Membership] = []
        self.group_links: list[GroupLink] = []
        self.events: list[Event] = []
        self.keys: dict[int, SshKey] = {}
        self.deploy_links: list[DeployKeyLink] = []
        self.hooks: dict[int, ProjectHook] = {}
        self.protected_branches: dict[int, ProtectedBranch] = {}
        self._user_namespaces: dict[int, int] = {}  # namespace id -> user id
        self._ids: dict[str, Iterator[int]] = {}

    def next_id(self, table: str) -> int:
        return next(self._ids.setdefault(table, itertools.count(1)))

    # --- users and tokens -------------------------------------------------------------------------

    def create_user(
        self, username: str, name: str, email: str, is_admin: bool = False, bot: bool = False
    ) -> User:
        errors: dict[str, list[str]] = {}
        if self.user_by_username(username) is not None or self._top_level_path_taken(username):
            errors["username"] = [TAKEN]
        if any(user.email.lower() == email.lower() for user in self.users.values()):
            errors["email"] = [TAKEN]
        if errors:
            raise ValidationFailed(errors)
        namespace_id = self.next_id("namespaces")
        user = User(self.next_id("users"), username, name, email, namespace_id, is_admin=is_admin, bot=bot)
        self.users[user.id] = user
        self._user_namespaces[namespace_id] = user.id
        return user

    def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.lower() == email.lower()), None)

    def delete_user(self, user: User, hard_delete: bool) -> None:
        """Remove a user with their personal projects, memberships, tokens and SSH keys. The groups they
        alone own go too with ``hard_delete``; without it such a user stays (GitLab orphans no group)."""
        solo_owned = [
            g
            for g in self.groups.values()
            if [m.user_id for m in self.members_of("Namespace", g.id) if m.access_level == AccessLevel.OWNER]
            == [user.id]
        ]
        if solo_owned and not hard_delete:
            return
        for group in solo_owned:
            if group.id in self.groups:
                self.delete_group(group)
        for project in [p for p in self.projects.values() if p.namespace_id == user.namespace_id]:
            self.delete_project(project)
        self.memberships = [m for m in self.memberships if m.user_id != user.id]
        self.tokens = {i: t for i, t in self.tokens.items() if t.user_id != user.id}
        self.keys = {i: k for i, k in self.keys.items() if k.deploy or k.user_id != user.id}
        del self._user_namespaces[user.namespace_id]
        del self.users[user.id]

    def user_by_username(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username.lower() == username.lower()), None)

    def issue_token(
        self,
        user: User,
        name: str,
        scopes: list[str],
        project: Project | None = None,
        expires_at: dt.date | None = None,
    ) -> tuple[AccessToken, str]:
        """A new token and its only plaintext copy (GitLab 15's ``glpat-`` format)."""
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(15)[:20]
        token = AccessToken(
            id=self.next_id("tokens"),
            user_id=user.id,
            name=name,
            scopes=list(scopes),
            digest=token_digest(plaintext),
            project_id=project.id if project else None,
            expires_at=expires_at,
        )
        self.tokens[token.id] = token
        return token, plaintext

    def authenticate(self, plaintext: str) -> tuple[User, AccessToken] | None:
        """The active user and token a token string belongs to (marking the token used)."""
        digest = token_digest(plaintext)
        token = next((t for t in self.tokens.values() if secrets.compare_digest(t.digest, digest)), None)
        if token is None or not token.is_active(dt.datetime.now(dt.UTC).date()):
            return None
        user = self.users.get(token.user_id)
        if user is None or user.state != "active":
            return None
        token.last_used_at = dt.datetime.now(dt.UTC)
        return user, token

    def revoke_project_token(self, token: AccessToken) -> None:
        """Revoking a project access token also removes its bot user's membership, as GitLab does."""
        token.revoked = True
        bot = self.users.get(token.user_id)
        if bot is not None and bot.bot:
            bot.state = "blocked"
            self.memberships = [m for m in self.memberships if m.user_id != bot.id]

    # --- namespaces -------------------------------------------------------------------------------

    def group_full_path(self, group: Group) -> str:
        return "/".join(g.path for g in reversed(self.group_ancestors(group)))

    def group_ancestors(self, group: Group) -> list[Group]:
        """``group`` itself, then its parent, up to the top-level group."""
        chain = [group]
        while chain[-1].parent_id is not None:
            chain.append(self.groups[chain[-1].parent_id])
        return chain

    def namespace_owner(self, namespace_id: int) -> User | None:
        """The user whose personal namespace this is (``None`` for a group)."""
        user_id = self._user_namespaces.get(namespace_id)
        return self.users.get(user_id) if user_id is not None else None

    def namespace_full_path(self, namespace_id: int) -> str:
        owner = self.namespace_owner(namespace_id)
        return owner.username if owner else self.group_full_path(self.groups[namespace_id])

    def namespace_exists(self, namespace_id: int) -> bool:
        return namespace_id in self.groups or namespace_id in self._user_namespaces

    def group_by_full_path(self, full_path: str) -> Group | None:
        wanted = full_path.strip("/").lower()
        return next((g for g in self.groups.values() if self.group_full_path(g).lower() == wanted), None)

    def subgroups(self, group: Group) -> list[Group]:
        return [g for g in self.groups.values() if g.parent_id == group.id]

    def _top_level_path_taken(self, path: str) -> bool:
        return any(g.parent_id is None and g.path.lower() == path.lower() for g in self.groups.values())

    def create_group(
        self,
        name: str,
        path: str,
        description: str,
        visibility: Visibility,
        parent: Group | None,
        creator: User,
    ) -> Group:
        errors: dict[str, list[str]] = {}
        if problems := path_errors(path):
            errors["path"] = problems
        elif self._group_path_taken(path, parent, exclude=None):
            errors["path"] = [TAKEN]
        if errors:
            raise ValidationFailed(errors)
        group = Group(
            self.next_id("namespaces"), name, path, description, visibility, parent.id if parent else None
        )
        self.groups[group.id] = group
        self.add_member("Namespace", group.id, creator, AccessLevel.OWNER)
        return group

    def _group_path_taken(self, path: str, parent: Group | None, exclude: Group | None) -> bool:
        if parent is None and self.user_by_username(path) is not None:
            return True
        parent_id = parent.id if parent else None
        return any(
            g.parent_id == parent_id and g.path.lower() == path.lower() and g is not exclude
            for g in self.groups.values()
        )

    def update_group(
        self,
        group: Group,
        name: str | None,
        path: str | None,
        description: str | None,
        visibility: Visibility | None,
    ) -> None:
        if path is not None and path != group.path:
            if problems := path_errors(path):
                raise ValidationFailed({"path": problems})
            parent = self.groups.get(group.parent_id) if group.parent_id is not None else None
            if self._group_path_taken(path, parent, exclude=group):
                raise ValidationFailed({"path": [TAKEN]})
            old_dir = self.repositories_root / self.group_full_path(group)
            group.path = path
            if old_dir.exists():
                shutil.move(old_dir, self.repositories_root / self.group_full_path(group))
        group.name = name if name is not None else group.name
        group.description = description if description is not None else group.description
        group.visibility = visibility if visibility is not None else group.visibility

    def delete_group(self, group: Group) -> None:
        for subgroup in self.subgroups(group):
            self.delete_group(subgroup)
        for project in [p for p in self.projects.values() if p.namespace_id == group.id]:
            self.delete_project(project)
        shutil.rmtree(self.repositories_root / self.group_full_path(group), ignore_errors=True)
        self.memberships = [
            m for m in self.memberships if (m.source_type, m.source_id) != ("Namespace", group.id)
        ]
        self.group_links = [
            link
            for link in self.group_links
            if group.id not in (link.shared_group_id, link.shared_with_group_id)
        ]
        del self.groups[group.id]

    # --- projects ---------------------------------------------------------------------------------

    def path_with_namespace(self, project: Project) -> str:
        return f"{self.namespace_full_path(project.namespace_id)}/{project.path}"

    def project_by_path(self, path_with_namespace: str) -> Project | None:
        wanted = path_with_namespace.strip("/").removesuffix(".git").lower()
        return next(
            (p for p in self.projects.values() if self.path_with_namespace(p).lower() == wanted), None
        )

    def repository(self, project: Project) -> BareRepository:
        return BareRepository(self.repositories_root / f"{self.path_with_namespace(project)}.git")

    def _project_clashes(
        self, namespace_id: int, name: str, path: str, exclude: Project | None
    ) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        siblings = [p for p in self.projects.values() if p.namespace_id == namespace_id and p is not exclude]
        if any(p.name.lower() == name.lower() for p in siblings):
            errors["name"] = [TAKEN]
        if any(p.path.lower() == path.lower() for p in siblings):
            errors["path"] = [TAKEN]
        return errors

    def create_project(
        self,
        name: str,
        path: str,
        namespace_id: int,
        description: str,
        visibility: Visibility,
        creator: User,
        default_branch: str,
    ) -> Project:
        errors = {"path": problems} if (problems := path_errors(path)) else {}
        errors = errors or self._project_clashes(namespace_id, name, path, exclude=None)
        if errors:
            raise ValidationFailed(errors)
        project = Project(
            self.next_id("projects"),
            name,
            path,
            namespace_id,
            description,
            visibility,
            creator.id,
            default_branch,
        )
        self.projects[project.id] = project
        BareRepository.create(self.repository(project).path, default_branch, self.hook_source)
        return project

    def rename_project(self, project: Project, name: str | None, path: str | None) -> None:
        new_name = name if name is not None else project.name
        new_path = path if path is not None else project.path
        errors = {"path": problems} if (problems := path_errors(new_path)) else {}
        errors = errors or self._project_clashes(project.namespace_id, new_name, new_path, exclude=project)
        if errors:
            raise ValidationFailed(errors)
        old_repository = self.repository(project)
        project.name, project.path = new_name, new_path
        if old_repository.path != self.repository(project).path:
            shutil.move(old_repository.path, self.repository(project).path)

    def delete_project(self, project: Project) -> None:
        shutil.rmtree(self.repository(project).path, ignore_errors=True)
        for link in [link for link in self.deploy_links if link.project_id == project.id]:
            self.disable_deploy_key(self.keys[link.key_id], project)
        for token in [t for t in self.tokens.values() if t.project_id == project.id]:
            self.revoke_project_token(token)
        self.memberships = [
            m for m in self.memberships if (m.source_type, m.source_id) != ("Project", project.id)
        ]
        self.hooks = {i: h for i, h in self.hooks.items() if h.project_id != project.id}
        self.events = [e for e in self.events if e.project_id != project.id]
        self.protected_branches = {
            i: pb for i, pb in self.protected_branches.items() if pb.project_id != project.id
        }
        del self.projects[project.id]

    # --- events -----------------------------------------------------------------------------------

    def record_project_created(self, project: Project, author: User) -> None:
        self.events.append(Event(self.next_id("events"), project.id, author.id, "created"))

    def record_push(
        self, project: Project, author: User, change: RefChange, branches: dict[str, str]
    ) -> None:
        """One event per moved ref; for a new branch, the other branches' tips as they were."""
        others = tuple(sha for name, sha in branches.items() if f"refs/heads/{name}" != change.ref)
        record = PushRecord(change, others if change.is_creation else ())
        self.events.append(Event(self.next_id("events"), project.id, author.id, push_action(change), record))

    # --- members ----------------------------------------------------------------------------------

    def add_member(self, source_type: str, source_id: int, user: User, level: AccessLevel) -> Membership:
        if self.membership(source_type, source_id, user) is not None:
            raise ValidationFailed({"user": ["already exists"]})
        membership = Membership(
            "Project" if source_type == "Project" else "Namespace", source_id, user.id, level
        )
        self.memberships.append(membership)
        return membership

    def membership(self, source_type: str, source_id: int, user: User) -> Membership | None:
        return next(
            (
                m
                for m in self.memberships
                if m.source_type == source_type and m.source_id == source_id and m.user_id == user.id
            ),
            None,
        )

    def members_of(self, source_type: str, source_id: int) -> list[Membership]:
        return [m for m in self.memberships if m.source_type == source_type and m.source_id == source_id]

    def group_access_level(self, user: User, group: Group) -> AccessLevel:
        """The highest role ``user`` holds on ``group`` or any group above it (members are inherited), or
        through a group one of those is shared with, capped at the share's access (shares do not chain)."""
        chain = self.group_ancestors(group)
        levels = [self._direct_group_level(user, chain)]
        for link in self.group_links:
            if any(link.shared_group_id == ancestor.id for ancestor in chain):
                with_group = self.groups.get(link.shared_with_group_id)
                if with_group is not None:
                    through = self._direct_group_level(user, self.group_ancestors(with_group))
                    levels.append(min(through, link.group_access))
        return max(levels)

    def _direct_group_level(self, user: User, chain: list[Group]) -> AccessLevel:
        levels = [
            m.access_level
            for ancestor in chain
            if (m := self.membership("Namespace", ancestor.id, user)) is not None
        ]
        return max(levels, default=AccessLevel.NO_ACCESS)

    def project_access_level(self, user: User, project: Project) -> AccessLevel:
        """Direct project membership, the group chain's, or Owner of one's own personal namespace."""
        direct = self.membership("Project", project.id, user)
        levels = [direct.access_level] if direct else []
        owner = self.namespace_owner(project.namespace_id)
        if owner is not None:
            levels.append(AccessLevel.OWNER if owner.id == user.id else AccessLevel.NO_ACCESS)
        else:
            levels.append(self.group_access_level(user, self.groups[project.namespace_id]))
        return max(levels, default=AccessLevel.NO_ACCESS)

    # --- SSH keys and deploy keys -----------------------------------------------------------------

    def key_by_fingerprint(self, fingerprint_sha256: str) -> SshKey | None:
        return next((k for k in self.keys.values() if k.fingerprint_sha256 == fingerprint_sha256), None)

    def add_key(
        self, owner: User, title: str, key: PublicKey, deploy: bool, expires_at: dt.datetime | None
    ) -> SshKey:
        """A user key or a new deploy key; a fingerprint is unique across both kinds, as in GitLab."""
        if self.key_by_fingerprint(key.fingerprint_sha256) is not None:
            raise ValidationFailed({"fingerprint_sha256": [TAKEN]})
        record = SshKey(
            id=self.next_id("keys"),
            title=title,
            key=key.text,
            fingerprint_md5=key.fingerprint_md5,
            fingerprint_sha256=key.fingerprint_sha256,
            user_id=owner.id,
            deploy=deploy,
            expires_at=expires_at,
        )
        self.keys[record.id] = record
        return record

    def deploy_link(self, key: SshKey, project: Project) -> DeployKeyLink | None:
        return next((d for d in self.deploy_links if d.key_id == key.id and d.project_id == project.id), None)

    def deploy_keys_of(self, project: Project) -> list[tuple[SshKey, DeployKeyLink]]:
        return [(self.keys[link.key_id], link) for link in self.deploy_links if link.project_id == project.id]

    def projects_of_deploy_key(self, key: SshKey) -> Iterable[tuple[Project, DeployKeyLink]]:
        return [(self.projects[link.project_id], link) for link in self.deploy_links if link.key_id == key.id]

    def enable_deploy_key(self, key: SshKey, project: Project, can_push: bool = False) -> DeployKeyLink:
        link = self.deploy_link(key, project)
        if link is None:
            link = DeployKeyLink(key.id, project.id, can_push, id=self.next_id("deploy_keys_projects"))
            self.deploy_links.append(link)
        return link

    def disable_deploy_key(self, key: SshKey, project: Project) -> None:
        """Remove a deploy key from a project; a key left on no project is destroyed, as GitLab does."""
        self.deploy_links = [
            d for d in self.deploy_links if not (d.key_id == key.id and d.project_id == project.id)
        ]
        if not any(d.key_id == key.id for d in self.deploy_links):
            self.keys.pop(key.id, None)

    # --- hooks and protected branches -------------------------------------------------------------

    def hooks_of(self, project: Project) -> list[ProjectHook]:
        return [h for h in self.hooks.values() if h.project_id == project.id]

    def protected_branches_of(self, project: Project) -> list[ProtectedBranch]:
        return [pb for pb in self.protected_branches.values() if pb.project_id == project.id]

    def protected_branch_named(self, project: Project, name: str) -> ProtectedBranch | None:
        """The protection rule whose name is exactly ``name`` (wildcards included literally)."""
        return next((pb for pb in self.protected_branches_of(project) if pb.name == name), None)

    def protections_matching(self, project: Project, branch: str) -> list[ProtectedBranch]:
        """Every rule that applies to ``branch``: exact names and wildcard names like ``release/*``."""
        return [pb for pb in self.protected_branches_of(project) if fnmatch.fnmatchcase(branch, pb.name)]

    def new_access_rule(self, level: AccessLevel, deploy_key_id: int | None = None) -> BranchAccessRule:
        return BranchAccessRule(self.next_id("access_rules"), level, deploy_key_id)

    def protect_branch(
        self,
        project: Project,
        name: str,
        push_level: AccessLevel,
        merge_level: AccessLevel,
        allow_force_push: bool,
        push_deploy_key_ids: Iterable[int] = (),
    ) -> ProtectedBranch:
        push_rules = [self.new_access_rule(push_level)]
        push_rules += [self.new_access_rule(AccessLevel.MAINTAINER, key_id) for key_id in push_deploy_key_ids]
        protected = ProtectedBranch(
            id=self.next_id("protected_branches"),
            project_id=project.id,
            name=name,
            push_access_levels=push_rules,
            merge_access_levels=[self.new_access_rule(merge_level)],
            allow_force_push=allow_force_push,
        )
        self.protected_branches[protected.id] = protected
        return protected
