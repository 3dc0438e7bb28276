"""Who is calling the REST API: a personal or project access token, as GitLab accepts it.

Tokens come in the ``PRIVATE-TOKEN`` header (python-gitlab's ``private_token``), ``Authorization: Bearer``
(python-gitlab's ``oauth_token`` and the Nautes API server's OAuth client carrying the user's PAT), or the
``private_token``/``access_token`` query parameters. An unknown, revoked or expired token is a 401 even on
endpoints anonymous callers may use; a token without the needed scope is a 403 ``insufficient_scope``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from nautes_refstack.gitlab.model import AccessToken, User
from nautes_refstack.gitlab.rest import errors
from nautes_refstack.gitlab.rest.context import context

READ_SCOPES = ("api", "read_api")
WRITE_SCOPES = ("api",)
_READ_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Caller:
    user: User | None
    token: AccessToken | None


_CALLER = web.RequestKey("gitlab_caller", Caller)


def request_token(request: web.Request) -> str | None:
    if token := request.headers.get("PRIVATE-TOKEN"):
        return token
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return request.query.get("private_token") or request.query.get("access_token")


def caller(request: web.Request) -> Caller:
    if _CALLER in request:
        return request[_CALLER]
    token_text = request_token(request)
    if token_text is None:
        found = Caller(None, None)
    else:
        if context(request).faults.active(
            "gitlab-token-rejected", about=None
        ):  # a token check names no run: only a stack started with the fault rejects tokens
            raise errors.unauthorized()  # fault: the token expired or was revoked
        authenticated = context(request).state.authenticate(token_text)
        if authenticated is None:
            raise errors.unauthorized()
        found = _sudo(request, Caller(*authenticated))
    request[_CALLER] = found
    return found


def _sudo(request: web.Request, found: Caller) -> Caller:
    """An administrator's token with the ``sudo`` scope acts as the user the ``Sudo`` header (or ``sudo``
    parameter) names, by id or username; anyone else is refused (``sudo!``, gitlab ``lib/api/helpers.rb``)."""
    identifier = request.headers.get("Sudo") or request.query.get("sudo")
    if not identifier:
        return found
    if found.user is None or not found.user.is_admin:
        raise errors.forbidden("Must be admin to use sudo")
    if found.token is None or "sudo" not in found.token.scopes:
        raise errors.insufficient_scope("sudo")
    state = context(request).state
    target = state.users.get(int(identifier)) if identifier.isdigit() else state.user_by_username(identifier)
    if target is None:
        raise errors.not_found(f"User with ID or username '{identifier}'")
    return Caller(target, found.token)


def _check_scopes(
    request: web.Request, token: AccessToken | None, extra_read_scopes: tuple[str, ...]
) -> None:
    if token is None:
        return
    needed = READ_SCOPES + extra_read_scopes if request.method in _READ_METHODS else WRITE_SCOPES
    if not set(needed) & set(token.scopes):
        raise errors.insufficient_scope(" ".join(needed))


def current_user(request: web.Request, extra_read_scopes: tuple[str, ...] = ()) -> User:
    """The authenticated caller; 401 for anonymous requests."""
    found = caller(request)
    if found.user is None:
        raise errors.unauthorized()
    _check_scopes(request, found.token, extra_read_scopes)
    return found.user


def optional_user(request: web.Request) -> User | None:
    """The caller if authenticated, ``None`` for anonymous requests (which see public objects only)."""
    found = caller(request)
    _check_scopes(request, found.token, ())
    return found.user


def admin_user(request: web.Request) -> User:
    user = current_user(request)
    if not user.is_admin:
        raise errors.forbidden()
    return user
