"""Git smart HTTP (``/<namespace>/<project>.git/...``) served by the real ``git http-backend`` as a CGI.

Authentication is GitLab's: HTTP Basic with any username (GitLab also documents ``oauth2``) and a personal
or project access token as the password. No credentials get the ``Basic realm="GitLab"`` challenge; a wrong
token gets 401 too, which git reports as "Authentication failed". Access is checked before http-backend
starts, with GitLab's messages in a ``text/plain`` body that git prints as ``remote:`` lines; pushes are
then checked ref by ref by the repository hooks.

Request bodies are streamed into the CGI as aiohttp hands them over: it has already undone chunked transfer
encoding (large pushes) and ``Content-Encoding: gzip`` (git compresses fetch negotiations), so neither
``CONTENT_LENGTH`` nor ``HTTP_CONTENT_ENCODING`` is passed and http-backend reads the body to EOF.

Follows https://git-scm.com/docs/http-protocol and gitlab
``app/controllers/repositories/git_http_controller.rb``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import logging
import os
import subprocess
from pathlib import Path

from aiohttp import web

from nautes_refstack.gitlab import git_access
from nautes_refstack.gitlab.git_access import GitAccessDenied, GitActor
from nautes_refstack.gitlab.model import Project
from nautes_refstack.gitlab.repository import clean_git_environment
from nautes_refstack.gitlab.repository_hooks import hook_environment
from nautes_refstack.gitlab.rest.context import ApiContext, context

log = logging.getLogger(__name__)

UPLOAD_PACK = "git-upload-pack"
RECEIVE_PACK = "git-receive-pack"
_CHUNK = 64 * 1024
_SCOPE_ABILITIES = {
    "api": git_access.ALL_ABILITIES,
    "write_repository": git_access.ALL_ABILITIES,
    "read_repository": frozenset({git_access.DOWNLOAD_CODE}),
}


@functools.cache
def http_backend_command() -> tuple[str, ...]:
    """``git http-backend`` as git itself runs it, its program in git's exec path, without the ``git``
    wrapper's own start (a millisecond on every git request over HTTP); the wrapper where that is not
    found."""
    found = subprocess.run(
        ["git", "--exec-path"], env=clean_git_environment(), capture_output=True, text=True, check=False
    )
    program = Path(found.stdout.strip()) / "git-http-backend"
    if found.returncode == 0 and os.access(program, os.X_OK):
        return (str(program),)
    return ("git", "http-backend")


def routes() -> list[web.RouteDef]:
    repo = r"/{repo:.+\.git}"
    return [
        web.get(repo + "/info/refs", serve_git),
        web.post(repo + "/" + UPLOAD_PACK, serve_git),
        web.post(repo + "/" + RECEIVE_PACK, serve_git),
    ]


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain", headers=headers)


def _access_denied(ctx: ApiContext) -> web.Response:
    message = (
        "HTTP Basic: Access denied. The provided password or token is incorrect or your account has 2FA "
        "enabled and you must use a personal access token instead of a password. See "
        f"{ctx.urls.base}/help/topics/git/troubleshooting_git#error-on-git-fetch-http-basic-access-denied"
    )
    return _text(401, message, {"WWW-Authenticate": 'Basic realm="GitLab"'})


def _credentials(request: web.Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, password


def _actor(ctx: ApiContext, password: str) -> GitActor | None:
    if ctx.faults.active("gitlab-token-rejected"):
        return None  # fault: the token expired or was revoked
    authenticated = ctx.state.authenticate(password)
    if authenticated is None:
        return None
    user, token = authenticated
    abilities = frozenset().union(*(_SCOPE_ABILITIES.get(scope, frozenset()) for scope in token.scopes))
    return GitActor(user, abilities=abilities)


async def serve_git(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    tail = request.path.rsplit(".git/", 1)[1]
    service = request.query.get("service", "") if tail == "info/refs" else tail
    if service not in (UPLOAD_PACK, RECEIVE_PACK):
        return _text(403, "Only the smart HTTP protocol is supported.")
    project = ctx.state.project_by_path(request.match_info["repo"])
    credentials = _credentials(request)
    if credentials is None:
        if project is not None and project.visibility == "public" and service == UPLOAD_PACK:
            return await _run_http_backend(request, ctx, project, tail, {"REMOTE_USER": ""})
        return _access_denied(ctx)
    actor = _actor(ctx, credentials[1])
    if actor is None:
        return _access_denied(ctx)
    if project is None:
        return _text(404, git_access.PROJECT_NOT_FOUND)
    try:
        check = git_access.check_download if service == UPLOAD_PACK else git_access.check_push
        check(ctx.state, actor, project)
    except GitAccessDenied as denied:
        return _text(404 if denied.not_found else 403, denied.message)
    env = {
        "REMOTE_USER": actor.user.username,
        **hook_environment(f"{ctx.urls.api}/internal", ctx.shared_secret, actor, project, "http"),
    }
    return await _run_http_backend(request, ctx, project, tail, env)


async def _run_http_backend(
    request: web.Request, ctx: ApiContext, project: Project, tail: str, extra_env: dict[str, str]
) -> web.StreamResponse:
    env = {
        **clean_git_environment(),
        "GIT_PROJECT_ROOT": str(ctx.state.repositories_root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{ctx.state.path_with_namespace(project)}.git/{tail}",
        "QUERY_STRING": request.query_string,
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REMOTE_ADDR": request.remote or "127.0.0.1",
        **extra_env,
    }
    if protocol := request.headers.get("Git-Protocol"):
        env["GIT_PROTOCOL"] = protocol
    process = await asyncio.create_subprocess_exec(
        *http_backend_command(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None
    feeder = asyncio.create_task(_feed(request, process.stdin))
    stderr_task = asyncio.create_task(process.stderr.read())
    try:
        status, headers = await _cgi_headers(process.stdout)
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        while chunk := await process.stdout.read(_CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder
        if process.returncode is None and not process.stdout.at_eof():
            process.kill()
        await process.wait()
        if stderr := (await stderr_task).decode(errors="replace").strip():
            log.debug("git http-backend (%s): %s", tail, stderr)


async def _feed(request: web.Request, stdin: asyncio.StreamWriter) -> None:
    try:
        async for chunk in request.content.iter_chunked(_CHUNK):
            stdin.write(chunk)
            await stdin.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        stdin.close()


async def _cgi_headers(stdout: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """Parse the CGI header block (``Status:`` gives the HTTP status, 200 when absent)."""
    status = 200
    headers: dict[str, str] = {}
    while line := (await stdout.readline()).decode("latin-1").rstrip("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers[name.strip()] = value.strip()
    return status, headers
