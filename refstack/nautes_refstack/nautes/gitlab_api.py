"""GitLab REST v4 as the API server uses it: the caller's token, go-gitlab's error texts, typed mapping.

The real server builds a go-gitlab OAuth client from the caller's token for every request (NAUTES
``pkg/gitlab``), so every permission decision is GitLab's. ``internal/data/gitlab.go`` then turns some
HTTP statuses into typed errors (403 -> ``NO_AUTHORIZATION``, 404 -> ``GROUP_NOT_FOUND`` ...); all other
failures reach the client as a plain 500 whose message is go-gitlab's ``ErrorResponse.Error()``:
``GET http://gitlab/api/v4/groups/demo: 404 {message: 404 Group Not Found}``. Each request is sent as
go-gitlab sends it: again on a 429 or a 5xx, with its pauses (:mod:`nautes_refstack.go_gitlab`).
"""

from __future__ import annotations

import errno
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import aiohttp

from nautes_refstack import go_gitlab
from nautes_refstack.nautes import errors
from nautes_refstack.nautes.errors import NautesError
from nautes_refstack.pace import INSTANT, Pace

JsonObject = dict[str, Any]


@dataclass
class GitLabCallError(Exception):
    """A failed GitLab call; ``text`` is what go-gitlab's error prints."""

    status: int
    text: str

    def __str__(self) -> str:
        return self.text


def go_gitlab_message(body: bytes) -> str:
    """go-gitlab ``parseError``: JSON error bodies flattened to ``{key: value}`` pairs, sorted."""
    try:
        raw = json.loads(body)
    except ValueError:
        return f"failed to parse unknown error format: {body.decode(errors='replace')}"
    return _flatten(raw)


