"""A container registry through the OCI distribution API (``/v2/``), as ``docker``/``crane`` see it.

Authentication follows the distribution spec: credentials are sent as HTTP Basic; a registry that answers
401 with a ``Bearer`` challenge (Docker Hub, ghcr.io, Harbor) gets a token from the named realm first.
A registry is often used under a path (``ghcr.io/<org>``, a Docker Hub user, a Harbor project): the API is
always at ``<host>/v2/``, and the path is the start of every repository name (distribution spec,
"Pulling manifests": ``/v2/<name>/manifests/<reference>``, ``<name>`` may hold slashes).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from urllib3.exceptions import InsecureRequestWarning

from nautes_e2e.clients.errors import ServiceUnreachable, no_reply_reason, request_line
from nautes_e2e.clients.transient import RetryLog, retrying_session
from nautes_e2e.clients.trust import combined_bundle
from nautes_e2e.secrets import Secret, redact

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')
REQUEST_TIMEOUT_S = 30.0
TLS_HINT = "give its CA as registry.caBundle in the target file, or set registry.insecure: true"


@dataclass(frozen=True)
class RegistryEndpoint:
    """Where the registry is and how to reach it: ``host`` as in an image reference (``127.0.0.1:5000``),
    ``path`` the namespace under it that images go to (``org/team``, or empty), the credentials, and how
    its certificate is checked: ``insecure`` (plain HTTP or any certificate, as kaniko's ``--insecure``
    ``--skip-tls-verify``), else the system's CAs plus ``ca_pems``."""

    host: str
    scheme: str
    username: Secret | None
    password: Secret | None
    path: str = ""
    insecure: bool = False
    ca_pems: tuple[Path, ...] = field(default=())

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def image_prefix(self) -> str:
        """``host[:port][/path]``: what the quickstart calls ``$registry-url`` (``ghcr.io/nautes-labs``)."""
        return f"{self.host}/{self.path}" if self.path else self.host

    def repository(self, name: str) -> str:
        """The repository name of image ``name`` under this endpoint's path (``org/team/devops-sample``)."""
        return f"{self.path}/{name}" if self.path else name


@dataclass(frozen=True)
class Descriptor:
    """What a manifest says of one blob or child manifest (image-spec descriptor.md)."""

    media_type: str
    digest: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """A manifest as served: ``digest`` as the registry names it (``Docker-Content-Digest``), the digest of
    the bytes it served, and what it references: ``config`` and ``layers`` of an image, ``manifests`` of an
    index."""

    digest: str
    computed_digest: str
    media_type: str
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Every blob a pull of this image fetches: its config, then its layers."""
        return (*((self.config,) if self.config is not None else ()), *self.layers)


@dataclass(frozen=True)
class BlobPresence:
    """What ``HEAD`` of a blob answered: 200 with the blob's digest and size, 404 when it is not there."""

    status: int
    digest: str | None
    size: int | None


class RegistryError(Exception):
    """The registry answered with a refusal (redacted text); one that does not answer raises
    :class:`~nautes_e2e.clients.errors.ServiceUnreachable`."""


