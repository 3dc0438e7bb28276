"""The Nautes API as ``nautes`` v0.4.2 drives it: ``apply``, ``remove``, ``get`` (contract §1).

What the CLI does and this client therefore does: one request per document, grouped by kind in the fixed
apply order (file order within a kind); ``remove`` walks the kinds backwards (still file order within a
kind, as the CLI's ``Execute`` loop does); headers ``Content-Type: application/json`` and
``Authorization: Bearer <token>``; ``?insecure_skip_check=true`` on POST/DELETE when asked; a body on POST
and GET, none on DELETE; success only on HTTP 200; the first failure stops the run, earlier resources stay.
Redirects are followed the way Go's http.Client follows them (a list's trailing-slash URL gets a 301).

One deliberate difference: every document is decoded before the first request, so a malformed document
fails the run before anything is sent (the CLI would have sent the documents before it).
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from nautes_e2e.clients.nautes.documents import Document
from nautes_e2e.clients.nautes.managers import (
    MANAGERS,
    MANAGERS_IN_APPLY_ORDER,
    ClusterManager,
    CodeRepoBindingManager,
    CodeRepoManager,
    DeploymentRuntimeManager,
    EnvironmentManager,
    ProductManager,
    ProjectManager,
    ProjectPipelineRuntimeManager,
    ResourceManager,
    document_request,
    manager_class,
)
from nautes_e2e.secrets import Secret, redact

_MAX_REDIRECTS = 10  # Go's http.Client default
_APPLY_RANK = {manager.kind: rank for rank, manager in enumerate(MANAGERS_IN_APPLY_ORDER)}


@dataclass(frozen=True)
class ApplyResult:
    """One successful request: what was sent where, the server's ``message``, and how long it took."""

    kind: str
    name: str
    method: str
    path: str
    message: str
    duration_s: float


class NautesApiError(Exception):
    """A non-200 reply. ``str()`` is the CLI's text, ``failed to operate <Kind>:\\n<body>``, redacted.

    ``code``/``reason``/``message`` come from the kratos error body (contract §2.5); a body that is not
    that JSON is kept whole as ``message`` with ``code`` = the HTTP status and ``reason`` empty.
    ``completed`` lists what an ``apply``/``remove`` run had already done before this failure.
    """

    def __init__(self, *, status: int, body: str, kind: str, name: str, method: str, url: str) -> None:
        self.status = status
        self.body = redact(body)
        self.kind = kind
        self.name = name
        self.method = method
        self.url = redact(url)
        self.code, self.reason, self.message = _parse_error_body(status, self.body)
        self.completed: tuple[ApplyResult, ...] = ()
        super().__init__(f"failed to operate {kind}:\n{self.body}")


class NautesConnectionError(Exception):
    """The request never got an HTTP reply (connection refused, timeout, TLS, too many redirects)."""


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _parse_error_body(status: int, body: str) -> tuple[int, str, str]:
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        code = parsed.get("code")
        return (code if isinstance(code, int) else status, str(parsed.get("reason") or ""), parsed["message"])
    return status, "", body


