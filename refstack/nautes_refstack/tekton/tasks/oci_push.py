"""Push a built image to an OCI registry over the distribution API, as kaniko (go-containerregistry) does.

The registry is named by the image reference. Which scheme is used follows go-containerregistry: the ping
(``GET /v2/``, pkg/v1/remote/transport/ping.go) tries HTTPS, then plain HTTP only for a registry that may
use it (``--insecure``, or ``localhost``/``127.0.0.1``/``::1``/``*.local``/RFC 1918: pkg/name/registry.go
``Scheme()``); the certificate is checked against the system CAs plus kaniko's ``--registry-certificate``
for that registry, or not at all with ``--skip-tls-verify`` (kaniko pkg/util/transport_util.go
``MakeTransport``). Credentials come from a docker ``config.json`` (``auths.<registry>.auth`` = base64
``user:password``, or ``username``/``password``). Errors read like go-containerregistry's
(``POST http://…/blobs/uploads/: UNAUTHORIZED: authentication required``, ``Get "https://…/v2/": x509:
certificate signed by unknown authority``), never with credentials.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from nautes_refstack.tekton.tasks.image_build import MANIFEST_MEDIA_TYPE, BuiltImage, sha256

_DEFAULT_REGISTRY = "index.docker.io"
# go-containerregistry pkg/name/registry.go: registries that may be spoken to over plain HTTP.
_LOCAL = re.compile(r".*\.local(?:host)?(?::\d{1,5})?$")
_RFC1918 = tuple(ipaddress.ip_network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


class PushError(Exception):
    """The registry refused or could not be reached; the message is safe to log."""


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str

    @classmethod
    def parse(cls, reference: str) -> ImageReference:
        """``127.0.0.1:5000/devops-sample:0.0.1`` -> registry, repository, tag (default ``latest``)."""
        first, _, rest = reference.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            registry, remainder = first, rest
        else:
            registry, remainder = _DEFAULT_REGISTRY, reference if rest else f"library/{reference}"
        name, _, digest = remainder.partition("@")
        repository, colon, tag = name.rpartition(":")
        if not colon or "/" in tag:
            repository, tag = name, "latest"
        if digest:
            raise PushError(f"cannot push to a digest reference: {reference}")
        if not repository or repository != repository.lower():
            raise PushError(f"invalid reference format: repository name must be lowercase: {reference}")
        return cls(registry, repository, tag)

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def may_use_http(registry: str) -> bool:
    """go-containerregistry's ``Registry.Scheme() == "http"`` without ``--insecure`` (its checks, verbatim:
    an RFC 1918 address, ``localhost:``, ``*.local[host]``, and "127.0.0.1" or "::1" anywhere in the name)."""
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    try:
        rfc1918 = any(ipaddress.ip_address(host) in network for network in _RFC1918)
    except ValueError:
        rfc1918 = False
    return (
        rfc1918
        or registry.startswith("localhost:")
        or bool(_LOCAL.match(registry))
        or "127.0.0.1" in registry
        or "::1" in registry
    )


@dataclass(frozen=True)
class Transport:
    """How kaniko reaches the registry: ``--insecure`` (plain HTTP allowed), ``--skip-tls-verify`` (any
    certificate), and the ``--registry-certificate`` file for this registry, added to the system CAs."""

    insecure: bool = False
    skip_tls_verify: bool = False
    certificate: Path | None = None

    def ssl_context(self) -> ssl.SSLContext | bool:
        if self.skip_tls_verify:
            return False
        if self.certificate is None:
            return _context_trusting(None, None)
        try:
            content = self.certificate.read_bytes()
        except OSError:
            return _new_context(self.certificate)  # fails to load as it always did
        return _context_trusting(self.certificate, content)


#: The contexts made so far, by the content of the certificate file they add (None: none); a stack pushes to
#: one or two registries, each time with the same certificate under a new pod's path.
_CONTEXTS: dict[bytes | None, ssl.SSLContext] = {}


def _context_trusting(certificate: Path | None, content: bytes | None) -> ssl.SSLContext:
    """The system CAs plus ``certificate``'s (whose file holds ``content``), made once per process for each
    content: loading the system CAs costs about 10 ms of CPU, and a context is only read once made."""
    context = _CONTEXTS.get(content)
    if context is None:
        context = _CONTEXTS[content] = _new_context(certificate)
    return context


def _new_context(certificate: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if certificate is not None:
        context.load_verify_locations(cafile=str(certificate))
    return context


def credentials_for(docker_config: dict[str, Any] | None, registry: str) -> str | None:
    """The ``Authorization`` value ``config.json`` holds for ``registry`` (keys with or without a scheme)."""
    if not docker_config:
        return None
    auths = docker_config.get("auths") or {}
    for key in (
        registry,
        f"http://{registry}",
        f"https://{registry}",
        f"{registry}/v2/",
        f"http://{registry}/v2/",
    ):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, separator, _ = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, separator = "", ""
            if not user or not separator:
                raise PushError(f"invalid auth entry for {registry} in docker config.json")
            return f"Basic {entry['auth']}"
        if entry.get("username"):
            pair = f"{entry['username']}:{entry.get('password', '')}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
    return None


class RegistryPusher:
    """One push session against one registry/repository."""

    def __init__(
        self, reference: ImageReference, authorization: str | None, transport: Transport | None = None
    ) -> None:
        if not is_loopback(reference.registry):
            raise PushError(
                f"registry {reference.registry} is not reachable from the reference stack (only loopback is)"
            )
        self._reference = reference
        self._transport = transport or Transport()
        self._ssl = self._transport.ssl_context()
        self._base = ""  # the scheme the ping found, then "<scheme>://<registry>"
        self._authorization = {"Authorization": authorization} if authorization else {}

    async def check_push_permission(self, http: aiohttp.ClientSession) -> None:
        """Ping, then start (and abandon) an upload, as kaniko does before building (remote
        ``CheckPushPermission``), to fail fast on an unreachable or untrusted registry or bad credentials."""
        await self._ping(http)
        await self._request(http, "POST", f"/v2/{self._reference.repository}/blobs/uploads/", expect=(202,))

    async def _ping(self, http: aiohttp.ClientSession) -> None:
        """``GET /v2/`` over HTTPS, then HTTP where allowed; the first scheme that answers is used."""
        registry = self._reference.registry
        schemes = ["https"] + (["http"] if self._transport.insecure or may_use_http(registry) else [])
        errors = []
        for scheme in schemes:
            url = f"{scheme}://{registry}/v2/"
            try:
                async with http.get(url, ssl=self._ssl if scheme == "https" else True) as response:
                    await response.read()
            except aiohttp.ClientError as error:
                errors.append(f'Get "{url}": {_go_error(error)}')
                continue
            if response.status not in (200, 401):
                raise PushError(f'Get "{url}": unexpected status code {response.status}')
            self._base = f"{scheme}://{registry}"
            return
        raise PushError("; ".join(errors))

    async def push(self, http: aiohttp.ClientSession, image: BuiltImage) -> str:
        """Upload the layer and config blobs, then the manifest under the tag; returns the manifest digest."""
        for blob in (image.layer, image.config):
            await self._push_blob(http, blob)
        path = f"/v2/{self._reference.repository}/manifests/{self._reference.tag}"
        response_headers = await self._request(
            http,
            "PUT",
            path,
            data=image.manifest,
            headers={"Content-Type": MANIFEST_MEDIA_TYPE},
            expect=(201,),
        )
        return response_headers.get("Docker-Content-Digest", image.digest)

    async def _push_blob(self, http: aiohttp.ClientSession, blob: bytes) -> None:
        digest = sha256(blob)
        repository = self._reference.repository
        exists = await self._request(http, "HEAD", f"/v2/{repository}/blobs/{digest}", expect=(200, 404))
        if exists.get(":status") == "200":
            return
        started = await self._request(http, "POST", f"/v2/{repository}/blobs/uploads/", expect=(202,))
        location = started.get("Location", "")
        separator = "&" if "?" in location else "?"
        upload = location if location.startswith("http") else self._base + location
        await self._request(http, "PUT", f"{upload}{separator}digest={digest}", data=blob, expect=(201,))

    async def _request(
        self,
        http: aiohttp.ClientSession,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...],
    ) -> dict[str, str]:
        if not self._base:
            await self._ping(http)
        url = path if path.startswith("http") else self._base + path
        try:
            all_headers = {**self._authorization, **(headers or {})}
            tls = self._ssl if url.startswith("https:") else True
            async with http.request(method, url, data=data, headers=all_headers, ssl=tls) as response:
                body = await response.read()
                if response.status not in expect:
                    raise PushError(f"{method} {url.split('?')[0]}: {_describe_error(response.status, body)}")
                return {":status": str(response.status), **response.headers}
        except aiohttp.ClientError as error:
            raise PushError(f"{method} {url.split('?')[0]}: {type(error).__name__}: {error}") from None


def _go_error(error: aiohttp.ClientError) -> str:
    """What Go's net/http says for the same failure, as kaniko prints it."""
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return "x509: certificate signed by unknown authority"
    if isinstance(error, aiohttp.ClientConnectorSSLError):
        return "http: server gave HTTP response to HTTPS client"
    return f"{type(error).__name__}: {error}"


def _describe_error(status: int, body: bytes) -> str:
    """``CODE: message`` from an OCI error body, else the HTTP status."""
    try:
        errors = json.loads(body)["errors"]
        return "; ".join(f"{error['code']}: {error['message']}" for error in errors)
    except (ValueError, KeyError, TypeError):
        return f"unexpected status code {status}"
