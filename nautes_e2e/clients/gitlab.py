"""GitLab, through python-gitlab: what the quickstart user looks at or clicks in the GitLab UI.

python-gitlab's errors carry the HTTP status; here a 404 becomes :class:`GitLabNotFound` (the stages ask
"does it exist?") and everything else :class:`GitLabError`, both with redacted text. No answer at all
(python-gitlab lets requests' exceptions through) is a
:class:`~nautes_e2e.clients.errors.ServiceUnreachable`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import gitlab
import gitlab.exceptions
import requests

from nautes_e2e.clients.errors import ServiceUnreachable, no_reply_reason, request_line
from nautes_e2e.clients.transient import RetryLog, RetryPolicy, call_with_retries, retrying_session
from nautes_e2e.secrets import Secret, redact

T = TypeVar("T")
REQUEST_TIMEOUT_S = 30.0
TLS_HINT = "give its CA as gitlab.caBundle (or caBundle) in the target file"


class GitLabError(Exception):
    """A GitLab API call failed; ``status`` is the HTTP status when there was a reply."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(redact(message))
        self.status = status


class GitLabNotFound(GitLabError):
    """The group, project, file or branch does not exist (or the token may not see it)."""


class GitLabClient:
    """A GitLab user's view of GitLab, authenticated with a personal access token; ``ca_bundle`` is the
    complete CA file to verify GitLab with (:func:`~nautes_e2e.clients.trust.combined_bundle`).

    Safe requests answered 502/503/504 or reset are sent again (:mod:`~nautes_e2e.clients.transient`),
    each resend told to ``retries``. python-gitlab's own ``retry_transient_errors`` stays off: it also
    resends 500 and 520-530 (``gitlab/const.py`` ``RETRYABLE_TRANSIENT_ERROR_CODES``), POSTs and timed-out
    requests, up to 10 times, and sleeps without telling anyone (``gitlab/utils.py`` ``Retry``,
    python-gitlab 8.6.0), so a 500 would be hidden and a create sent twice."""

    def __init__(
        self, url: str, token: Secret, ca_bundle: Path | None = None, retries: RetryLog | None = None
    ) -> None:
        self.url = url
        self.retries = RetryLog() if retries is None else retries
        self._gl = gitlab.Gitlab(
            url,
            private_token=token.reveal(),
            ssl_verify=str(ca_bundle) if ca_bundle else True,
            timeout=REQUEST_TIMEOUT_S,
            session=retrying_session("GitLab", self.retries),
            retry_transient_errors=False,
        )

    def current_user(self) -> dict[str, Any]:
        """``GET /user``: the token's owner."""
        return self._call("the token's user", lambda: _as_dict(self._gl.http_get("/user")))

    def group_projects(self, group_path: str) -> list[dict[str, Any]]:
        """Every project of a group (the product's repositories); GitLabNotFound when the group is absent."""

        def projects() -> list[dict[str, Any]]:
            group = self._gl.groups.get(group_path)
            return [project.asdict() for project in group.projects.list(get_all=True)]

        return self._call(f"projects of group {group_path}", projects)

    def project(self, path_with_namespace: str) -> dict[str, Any]:
        return self._call(
            f"project {path_with_namespace}", lambda: self._gl.projects.get(path_with_namespace).asdict()
        )

    def allow_force_push(self, project_path: str, branch: str) -> None:
        """What the quickstart asks the user to click: protect ``branch`` with force-push allowed.

        A write answered 502/503/504 (GitLab restarting) is what a user clicks again: it is sent again under
        the transient policy, after reading back how the branch is protected now, so that a protection the
        earlier send created is updated, never created twice (the read-back is kept with the resend)."""
        protections = f"/api/v4/projects/{quote(project_path, safe='')}/protected_branches"

        def protect() -> None:
            project = self._gl.projects.get(project_path, lazy=True)

            def protected() -> bool:
                """``GET`` the protection (sent again by the transport on a transient answer)."""
                try:
                    project.protectedbranches.get(branch)
                except gitlab.exceptions.GitlabGetError as error:
                    if error.response_code != 404:
                        raise
                    return False
                return True

            state = [protected()]

            def read_back() -> str:
                state[0] = protected()
                return f"branch {branch} is {'' if state[0] else 'not '}protected"

            def allow() -> gitlab.exceptions.GitlabError | None:
                try:
                    if state[0]:
                        project.protectedbranches.update(branch, {"allow_force_push": True})
                    else:
                        project.protectedbranches.create({"name": branch, "allow_force_push": True})
                except gitlab.exceptions.GitlabError as error:
                    return error
                return None

            failure = call_with_retries(
                RetryPolicy(),
                self.retries,
                allow,
                status_of=lambda failure: 200 if failure is None else failure.response_code or 0,
                service="GitLab",
                method="PATCH" if state[0] else "POST",
                path=f"{protections}/{branch}" if state[0] else protections,
                read_back=read_back,
            )
            if failure is not None:
                raise failure

        self._call(f"protected branch {branch} of {project_path}", protect)

    def protected_branch(self, project_path: str, branch: str) -> dict[str, Any]:
        """How ``branch`` is protected (``allow_force_push``, access levels); GitLabNotFound if it is not."""

        def protection() -> dict[str, Any]:
            project = self._gl.projects.get(project_path, lazy=True)
            return dict(project.protectedbranches.get(branch).asdict())

        return self._call(f"protected branch {branch} of {project_path}", protection)

    def project_hooks(self, project_path: str) -> list[dict[str, Any]]:
        """The project's webhooks (url, events); their secret tokens are never part of GitLab's reply."""
        return self._list(f"webhooks of {project_path}", f"/projects/{quote(project_path, safe='')}/hooks")

    def branch_head(self, project_path: str, branch: str) -> str:
        """The commit ``branch`` points at (``GET /repository/branches/:branch``); GitLabNotFound if none."""
        return self._call(
            f"branch {branch} of {project_path}",
            lambda: str(self._gl.projects.get(project_path, lazy=True).branches.get(branch).commit["id"]),
        )

    def tree_blobs(self, project_path: str, ref: str) -> dict[str, str]:
        """Every file at ``ref`` and its git blob id (``GET /repository/tree?recursive=true``, all pages)."""

        def blobs() -> dict[str, str]:
            project = self._gl.projects.get(project_path, lazy=True)
            entries = project.repository_tree(ref=ref, recursive=True, get_all=True)
            return {str(entry["path"]): str(entry["id"]) for entry in entries if entry.get("type") == "blob"}

        return self._call(f"files of {project_path}@{ref}", blobs)

    def file_text(self, project_path: str, path: str, ref: str) -> str:
        """A file's content at ``ref`` (repository files API, raw)."""

        def raw() -> str:
            content = self._gl.projects.get(project_path, lazy=True).files.raw(file_path=path, ref=ref)
            return bytes(content).decode()

        return self._call(f"file {path}@{ref} of {project_path}", raw)

    def commits(self, project_path: str, ref: str, path: str | None = None) -> list[dict[str, Any]]:
        """Commits reachable from ``ref`` (newest first), optionally only those touching ``path``."""

        def commits() -> list[dict[str, Any]]:
            manager = self._gl.projects.get(project_path, lazy=True).commits
            # `path` is python-gitlab's own keyword (the request path): pass GitLab's filter as a query.
            query = {"ref_name": ref, **({"path": path} if path else {})}
            return [commit.asdict() for commit in manager.list(get_all=True, query_parameters=query)]

        return self._call(f"commits of {project_path}@{ref}", commits)

    # -- listings for the world's inventory (nautes_e2e.stages.inventory): one paginated GET each ---------

    def groups(self) -> list[dict[str, Any]]:
        """``GET /groups``: every group the token's user can see (all of them for an administrator)."""
        return self._list("groups", "/groups")

    def projects(self, *, min_access_level: int | None = None) -> list[dict[str, Any]]:
        """``GET /projects``: every project the token's user can see, or only those where it has at least
        ``min_access_level`` (40: Maintainer, who may list a project's hooks, keys and tokens)."""

        level: dict[str, Any] = {} if min_access_level is None else {"min_access_level": min_access_level}
        return self._list("projects", "/projects", simple=True, **level)

    def project_deploy_keys(self, project_id: int) -> list[dict[str, Any]]:
        """``GET /projects/:id/deploy_keys``: the keys enabled on the project (title, ``can_push``)."""
        return self._list(f"deploy keys of project {project_id}", f"/projects/{project_id}/deploy_keys")

    def project_access_tokens(self, project_id: int) -> list[dict[str, Any]]:
        """``GET /projects/:id/access_tokens``: the project's access tokens (names, never the tokens)."""
        return self._list(f"access tokens of project {project_id}", f"/projects/{project_id}/access_tokens")

    def project_members(self, project_id: int) -> list[dict[str, Any]]:
        """``GET /projects/:id/members``: the project's direct members."""
        return self._list(f"members of project {project_id}", f"/projects/{project_id}/members")

    def _list(self, what: str, path: str, **query: Any) -> list[dict[str, Any]]:
        """Every item of a listing, all pages, as GitLab sent it: what ``<manager>.list(get_all=True)`` sends
        and gets (``Gitlab.http_list``), without the python-gitlab object it builds around each item only to
        be turned back into a dict (a project's holds some ninety managers: a third of a millisecond each,
        and the inventory lists every project several times a run)."""
        return self._call(
            what, lambda: [_as_dict(item) for item in self._gl.http_list(path, get_all=True, **query)]
        )

    def _call(self, what: str, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except requests.RequestException as error:
            action = request_line(error) or what
            reason = no_reply_reason(error, timeout_s=REQUEST_TIMEOUT_S, tls_hint=TLS_HINT)
            raise ServiceUnreachable("GitLab", self.url, action, reason) from None
        except gitlab.exceptions.GitlabError as error:
            status = error.response_code
            if status == 404:
                raise GitLabNotFound(f"{what}: not found ({error.error_message})", status) from None
            raise GitLabError(f"{what}: {error}", status) from None


def _as_dict(reply: Any) -> dict[str, Any]:
    if not isinstance(reply, dict):
        raise GitLabError(f"expected a JSON object, got {type(reply).__name__}")
    return reply
