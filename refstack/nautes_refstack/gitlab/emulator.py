"""The emulated GitLab CE 15.10 as one object: REST API, git over HTTP and SSH, hooks, webhooks.

Other pieces of the reference stack use this seam: bootstrap users and tokens, look projects and files up
without HTTP, and hear about every push (``on_push``). Everything else goes through GitLab's own protocols.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.gitlab import git_http
from nautes_refstack.gitlab.deletion import BackgroundDeletions
from nautes_refstack.gitlab.events import PushCallback, PushDispatcher
from nautes_refstack.gitlab.git_ssh import GitSshServer
from nautes_refstack.gitlab.model import Project
from nautes_refstack.gitlab.receive import PushReceiver
from nautes_refstack.gitlab.repository import BareRepository, GitCommandError
from nautes_refstack.gitlab.repository_hooks import hook_source
from nautes_refstack.gitlab.rest import build_app
from nautes_refstack.gitlab.rest.context import ApiContext
from nautes_refstack.gitlab.root_user import seed_root
from nautes_refstack.gitlab.state import GitLabState
from nautes_refstack.gitlab.urls import GitLabUrls
from nautes_refstack.http import LOOPBACK, RunningSite, bind_loopback, serve
from nautes_refstack.pace import INSTANT, Pace


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    path: str
    path_with_namespace: str
    namespace_id: int
    default_branch: str


@dataclass(frozen=True)
class GroupInfo:
    id: int
    path: str
    full_path: str


class GitLab:
    """Repositories live in ``data_dir/repositories/<namespace>/<project>.git``; all else in memory.

    ``faults`` (default: none) reach the token checks (``gitlab-token-rejected``), the protected-branch
    API (``force-push-setting-ignored``) and webhook delivery (``webhook-not-delivered``). Under a ``real``
    ``pace`` projects and groups are deleted by a background job after the ``202`` (:mod:`.deletion`).
    """

    def __init__(self, data_dir: Path, faults: Faults = NO_FAULTS, pace: Pace = INSTANT) -> None:
        self.data_dir = data_dir
        self._faults = faults
        self._shared_secret = secrets.token_urlsafe(32)
        self._state = GitLabState(data_dir / "repositories", hook_source())
        self._deletions = BackgroundDeletions(self._state, pace)
        self._dispatcher = PushDispatcher(faults)
        self._urls: GitLabUrls | None = None
        self._site: RunningSite | None = None
        self._ssh: GitSshServer | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._state.repositories_root.mkdir(parents=True, exist_ok=True)
        seed_root(self._state, self.data_dir)
        # The HTTP URL must be known before serving (hooks and SSH sessions call it): hold the port bound.
        http_socket = bind_loopback()
        try:
            base_url = f"http://{LOOPBACK}:{http_socket.getsockname()[1]}"
            self._ssh = GitSshServer(self._state, f"{base_url}/api/v4/internal", self._shared_secret)
            await self._ssh.start(LOOPBACK)
            self._urls = GitLabUrls(base_url, f"ssh://git@{LOOPBACK}:{self._ssh.port}")
            await self._dispatcher.start(base_url)
            receiver = PushReceiver(self._state, self._urls, self._dispatcher, self._faults)
            app = build_app(
                ApiContext(
                    self._state, self._urls, receiver, self._shared_secret, self._deletions, self._faults
                )
            )
            app.router.add_routes(git_http.routes())
        except BaseException:
            http_socket.close()
            raise
        self._site = await serve(app, sock=http_socket)

    async def stop(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._ssh is not None:
            await self._ssh.stop()
            self._ssh = None
        await self._deletions.stop()
        await self._dispatcher.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:P``: the REST API is under ``/api/v4``, repositories under ``/<path>.git``."""
        return self._started_urls().base

    @property
    def ssh_url_base(self) -> str:
        """``ssh://git@127.0.0.1:Q``; a project's ``ssh_url_to_repo`` is ``{ssh_url_base}/{path}.git``."""
        return self._started_urls().ssh_base

    @property
    def ssh_host_public_key(self) -> str:
        """The SSH host key (OpenSSH format), for clients that check host keys."""
        if self._ssh is None:
            raise RuntimeError("GitLab.start() has not run")
        return self._ssh.host_public_key

    def _started_urls(self) -> GitLabUrls:
        if self._urls is None:
            raise RuntimeError("GitLab.start() has not run")
        return self._urls

    # --- bootstrap --------------------------------------------------------------------------------

    def create_user(self, username: str, name: str, email: str, is_admin: bool = False) -> int:
        return self._state.create_user(username, name, email, is_admin=is_admin).id

    def create_personal_access_token(self, user_id: int, name: str, scopes: list[str]) -> str:
        _, plaintext = self._state.issue_token(self._state.users[user_id], name, scopes)
        return plaintext

    # --- lookups ----------------------------------------------------------------------------------

    def find_project(self, path_with_namespace: str) -> ProjectInfo | None:
        project = self._state.project_by_path(path_with_namespace)
        if project is None:
            return None
        return ProjectInfo(
            id=project.id,
            path=project.path,
            path_with_namespace=self._state.path_with_namespace(project),
            namespace_id=project.namespace_id,
            default_branch=project.default_branch,
        )

    def find_group(self, full_path: str) -> GroupInfo | None:
        group = self._state.group_by_full_path(full_path)
        if group is None:
            return None
        return GroupInfo(id=group.id, path=group.path, full_path=self._state.group_full_path(group))

    def resolve_commit(self, project_path: str, ref: str) -> str | None:
        """The commit ``ref`` of project ``project_path`` points at; ``None`` if either is absent."""
        project = self.find_project(project_path)
        located = self._commit(project.id, ref) if project is not None else None
        return located[1] if located is not None else None

    def read_file(self, project_id: int, ref: str, path: str) -> bytes | None:
        """The file's bytes at ``ref`` (branch, tag or commit); ``None`` if project, ref or file is absent."""
        located = self._commit(project_id, ref)
        if located is None:
            return None
        repository, commit = located
        blob = repository.read_blob(commit, path)
        return blob.data if blob is not None else None

    def list_files(self, project_id: int, ref: str, prefix: str = "") -> list[str]:
        """Paths of every file at ``ref`` that start with ``prefix`` (sorted); empty if nothing is there."""
        located = self._commit(project_id, ref)
        if located is None:
            return []
        repository, commit = located
        return sorted(name for name in repository.list_files(commit) if name.startswith(prefix))

    def _commit(self, project_id: int, ref: str) -> tuple[BareRepository, str] | None:
        project: Project | None = self._state.projects.get(project_id)
        if project is None:
            return None
        repository = self._state.repository(project)
        try:
            commit = repository.resolve_commit(ref)
        except GitCommandError:
            return None
        return (repository, commit) if commit is not None else None

    # --- events -----------------------------------------------------------------------------------

    def on_push(self, callback: PushCallback) -> None:
        """Call ``callback`` after every push (HTTP, SSH, files API), once per moved ref, after the push.

        Pushes are reported one at a time in the order they landed, so a callback should hand long work to
        a task of its own rather than hold up the next push's events and webhooks.
        """
        self._dispatcher.on_push(callback)
