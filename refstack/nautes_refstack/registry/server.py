"""The registry's HTTP face: the OCI distribution v2 API on aiohttp, behind HTTP Basic authentication.

One catch-all route parses ``/v2/<name>/...`` itself because repository names contain slashes, which a
router pattern cannot split unambiguously from the ``blobs``/``manifests``/``tags`` suffixes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.http import RunningSite, bind_loopback, serve
from nautes_refstack.registry.content import NAME_PATTERN, RegistryContent, check_digest
from nautes_refstack.registry.errors import API_VERSION_HEADER, RegistryError
from nautes_refstack.registry.tls import TLS_ADDRESS, RegistryCertificate

Handler = Callable[[web.Request, re.Match[str]], Awaitable[web.StreamResponse]]

_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("uploads", re.compile(rf"^(?P<name>{NAME_PATTERN})/blobs/uploads/?$")),
    ("upload", re.compile(rf"^(?P<name>{NAME_PATTERN})/blobs/uploads/(?P<upload_id>[^/]+)$")),
    ("blob", re.compile(rf"^(?P<name>{NAME_PATTERN})/blobs/(?P<digest>[^/]+)$")),
    ("manifest", re.compile(rf"^(?P<name>{NAME_PATTERN})/manifests/(?P<reference>[^/]+)$")),
    ("tags", re.compile(rf"^(?P<name>{NAME_PATTERN})/tags/list$")),
]
_ANY_NAME = re.compile(r"^(?P<name>.+?)/(?:blobs|manifests|tags)/")
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Basic realm="registry"'}
_READ_CHUNK = 1 << 16


class Registry:
    """An in-memory OCI registry that accepts exactly one user (HTTP Basic): plain HTTP on 127.0.0.1, or
    with ``tls`` HTTPS on 127.0.0.2 with that certificate (see :mod:`.tls`)."""

    def __init__(
        self,
        username: str,
        password: str,
        tls: RegistryCertificate | None = None,
        faults: Faults = NO_FAULTS,
    ) -> None:
        self._credentials = f"{username}:{password}".encode()
        self.tls = tls
        self._faults = faults
        self.content = RegistryContent()
        self._site: RunningSite | None = None
        self._handlers: dict[tuple[str, str], Handler] = {
            ("uploads", "POST"): self._start_upload,
            ("upload", "GET"): self._upload_status,
            ("upload", "PATCH"): self._upload_chunk,
            ("upload", "PUT"): self._finish_upload,
            ("blob", "GET"): self._get_blob,
            ("blob", "HEAD"): self._get_blob,
            ("manifest", "GET"): self._get_manifest,
            ("manifest", "HEAD"): self._get_manifest,
            ("manifest", "PUT"): self._put_manifest,
            ("tags", "GET"): self._list_tags,
        }

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT`` (``127.0.0.2:PORT`` over TLS): how image references name this registry."""
        sockname = self._running.runner.addresses[0]
        return f"{sockname[0]}:{sockname[1]}"

    @property
    def _running(self) -> RunningSite:
        if self._site is None:
            raise RuntimeError("the registry is not started")
        return self._site

    async def start(self) -> None:
        app = web.Application(middlewares=[self._authenticate])
        app.router.add_route("*", "/v2/{tail:.*}", self._dispatch)
        if self.tls is None:
            self._site = await serve(app)
        else:
            self._site = await serve(
                app, ssl_context=self.tls.server_context(), sock=bind_loopback(TLS_ADDRESS)
            )

    async def stop(self) -> None:
        site, self._site = self._site, None
        if site is not None:
            await site.stop()

    # --- plumbing ----------------------------------------------------------------------------------
    @web.middleware
    async def _authenticate(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not self._authorized(request.headers.get("Authorization", "")):
            return RegistryError("UNAUTHORIZED").response(_UNAUTHORIZED_HEADERS)
        try:
            return await handler(request)
        except RegistryError as error:
            return error.response()

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            supplied = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(supplied, self._credentials)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info.get("tail", "")
        if tail == "":
            return _response(200, json_body={})
        if tail == "_catalog" and request.method == "GET":
            return self._catalog(request)
        for route, pattern in _ROUTES:
            match = pattern.match(tail)
            if match is None:
                continue
            handler = self._handlers.get((route, request.method))
            if handler is None:
                raise RegistryError("UNSUPPORTED")
            return await handler(request, match)
        invalid_name = _ANY_NAME.match(tail)
        if invalid_name is not None:
            raise RegistryError("NAME_INVALID", {"name": invalid_name["name"]})
        raise web.HTTPNotFound(text="404 page not found\n")

    # --- blobs -------------------------------------------------------------------------------------
    async def _start_upload(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        name = match["name"]
        mount, source = request.query.get("mount"), request.query.get("from")
        if mount and source and self.content.mount_blob(name, check_digest(mount), source):
            return _blob_created(name, mount)
        if "digest" in request.query:
            data = await _read_body(request)
            upload_id = self.content.start_upload(name)
            self.content.upload(name, upload_id).data.extend(data)
            digest = self.content.finish_upload(name, upload_id, request.query["digest"])
            return _blob_created(name, digest)
        return _upload_accepted(name, self.content.start_upload(name), 0)

    async def _upload_status(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        upload = self.content.upload(match["name"], match["upload_id"])
        return _upload_accepted(match["name"], match["upload_id"], len(upload.data), status=204)

    async def _upload_chunk(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        upload = self.content.upload(match["name"], match["upload_id"])
        content_range = request.headers.get("Content-Range")
        if content_range is not None:
            start = content_range.split("-", 1)[0].strip()
            if not start.isdigit() or int(start) != len(upload.data):
                raise RegistryError("RANGE_INVALID", {"range": content_range})
        upload.data.extend(await _read_body(request))
        return _upload_accepted(match["name"], match["upload_id"], len(upload.data))

    async def _finish_upload(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        name, upload_id = match["name"], match["upload_id"]
        self.content.upload(name, upload_id).data.extend(await _read_body(request))
        digest = self.content.finish_upload(name, upload_id, request.query.get("digest"))
        return _blob_created(name, digest)

    async def _get_blob(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        digest = check_digest(match["digest"])
        data = self.content.blob(match["name"], digest)
        headers = {"Docker-Content-Digest": digest, "ETag": f'"{digest}"'}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(data))
            return _response(200, headers=headers, content_type="application/octet-stream")
        return _response(200, body=data, headers=headers, content_type="application/octet-stream")

    # --- manifests ---------------------------------------------------------------------------------
    async def _put_manifest(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        name = match["name"]
        body = await _read_body(request)
        digest = self.content.put_manifest(name, match["reference"], request.content_type, body)
        if self._faults.active("image-blob-missing", about=name):
            self.content.collect_layers(name, digest)  # fault: a garbage collection raced the push
        headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
        return _response(201, headers=headers)

    async def _get_manifest(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        manifest = self.content.manifest(match["name"], match["reference"])
        headers = {"Docker-Content-Digest": manifest.digest, "ETag": f'"{manifest.digest}"'}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(manifest.body))
            return _response(200, headers=headers, content_type=manifest.media_type)
        return _response(200, body=manifest.body, headers=headers, content_type=manifest.media_type)

    # --- listings ----------------------------------------------------------------------------------
    async def _list_tags(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        name = match["name"]
        tags, link = _paginate(self.content.tags(name), request, f"/v2/{name}/tags/list")
        return _response(200, json_body={"name": name, "tags": tags}, headers=link)

    def _catalog(self, request: web.Request) -> web.StreamResponse:
        repositories, link = _paginate(self.content.catalog(), request, "/v2/_catalog")
        return _response(200, json_body={"repositories": repositories}, headers=link)


def _paginate(items: list[str], request: web.Request, path: str) -> tuple[list[str], dict[str, str]]:
    """Apply ``?n=&last=`` and build the ``Link: <...>; rel="next"`` header when more items remain."""
    last = request.query.get("last")
    if last:
        items = [item for item in items if item > last]
    if "n" not in request.query:
        return items, {}
    count = request.query["n"]
    if not count.isdigit():
        raise RegistryError("PAGINATION_NUMBER_INVALID", {"n": count})
    page = items[: int(count)]
    if len(items) > len(page) and page:
        return page, {"Link": f'<{path}?last={page[-1]}&n={count}>; rel="next"'}
    return page, {}


async def _read_body(request: web.Request) -> bytes:
    """The whole request body, streamed (chunked PATCHes from docker have no Content-Length)."""
    body = bytearray()
    async for chunk in request.content.iter_chunked(_READ_CHUNK):
        body.extend(chunk)
    return bytes(body)


def _upload_accepted(name: str, upload_id: str, size: int, status: int = 202) -> web.Response:
    headers = {
        "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
        "Docker-Upload-UUID": upload_id,
        "Range": f"0-{max(size - 1, 0)}",
    }
    return _response(status, headers=headers)


def _blob_created(name: str, digest: str) -> web.Response:
    return _response(201, headers={"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest})


def _response(
    status: int,
    *,
    body: bytes | None = None,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    content_type: str | None = None,
) -> web.Response:
    all_headers = {**API_VERSION_HEADER, **(headers or {})}
    if json_body is not None:
        body, content_type = json.dumps(json_body).encode(), "application/json"
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    if body is None and "Content-Length" not in all_headers:
        all_headers["Content-Length"] = "0"
    return web.Response(status=status, body=body, headers=all_headers)
