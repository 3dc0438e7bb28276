"""The Nautes API server v0.4.2 as seen on the wire: kratos' request pipeline in front of the kind modules.

Per request, in kratos' order (generated ``*_http.pb.go`` + ``transport/http``): route (gorilla/mux with
strict slashes, Go's ``404 page not found`` otherwise), bind the body (Save only: registered
Content-Type, protojson), the query string and the path variables (``400 CODEC``), read the bearer
token, run PGV (``400 VALIDATOR``), then the handler. Errors leave as kratos ``Status`` JSON with the
HTTP status equal to ``code``; an unexpected exception is what a Go panic would be: ``500 UNKNOWN``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from nautes_refstack.faults import NAUTES_KINDS, NO_FAULTS, Faults
from nautes_refstack.http import RunningSite, serve
from nautes_refstack.nautes import errors, messages, pgv, routing
from nautes_refstack.nautes.errors import NautesError
from nautes_refstack.nautes.gitlab_api import GitLabApi
from nautes_refstack.nautes.kinds import (
    cluster,
    coderepo,
    coderepobinding,
    deploymentruntime,
    environment,
    pipelineruntime,
    product,
    project,
)
from nautes_refstack.nautes.protojson import (
    BindError,
    JsonSyntaxError,
    Message,
    Schema,
    bind_values,
    decode_message,
)
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.vault_store import VaultStore
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.supervision import log_survived_error

log = logging.getLogger(__name__)

Handler = Callable[[RequestScope, Message], Awaitable[dict[str, Any]]]
_KIND_MODULES: dict[str, tuple[ModuleType, messages.KindRequests]] = {
    "product": (product, messages.PRODUCT),
    "project": (project, messages.PROJECT),
    "environment": (environment, messages.ENVIRONMENT),
    "cluster": (cluster, messages.CLUSTER),
    "coderepo": (coderepo, messages.CODEREPO),
    "coderepobinding": (coderepobinding, messages.CODEREPOBINDING),
    "deploymentruntime": (deploymentruntime, messages.DEPLOYMENT_RUNTIME),
    "projectpipelineruntime": (pipelineruntime, messages.PROJECT_PIPELINE_RUNTIME),
}
_HANDLER_NAMES = {"get": "get", "list": "list_items", "save": "save", "delete": "delete"}
_KIND_NAMES = {kind.lower(): kind for kind in NAUTES_KINDS}  # route kind -> the kind ``nautes apply`` names
# What a save answers under fault nautes-api-500 (GitLab dropped the connection during the push).
#: How late every answer comes under fault nautes-api-slow: a busy server, far within any client's timeout.
_SLOW_ANSWER_S = 0.25
_PUSH_FAILED = "failed to push code, err: exit status 128: fatal: the remote end hung up unexpectedly"
# Content subtypes kratos has codecs for (encoding/{form,json,proto,xml,yaml}).
_REGISTERED_SUBTYPES = ("json", "x-www-form-urlencoded", "proto", "xml", "yaml")


class NautesApiServer:
    """An HTTP server answering like the Nautes API server, backed by GitLab and Vault over HTTP.

    ``faults`` (default: none): ``nautes-api-500`` here, the Vault faults in :class:`VaultStore`.
    """

    def __init__(
        self,
        gitlab_url: str,
        vault_url: str,
        vault_token: str,
        tenant_repo: str = "nautes/management",
        faults: Faults = NO_FAULTS,
        tenant_ref: Callable[[], str] = lambda: "main",
        pace: Pace = INSTANT,
        tmp_root: Path | None = None,
    ) -> None:
        """``tenant_ref`` names the tenant repository commit the management cluster's CRs come from;
        ``pace`` slows cluster saves down to a real server's; ``tmp_root`` holds the server's ``/tmp``
        (the system's temporary directory when None)."""
        self.gitlab_url = gitlab_url.rstrip("/")
        self.vault_url = vault_url.rstrip("/")
        self._vault_token = vault_token
        self.tenant_repo = tenant_repo
        self._faults = faults
        self._tenant_ref = tenant_ref
        self._pace = pace
        self._site: RunningSite | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tmp_root = tmp_root
        self._tmp: Path | None = None  # the server's /tmp, where it clones (see workcopy)

    @property
    def url(self) -> str:
        if self._site is None:
            raise RuntimeError("the Nautes API server is not started")
        return self._site.url

    async def start(self) -> None:
        if self._tmp_root is not None:
            self._tmp_root.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix="nautes-api-tmp-", dir=self._tmp_root))
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._site = await serve(app)

    async def stop(self) -> None:
        site, self._site = self._site, None
        http, self._http = self._http, None
        if site is not None:
            await site.stop()
        if http is not None:
            await http.close()
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        if self._faults.active("nautes-api-slow", about=request.path):
            await asyncio.sleep(_SLOW_ANSWER_S)  # fault: a busy server (its git clones and pushes queue up)
        resolved = routing.resolve(request.method, request.path, request.query_string)
        if isinstance(resolved, routing.Redirect):
            return _redirect(resolved, request.method)
        if resolved is None:
            return web.Response(
                status=404,
                text=routing.NOT_FOUND_TEXT,
                headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
            )
        try:
            response = _json(200, await self._handle(request, resolved))
        except NautesError as failure:
            response = _json(failure.code, failure.body())
        except Exception:  # a Go panic in the real server; recovery answers 500 UNKNOWN
            log_survived_error("%s %s failed unexpectedly", request.method, resolved.route.template)
            response = _json(500, errors.panic().body())
        log.info(
            "%s %s -> %d in %.0f ms",
            request.method,
            resolved.route.template,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return response

    async def _handle(self, request: web.Request, matched: routing.Matched) -> dict[str, Any]:
        module, schemas = _KIND_MODULES[matched.route.kind]
        schema = getattr(schemas, matched.route.verb)
        message = Message(schema)
        if matched.route.verb == "save":
            await _bind_body(request, message, whole_request=matched.route.kind == "product")
        try:
            bind_values(message, _query_pairs(request.query_string))
            bind_values(message, [(name, [value]) for name, value in matched.variables.items()])
        except BindError as failure:
            raise errors.bad_request("CODEC", str(failure)) from None
        scope = self._scope(request)
        violation = pgv.first_violation(message)
        if violation is not None:
            raise errors.bad_request("VALIDATOR", violation)
        if matched.route.verb == "save" and self._faults.active(
            "nautes-api-500", _KIND_NAMES[matched.route.kind], about=request.path
        ):  # fault: the save's push to Git fails; kratos answers the plain Go error
            raise errors.plain(_PUSH_FAILED)
        if matched.route.verb == "save" and self._faults.active(
            "nautes-save-not-persisted", _KIND_NAMES[matched.route.kind], about=request.path
        ):  # fault: the save is acknowledged as the handler would, and nothing is written anywhere
            return {"message": _saved_message(matched.route.kind, list(matched.variables.values())[-1])}
        saved_binding = (matched.route.kind, matched.route.verb) == ("coderepobinding", "save")
        body = message.child("body") if saved_binding else None
        if body is not None and self._faults.active(
            "binding-permissions-stored-readonly", about=request.path
        ):
            body.values["permissions"] = "readonly"  # fault: stored and granted readonly, whatever was sent
        handler: Handler = getattr(module, _HANDLER_NAMES[matched.route.verb])
        return await handler(scope, message)

    def _scope(self, request: web.Request) -> RequestScope:
        """``auth.SetTokenInContext``: the first ``Bearer`` removed, the rest trimmed, never checked here."""
        if self._http is None or self._tmp is None:
            raise RuntimeError("the Nautes API server is not started")
        token = request.headers.get("Authorization", "").replace("Bearer", "", 1).strip()
        oauth2 = bool(token) and bool(request.headers.get("AuthType", ""))
        return RequestScope(
            token=token,
            oauth2=oauth2,
            gitlab=GitLabApi(self._http, self.gitlab_url, token, self._pace),
            vault=VaultStore(self._http, self.vault_url, self._vault_token, self._faults, request.path),
            tenant_repo=self.tenant_repo,
            clone_root=self._tmp,
            tenant_ref=self._tenant_ref(),
            pace=self._pace,
        )


def _saved_message(kind: str, name: str) -> str:
    """The message a successful save answers (NAUTES ``app/api-server/internal/service/*.go``, contract
    §2.4): the product's names nothing, the cluster's ``<name> cluster``, every other ``<name>
    configuration``."""
    if kind == "product":
        return "Successfully saved"
    return f"Successfully saved {name} {'cluster' if kind == 'cluster' else 'configuration'}"


def _json(status: int, payload: dict[str, Any]) -> web.Response:
    """kratos' JSON encoder: ``Content-Type: application/json``, no charset parameter."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    return web.Response(status=status, body=body, headers={"Content-Type": "application/json"})


def _redirect(redirect: routing.Redirect, method: str) -> web.Response:
    """What mux answers for a path to clean or a strict-slash mismatch (Go ``http.Redirect`` body for GET)."""
    headers = {"Location": redirect.location}
    if redirect.with_body and method in ("GET", "HEAD"):
        body = f'<a href="{redirect.location}">Moved Permanently</a>.\n\n'
        headers["Content-Type"] = "text/html; charset=utf-8"
        return web.Response(status=301, text=body if method == "GET" else None, headers=headers)
    return web.Response(status=301, headers=headers)


def _query_pairs(query: str) -> list[tuple[str, list[str]]]:
    """Go's ``url.Values``: every value of a key, in order of appearance."""
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        grouped.setdefault(key, []).append(value)
    return list(grouped.items())


async def _bind_body(request: web.Request, target: Message, whole_request: bool) -> None:
    """kratos ``DefaultRequestDecoder`` into ``body`` (or, for Product, into the whole request)."""
    content_types = request.headers.getall("Content-Type", [])
    subtype = next(
        (kind for kind in map(_content_subtype, content_types) if kind in _REGISTERED_SUBTYPES), None
    )
    if subtype is None:
        shown = content_types[0] if content_types else ""
        raise errors.bad_request("CODEC", f"unregister Content-Type: {shown}")
    data = await request.read()
    if not data:
        return
    body_field = None if whole_request else next(f for f in target.schema.fields if f.proto_name == "body")
    schema = target.schema if body_field is None or body_field.message is None else body_field.message
    try:
        decoded = _decode(data, subtype, schema)
    except (JsonSyntaxError, BindError) as failure:
        raise errors.bad_request("CODEC", f"body unmarshal {failure}") from None
    if body_field is None:
        target.values.update(decoded.values)
    else:
        target.values["body"] = decoded


def _decode(data: bytes, subtype: str, schema: Schema) -> Message:
    if subtype == "x-www-form-urlencoded":
        decoded = Message(schema)
        bind_values(decoded, _query_pairs(data.decode(errors="replace")))
        return decoded
    if subtype != "json":
        raise BindError(f"the {subtype} codec is not emulated; send application/json")
    return decode_message(data, schema)


def _content_subtype(content_type: str) -> str:
    """kratos ``httputil.ContentSubtype``: between the first ``/`` and the first ``;``."""
    slash = content_type.find("/")
    if slash < 0:
        return ""
    semicolon = content_type.find(";")
    end = len(content_type) if semicolon < 0 else semicolon
    return content_type[slash + 1 : end] if end >= slash else ""