class NautesClient:
    """A client of the Nautes API server with the ``nautes`` CLI's exact request semantics."""

    def __init__(
        self,
        url: str,
        token: Secret,
        *,
        insecure_skip_check: bool = False,
        timeout: float = 30,
        ca_bundle: Path | None = None,
    ) -> None:
        # The CLI strips exactly one trailing slash (formatAPIServer).
        self.url = url[:-1] if url.endswith("/") else url
        self.insecure_skip_check = insecure_skip_check
        self.timeout = timeout
        self._token = token
        self._session = requests.Session()
        # No proxies, no .netrc (which would replace the Authorization header), no CA from the environment.
        self._session.trust_env = False
        self._session.verify = str(ca_bundle) if ca_bundle else True

    def close(self) -> None:
        self._session.close()

    # -- python-gitlab-style managers -------------------------------------------------------------------

    @property
    def clusters(self) -> ClusterManager:
        return ClusterManager(self)

    @property
    def products(self) -> ProductManager:
        return ProductManager(self)

    def environments(self, product: str) -> EnvironmentManager:
        return EnvironmentManager(self, product)

    def projects(self, product: str) -> ProjectManager:
        return ProjectManager(self, product)

    def coderepos(self, product: str) -> CodeRepoManager:
        return CodeRepoManager(self, product)

    def coderepobindings(self, product: str) -> CodeRepoBindingManager:
        return CodeRepoBindingManager(self, product)

    def projectpipelineruntimes(self, product: str) -> ProjectPipelineRuntimeManager:
        return ProjectPipelineRuntimeManager(self, product)

    def deploymentruntimes(self, product: str) -> DeploymentRuntimeManager:
        return DeploymentRuntimeManager(self, product)

    def manager(self, kind: str, product: str | None = None) -> ResourceManager:
        """The manager for a kind or CLI alias (``ppr``, ``coderepos``, …)."""
        return manager_class(kind)(self, product)

    # -- CLI commands -----------------------------------------------------------------------------------

    def apply(self, documents: Sequence[Document]) -> list[ApplyResult]:
        """``nautes apply``: POST each document in kind order; raises NautesApiError at the first failure."""
        ordered = sorted(documents, key=lambda document: self._rank(document))
        return self._run("POST", ordered)

    def remove(self, documents: Sequence[Document]) -> list[ApplyResult]:
        """``nautes remove``: DELETE each document, kinds in reverse apply order, file order within a kind."""
        ordered = sorted(documents, key=lambda document: -self._rank(document))
        return self._run("DELETE", ordered)

    def get(self, kind: str, name: str, product: str | None = None) -> dict[str, Any]:
        """``nautes get <kind> <name> [-p product]``: the reply as sent (snake_case keys)."""
        return self.manager(kind, product).get(name)

    def list(self, kind: str, product: str | None = None) -> list[dict[str, Any]]:
        """``nautes get <kind> [-p product]``: the reply's ``items``."""
        return self.manager(kind, product).list()

    # -- what the managers call -------------------------------------------------------------------------

    def send(self, method: str, manager: ResourceManager, spec: Mapping[str, Any], label: str) -> ApplyResult:
        """One POST (save) or DELETE; raises NautesApiError unless the reply is 200."""
        path, body = manager.request(spec, f"{label} spec")
        return self._send_prepared(method, manager.kind, str(spec.get("name") or ""), path, body)

    def fetch(self, manager: ResourceManager, spec: Mapping[str, Any]) -> dict[str, Any]:
        """One GET with the CLI's body; the parsed JSON reply."""
        path, body = manager.request(spec, f"{manager.kind} spec")
        name = str(spec.get("name") or "")
        url = self.url + path
        response = self._exchange("GET", url, body)
        if response.status_code != 200:
            raise NautesApiError(
                status=response.status_code,
                body=response.text,
                kind=manager.kind,
                name=name,
                method="GET",
                url=url,
            )
        reply = _json_or_none(response)
        if not isinstance(reply, dict):
            raise NautesApiError(
                status=200,
                body=f"reply is not a JSON object: {response.text[:200]}",
                kind=manager.kind,
                name=name,
                method="GET",
                url=url,
            )
        return reply

    # -- internals --------------------------------------------------------------------------------------

    @staticmethod
    def _rank(document: Document) -> int:
        if document.kind not in MANAGERS:
            raise ValueError(f"{document.source}: unknown Nautes kind {document.kind!r}")
        return _APPLY_RANK[document.kind]

    def _run(self, method: str, documents: Sequence[Document]) -> builtins.list[ApplyResult]:
        prepared = [(document, *document_request(document)) for document in documents]
        results: builtins.list[ApplyResult] = []
        for document, path, body in prepared:
            try:
                results.append(self._send_prepared(method, document.kind, document.name, path, body))
            except NautesApiError as error:
                error.completed = tuple(results)
                raise
        return results

    def _send_prepared(self, method: str, kind: str, name: str, path: str, body: bytes) -> ApplyResult:
        url = self.url + path + ("?insecure_skip_check=true" if self.insecure_skip_check else "")
        started = time.monotonic()
        response = self._exchange(method, url, body if method != "DELETE" else None)
        duration = time.monotonic() - started
        if response.status_code != 200:
            raise NautesApiError(
                status=response.status_code, body=response.text, kind=kind, name=name, method=method, url=url
            )
        reply = _json_or_none(response)
        message = str(reply.get("message", "")) if isinstance(reply, dict) else response.text
        return ApplyResult(
            kind=kind, name=name, method=method, path=path, message=message, duration_s=duration
        )

    def _exchange(self, method: str, url: str, body: bytes | None) -> requests.Response:
        """Send and follow redirects like Go: 301/302/303 re-send as GET without body, 307/308 unchanged."""
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + self._token.reveal()}
        origin = urlsplit(url).netloc
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                response = self._session.request(
                    method, url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
                )
            except requests.RequestException as error:
                raise NautesConnectionError(redact(f"{method} {url}: {error}")) from None
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                return response
            if response.status_code in (301, 302, 303):
                method = method if method in ("GET", "HEAD") else "GET"
                body = None
            url = urljoin(url, location)
            if urlsplit(url).netloc != origin:
                headers.pop("Authorization", None)  # Go drops credentials when a redirect leaves the host
        raise NautesConnectionError(f"{method} {url}: stopped after {_MAX_REDIRECTS} redirects")