def _flatten(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        return "[" + ", ".join(_flatten(item) for item in raw) + "]"
    if isinstance(raw, dict):
        return ", ".join(sorted(f"{{{key}: {_flatten(value)}}}" for key, value in raw.items()))
    return f"failed to parse unexpected error type: {_go_type_name(raw)}"


def _go_type_name(raw: object) -> str:
    if isinstance(raw, bool):
        return "bool"
    if isinstance(raw, int | float):
        return "float64"
    return "<nil>"


def _go_transport_error(failure: aiohttp.ClientError) -> str:
    """How Go's net/http reports the common transport failure (``dial tcp ...: connection refused``)."""
    if isinstance(failure, aiohttp.ClientConnectorError) and failure.os_error.errno == errno.ECONNREFUSED:
        return f"dial tcp {failure.host}:{failure.port}: connect: connection refused"
    return str(failure)


def path_id(value: int | str) -> str:
    """go-gitlab ``parseID`` + ``PathEscape``: numeric IDs as is, paths with ``/`` escaped."""
    return str(value) if isinstance(value, int) else quote(value, safe="")


class GitLabApi:
    """The GitLab calls of one API request, authenticated as the caller (``Authorization: Bearer``);
    ``pace`` makes go-gitlab's pauses between resends last as real pauses do on this stack."""

    def __init__(
        self, http: aiohttp.ClientSession, gitlab_url: str, token: str, pace: Pace = INSTANT
    ) -> None:
        self._http = http
        self._base = gitlab_url.rstrip("/") + "/api/v4/"
        self._token = token
        self._pace = pace
        self.gitlab_url = gitlab_url.rstrip("/")

    async def call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: JsonObject | None = None
    ) -> Any:
        """One REST call; raises :class:`GitLabCallError` for any non-2xx answer or transport failure."""
        if not self._token:
            raise errors.plain("token is not found")
        url = self._base + path
        shown = self._shown_url(url)
        try:
            answer = await self._send(method, url, params=params, json=body)
        except aiohttp.ClientError as failure:
            raise GitLabCallError(0, f'{method.title()} "{shown}": {_go_transport_error(failure)}') from None
        if answer.status not in (200, 201, 202, 204, 304):
            message = go_gitlab_message(answer.body)
            raise GitLabCallError(answer.status, f"{method} {shown}: {answer.status} {message}")
        return json.loads(answer.body) if answer.body.strip() else None

    async def _send(self, method: str, url: str, **options: Any) -> go_gitlab.Answer:
        """One request as go-gitlab sends it (again on a 429 or a 5xx); transport errors are raised."""
        headers = {"Authorization": f"Bearer {self._token}"}

        async def once() -> go_gitlab.Answer:
            async with self._http.request(method, url, headers=headers, **options) as response:
                return go_gitlab.Answer(response.status, await response.read())

        return await go_gitlab.send(once, self._pace, f"{method} {url}")

    def _shown_url(self, url: str) -> str:
        """Scheme, host and the *unescaped* path, as ``ErrorResponse.Error()`` prints them."""
        scheme, rest = url.split("://", 1)
        host, _, path = rest.partition("/")
        return f"{scheme}://{host}/{unquote(path)}"

    async def _typed(self, method: str, path: str, mapping: dict[int, tuple[str, str]], **kwargs: Any) -> Any:
        """Call GitLab; statuses in ``mapping`` become typed errors (same code, given reason and prefix)."""
        try:
            return await self.call(method, path, **kwargs)
        except GitLabCallError as failure:
            if failure.status in mapping:
                reason, prefix = mapping[failure.status]
                raise NautesError(failure.status, reason, prefix + failure.text) from None
            raise errors.plain(failure.text) from None

    async def plain(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call whose failures all reach the client as plain 500s."""
        return await self._typed(method, path, {}, **kwargs)

    # --- users, groups, projects (GetGroup / GetCodeRepo and friends) ------------------------------------

    async def current_user(self) -> JsonObject:
        user: JsonObject = await self.call("GET", "user")
        return user

    async def group(self, group: int | str) -> JsonObject:
        found: JsonObject = await self._typed(
            "GET",
            f"groups/{path_id(group)}",
            {
                403: ("NO_AUTHORIZATION", "no access to the server, err: "),
                404: ("GROUP_NOT_FOUND", "failed to get group, err: "),
            },
        )
        return found

    async def project(self, project: int | str) -> JsonObject:
        found: JsonObject = await self._typed(
            "GET",
            f"projects/{path_id(project)}",
            {
                403: ("NO_AUTHORIZATION", "no permission to get project, err: "),
                404: ("PROJECT_NOT_FOUND", "failed to get project, err: "),
            },
        )
        return found

    async def create_group(self, options: JsonObject) -> JsonObject:
        created: JsonObject = await self._typed(
            "POST",
            "groups",
            {403: ("NO_AUTHORIZATION", "no permission to create group, err: ")},
            body=options,
        )
        return created

    async def delete_group(self, group_id: int) -> None:
        await self._typed(
            "DELETE",
            f"groups/{group_id}",
            {403: ("NO_AUTHORIZATION", "no permission to delete group, err: ")},
        )

    async def group_projects(self, group: int | str, page: int = 0, per_page: int = 0) -> list[JsonObject]:
        params = {"page": str(page), "per_page": str(per_page)} if page else None
        projects: list[JsonObject] = await self.plain(
            "GET", f"groups/{path_id(group)}/projects", params=params
        )
        return projects

    async def search_projects(self, search: str) -> list[JsonObject]:
        projects: list[JsonObject] = await self.plain("GET", "projects", params={"search": search})
        return projects

    # --- deploy keys ------------------------------------------------------------------------------------

    async def deploy_keys(self, project_id: int, page: int, per_page: int) -> list[JsonObject]:
        keys: list[JsonObject] = await self._typed(
            "GET",
            f"projects/{project_id}/deploy_keys",
            {404: ("DEPLOYKEY_NOT_FOUND", "failed to list deploykeys, err: ")},
            params={"page": str(page), "per_page": str(per_page)},
        )
        return keys

    async def deploy_key(self, project_id: int, key_id: int) -> JsonObject:
        key: JsonObject = await self._typed(
            "GET",
            f"projects/{project_id}/deploy_keys/{key_id}",
            {404: ("DEPLOYKEY_NOT_FOUND", "failed to get deploy key, err: ")},
        )
        return key

    async def delete_deploy_key(self, project_id: int, key_id: int) -> None:
        await self._typed(
            "DELETE",
            f"projects/{project_id}/deploy_keys/{key_id}",
            {404: ("DEPLOYKEY_NOT_FOUND", "failed to delete deploy key, err: ")},
        )

    # --- project access tokens --------------------------------------------------------------------------

    async def access_tokens(self, project_id: int, page: int, per_page: int) -> list[JsonObject]:
        tokens: list[JsonObject] = await self._typed(
            "GET",
            f"projects/{project_id}/access_tokens",
            {404: ("ACCESSTOKEN_NOT_FOUND", "failed to list access tokens, err: ")},
            params={"page": str(page), "per_page": str(per_page)},
        )
        return tokens

    async def access_token(self, project_id: int, token_id: int) -> JsonObject:
        token: JsonObject = await self._typed(
            "GET",
            f"projects/{project_id}/access_tokens/{token_id}",
            {404: ("ACCESSTOKEN_NOT_FOUND", "failed to get access token, err: ")},
        )
        return token

    # --- repository files (the tenant repository read without a clone) ----------------------------------

    async def raw_file(self, project: int | str, file_path: str, ref: str = "main") -> str | None:
        """A file's text, or ``None`` when the project, the ref or the file is not there (or not readable).

        It stands for the real server's reads of the CRs Argo CD synced (:mod:`..tenant`), which reach the
        Kubernetes API, never GitLab: sent as go-gitlab sends, a GitLab that answers a transient 5xx leaves
        it as unharmed as the real read is, instead of making a registered cluster look absent."""
        url = f"{self._base}projects/{path_id(project)}/repository/files/{quote(file_path, safe='')}/raw"
        answer = await self._send("GET", url, params={"ref": ref})
        return answer.body.decode() if answer.status == 200 else None