class RegistryClient:
    """Reads a registry as a user's ``docker``/``crane`` would, trusting what the endpoint says to trust.
    Reads answered 502/503/504 or reset are sent again (:mod:`~nautes_e2e.clients.transient`), each
    resend told to ``retries``."""

    def __init__(self, endpoint: RegistryEndpoint, retries: RetryLog | None = None) -> None:
        self.endpoint = endpoint
        self.retries = RetryLog() if retries is None else retries
        self._session = retrying_session("registry", self.retries)
        self._session.trust_env = False
        bundle = combined_bundle(endpoint.ca_pems)
        self._session.verify = False if endpoint.insecure else str(bundle) if bundle else True
        self._basic = (
            (endpoint.username.reveal(), endpoint.password.reveal())
            if endpoint.username is not None and endpoint.password is not None
            else None
        )
        self._bearer: Secret | None = None

    def ping(self) -> None:
        """``GET /v2/`` must answer 200 with our credentials."""
        response = self._get("/v2/")
        if response.status_code != 200:
            raise RegistryError(f"{self.endpoint.url}/v2/ answered {response.status_code}: {_text(response)}")

    def tags(self, repository: str) -> list[str]:
        """Every tag of a repository (following ``Link`` pagination); [] when the repository is unknown."""
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list"
        while path:
            response = self._get(path)
            if response.status_code == 404:
                return []
            self._expect_ok(response, f"tags of {repository}")
            tags.extend(response.json().get("tags") or [])
            link = _NEXT_LINK.search(response.headers.get("Link", ""))
            path = link.group(1) if link else None
        return tags

    def manifest(self, repository: str, reference: str) -> Manifest | None:
        """What a puller reads for ``repository:reference``: the digest the registry names it by, the
        digest of the bytes it served, and the blobs (or, for an index, the manifests) it references;
        None when there is no such manifest. A descriptor without a digest or an integer size is a
        :class:`RegistryError` (image-spec descriptor.md: both are REQUIRED)."""
        response = self._get(f"/v2/{repository}/manifests/{reference}", accept=", ".join(MANIFEST_TYPES))
        if response.status_code == 404:
            return None
        self._expect_ok(response, f"manifest {repository}:{reference}")
        body: dict[str, Any] = response.json()
        computed = "sha256:" + hashlib.sha256(response.content).hexdigest()
        config = body.get("config")
        where = f"manifest {repository}:{reference}"
        return Manifest(
            digest=response.headers.get("Docker-Content-Digest") or computed,
            computed_digest=computed,
            media_type=str(body.get("mediaType") or response.headers.get("Content-Type", "").split(";")[0]),
            config=_descriptor(config, where) if config is not None else None,
            layers=tuple(_descriptor(layer, where) for layer in body.get("layers") or []),
            manifests=tuple(_descriptor(child, where) for child in body.get("manifests") or []),
        )

    def blob_presence(self, repository: str, digest: str) -> BlobPresence:
        """``HEAD /v2/<name>/blobs/<digest>`` as a puller's existence check (distribution spec, "Checking
        if content exists in the registry"): the status, and the digest and size the registry gives."""
        response = self._send("HEAD", f"/v2/{repository}/blobs/{digest}", accept="*/*")
        length = response.headers.get("Content-Length", "")
        return BlobPresence(
            status=response.status_code,
            digest=response.headers.get("Docker-Content-Digest"),
            size=int(length) if length.isdigit() else None,
        )

    def _get(self, path: str, accept: str = "application/json") -> requests.Response:
        return self._send("GET", path, accept)

    def _send(self, method: str, path: str, accept: str) -> requests.Response:
        url = urljoin(self.endpoint.url + "/", path.lstrip("/")) if not path.startswith("http") else path
        try:
            with warnings.catch_warnings():
                # insecure: true is the target's explicit choice; urllib3 would warn on every request.
                warnings.simplefilter("ignore", InsecureRequestWarning)
                response = self._session.request(
                    method, url, headers=self._headers(accept), auth=self._auth(), timeout=REQUEST_TIMEOUT_S
                )
                challenge = response.headers.get("WWW-Authenticate", "")
                if response.status_code == 401 and challenge.lower().startswith("bearer "):
                    self._bearer = self._token(challenge)
                    response = self._session.request(
                        method,
                        url,
                        headers=self._headers(accept),
                        auth=self._auth(),
                        timeout=REQUEST_TIMEOUT_S,
                    )
        except requests.RequestException as error:
            reason = no_reply_reason(error, timeout_s=REQUEST_TIMEOUT_S, tls_hint=TLS_HINT)
            raise ServiceUnreachable(
                "registry", self.endpoint.url, request_line(error) or f"{method} {path}", reason
            ) from None
        return response

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept}
        if self._bearer is not None:
            headers["Authorization"] = "Bearer " + self._bearer.reveal()
        return headers

    def _auth(self) -> tuple[str, str] | None:
        return None if self._bearer is not None else self._basic

    def _token(self, challenge: str) -> Secret:
        """The distribution token flow: GET realm?service=…&scope=… with Basic credentials."""
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        realm = params.pop("realm", "")
        if not realm:
            raise RegistryError(f"{self.endpoint.url}: Bearer challenge without a realm")
        try:
            response = self._session.get(realm, params=params, auth=self._basic, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as error:
            reason = no_reply_reason(error, timeout_s=REQUEST_TIMEOUT_S, tls_hint=TLS_HINT)
            raise ServiceUnreachable("registry token service", realm, "GET", reason) from None
        if response.status_code != 200:
            raise RegistryError(f"token service {realm} answered {response.status_code}: {_text(response)}")
        reply = response.json()
        token = reply.get("token") or reply.get("access_token")
        if not token:
            raise RegistryError(f"token service {realm} returned no token")
        return Secret(str(token))

    def _expect_ok(self, response: requests.Response, what: str) -> None:
        if response.status_code != 200:
            raise RegistryError(
                f"{what}: {self.endpoint.url} answered {response.status_code}: {_text(response)}"
            )


def _descriptor(value: object, where: str) -> Descriptor:
    if not isinstance(value, dict) or not isinstance(value.get("digest"), str):
        raise RegistryError(f"{where}: a descriptor without a digest: {redact(str(value)[:200])}")
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        raise RegistryError(f"{where}: descriptor {value['digest']} has no integer size ({size!r})")
    return Descriptor(str(value.get("mediaType") or ""), value["digest"], size)


def _text(response: requests.Response) -> str:
    return redact(response.text[:500])
