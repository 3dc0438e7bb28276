"""Git smart HTTP (``/<namespace>/<project>.git/...``) answered as ``git http-backend`` answers it.

Authentication is GitLab's: HTTP Basic with any username (GitLab also documents ``oauth2``) and a personal
or project access token as the password. No credentials get the ``Basic realm="GitLab"`` challenge; a wrong
token gets 401 too, which git reports as "Authentication failed". Access is checked before git starts, with
GitLab's messages in a ``text/plain`` body that git prints as ``remote:`` lines; pushes are then checked ref
by ref by the repository hooks.

The answers are the bytes and headers git's ``http-backend.c`` (git 2.39) writes, without starting that
CGI program, which would only start ``git upload-pack``/``git receive-pack`` itself: the no-cache headers,
the ``application/x-git-<service>-advertisement``/``-result`` content types, the 415 for another request
content type, the ``# service=`` pkt-line and flush before a protocol v0/v1 advertisement (none for v2),
the ``Git-Protocol`` header as ``GIT_PROTOCOL``, and the committer identity it gives the service. The
advertisement of an unchanged repository is remembered (:meth:`BareRepository.advertisement`): clients
probe ``info/refs`` before every fetch and push.

Request bodies are streamed into the service as aiohttp hands them over: it has already undone chunked
transfer encoding (large pushes) and ``Content-Encoding: gzip`` (git compresses fetch negotiations), which
http-backend would otherwise undo itself (``inflate_request``).

Follows https://git-scm.com/docs/http-protocol and gitlab
``app/controllers/repositories/git_http_controller.rb``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging

from aiohttp import web

from nautes_refstack.gitlab import git_access
from nautes_refstack.gitlab.git_access import GitAccessDenied, GitActor
from nautes_refstack.gitlab.model import Project
from nautes_refstack.gitlab.repository import BareRepository, GitCommandError, clean_git_environment
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
#: ``hdr_nocache()`` in git's ``http-backend.c``: on every smart HTTP answer.
_NO_CACHE = {
    "Expires": "Fri, 01 Jan 1980 00:00:00 GMT",
    "Pragma": "no-cache",
    "Cache-Control": "no-cache, max-age=0, must-revalidate",
}
_FLUSH = b"0000"


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
            return await _serve_service(request, ctx, project, service, "", {})
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
    hooks = hook_environment(f"{ctx.urls.api}/internal", ctx.shared_secret, actor, project, "http")
    return await _serve_service(request, ctx, project, service, actor.user.username, hooks)


def protocol_version(git_protocol: str | None) -> int:
    """The protocol version a ``GIT_PROTOCOL`` value asks for: the greatest ``version=<0|1|2>`` among its
    colon-separated keys, 0 without one (``determine_protocol_version_server`` in git's ``protocol.c``)."""
    versions = [
        int(item.removeprefix("version="))
        for item in (git_protocol or "").split(":")
        if item in ("version=0", "version=1", "version=2")
    ]
    return max(versions, default=0)


def pkt_line(text: str) -> bytes:
    """One pkt-line: four hex digits of length (themselves included), then the data."""
    data = text.encode()
    return f"{len(data) + 4:04x}".encode() + data


async def _serve_service(
    request: web.Request,
    ctx: ApiContext,
    project: Project,
    service: str,
    remote_user: str,
    hooks: dict[str, str],
) -> web.StreamResponse:
    """``info/refs?service=`` or the service's POST, as http-backend's ``get_info_refs``/``service_rpc``.

    Only authenticated users reach ``git-receive-pack`` (GitLab refuses others first), so http-backend's
    refusal of anonymous pushes (``select_service``) never applies; ``REMOTE_ADDR`` and ``REMOTE_USER``
    become the committer identity git records, as ``run_service`` sets it.
    """
    repository = ctx.state.repository(project)
    if not repository.path.is_dir():  # removed meanwhile: http-backend's "Not a git repository"
        return await _respond(request, 404, dict(_NO_CACHE), b"")
    git_protocol = request.headers.get("Git-Protocol")  # http-backend: HTTP_GIT_PROTOCOL -> GIT_PROTOCOL
    if request.path.endswith("/info/refs"):
        return await _advertise(request, repository, service, git_protocol)
    expected = f"application/x-{service}-request"
    received = request.headers.get("Content-Type", "")
    if received != expected:  # http-backend's check_content_type
        message = f"Expected POST with Content-Type '{expected}', but received '{received}' instead.\n"
        return await _respond(request, 415, dict(_NO_CACHE), message.encode())
    user = remote_user or "anonymous"
    env = {
        **clean_git_environment(),
        "GIT_COMMITTER_NAME": user,
        "GIT_COMMITTER_EMAIL": f"{user}@http.{request.remote or '(none)'}",
        **hooks,
    }
    if git_protocol is not None:
        env["GIT_PROTOCOL"] = git_protocol
    headers = {**_NO_CACHE, "Content-Type": f"application/x-{service}-result"}
    return await _run_service(request, repository, service, env, headers)


async def _advertise(
    request: web.Request, repository: BareRepository, service: str, git_protocol: str | None
) -> web.StreamResponse:
    """The service's ref advertisement, behind ``# service=<service>`` and a flush unless the client asked
    for protocol v2 (even receive-pack's, which answers v2 with v0: http-backend decides by the request)."""
    prefix = b"" if protocol_version(git_protocol) == 2 else pkt_line(f"# service={service}\n") + _FLUSH
    try:
        body = await asyncio.to_thread(repository.advertisement, service, git_protocol)
    except GitCommandError as failed:  # http-backend has sent its headers already; the body stops short
        log.debug("%s", failed)
        body = failed.output
    headers = {**_NO_CACHE, "Content-Type": f"application/x-{service}-advertisement"}
    return await _respond(request, 200, headers, prefix + body)


async def _respond(
    request: web.Request, status: int, headers: dict[str, str], body: bytes
) -> web.StreamResponse:
    """Sent the way a CGI program's answer is relayed: streamed, so chunked, with no Content-Length."""
    response = web.StreamResponse(status=status, headers=headers)
    await response.prepare(request)
    await response.write(body)
    await response.write_eof()
    return response


async def _run_service(
    request: web.Request,
    repository: BareRepository,
    service: str,
    env: dict[str, str],
    headers: dict[str, str],
) -> web.StreamResponse:
    """``git <service> --stateless-rpc .`` in the repository, the request body as its input and its output
    as the answer's body, streamed both ways."""
    process = await asyncio.create_subprocess_exec(
        "git",
        service.removeprefix("git-"),
        "--stateless-rpc",
        ".",
        cwd=repository.path,
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
        response = web.StreamResponse(status=200, headers=headers)
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
            log.debug("git %s: %s", service, stderr)


async def _feed(request: web.Request, stdin: asyncio.StreamWriter) -> None:
    try:
        async for chunk in request.content.iter_chunked(_CHUNK):
            stdin.write(chunk)
            await stdin.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        stdin.close()
