"""The Nautes API as ``nautes`` v0.4.2 drives it: ``apply``, ``remove``, ``get`` (contract §1).

What the CLI does and this client therefore does: one request per document, grouped by kind in the fixed
apply order (file order within a kind); ``remove`` walks the kinds backwards (still file order within a
kind, as the CLI's ``Execute`` loop does); headers ``Content-Type: application/json`` and
``Authorization: Bearer <token>``; ``?insecure_skip_check=true`` on POST/DELETE when asked; a body on POST
and GET, none on DELETE; success only on HTTP 200; the first failure stops the run, earlier resources stay.
Redirects are followed the way Go's http.Client follows them (a list's trailing-slash URL gets a 301).

One deliberate difference: every document is decoded before the first request, so a malformed document
fails the run before anything is sent (the CLI would have sent the documents before it).

Also unlike the CLI, a request that Nautes refused because another request used the same repository at the
same moment (two runs sharing one installation: NAUTES v0.4.2 serialises nothing) is sent again after a
random pause, a bounded number of times (:mod:`.resend`); each resend is kept in ``collisions``. And an
answer a gateway gives while Nautes restarts (502/503/504) or a reset connection is waited out
(:mod:`nautes_e2e.clients.transient`): a GET is sent again at once, a save (POST, which creates or updates:
contract §2.2) after reading back whether it landed; a DELETE never. Each resend is told to ``retries``.

The shape is python-gitlab's: one manager per kind builds the requests (``managers``) and sends them
through :meth:`NautesClient.http_request`, the client's one HTTP primitive. The client imports the
managers; they reach it only through that method, never through this module.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from nautes_e2e.clients.errors import no_reply_reason
from nautes_e2e.clients.nautes.documents import Document, document_request
from nautes_e2e.clients.nautes.errors import (
    NautesApiError,
    NautesConnectionError,
    NautesNotFound,
    NautesRequestCut,
    reply_error,
)
from nautes_e2e.clients.nautes.managers import (
    KINDS,
    ClusterManager,
    CodeRepoBindingManager,
    CodeRepoManager,
    DeploymentRuntimeManager,
    EnvironmentManager,
    ProductManager,
    ProjectManager,
    ProjectPipelineRuntimeManager,
    ResourceManager,
    manager_class,
    send,
)
from nautes_e2e.clients.nautes.resend import Collision, ResendPolicy, send_resending
from nautes_e2e.clients.nautes.results import ApplyResult
from nautes_e2e.clients.transient import RetryLog, RetryPolicy, call_with_retries, retrying_session
from nautes_e2e.secrets import Secret

_MAX_REDIRECTS = 10  # Go's http.Client default
TLS_HINT = "give its CA as nautes.caBundle (or caBundle) in the target file"
#: How long one request may take. The CLI never gives up (plain net/http, no timeout: contract §1.2), and a
#: real cluster save clones the cluster templates and the tenant repository and pushes: a save still at work
#: must not be cut, so the bound is only there to end a run whose server hangs.
DEFAULT_REQUEST_TIMEOUT_S = 600.0
_APPLY_RANK = {kind: rank for rank, kind in enumerate(KINDS)}


class NautesClient:
    """A client of the Nautes API server with the ``nautes`` CLI's exact request semantics."""

    def __init__(
        self,
        url: str,
        token: Secret,
        *,
        insecure_skip_check: bool = False,
        timeout: float | None = None,
        ca_bundle: Path | None = None,
        resend: ResendPolicy | None = None,
        retries: RetryLog | None = None,
    ) -> None:
        # The CLI strips exactly one trailing slash (formatAPIServer).
        self.url = url[:-1] if url.endswith("/") else url
        self.insecure_skip_check = insecure_skip_check
        self.timeout = DEFAULT_REQUEST_TIMEOUT_S if timeout is None else timeout
        self._token = token
        self.resend = ResendPolicy() if resend is None else resend
        #: Every send Nautes refused for concurrent use and that was sent again, in order.
        self.collisions: builtins.list[Collision] = []
        self._collision_listeners: builtins.list[Callable[[str], None]] = []
        #: Every request sent again after a transient answer (502/503/504, a reset), in order.
        self.retries = RetryLog() if retries is None else retries
        self._transient = RetryPolicy()
        self._session = retrying_session("Nautes API", self.retries)  # resends GETs
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

    def read_back(self, document: Document) -> dict[str, Any] | None:
        """What Nautes has under the path ``document`` is saved to (a GET there, as ``nautes get`` sends
        it), or None if it says there is nothing: to tell whether a save that was cut has landed."""
        path, body = document_request(document)
        try:
            reply: dict[str, Any] = self.http_request(
                "GET", path, body, kind=document.kind, name=document.name
            ).json()
        except NautesNotFound:
            return None
        return reply

    @contextmanager
    def reporting_collisions(self, report: Callable[[str], None]) -> Iterator[None]:
        """Within the block, each resend is also told to ``report`` as it happens (one line: what Nautes
        refused, what collided, the pause), e.g. a stage's ``progress``."""
        self._collision_listeners.append(report)
        try:
            yield
        finally:
            self._collision_listeners.remove(report)

    # -- the one HTTP primitive ---------------------------------------------------------------------------

    def http_request(
        self, method: str, path: str, body: bytes | None, *, kind: str, name: str
    ) -> requests.Response:
        """``method`` on the server's ``path`` as the CLI sends it; the reply if it is a 200.

        Everything a request of the CLI has in common happens here (python-gitlab's ``http_request``):
        the headers, ``?insecure_skip_check=true`` on POST and DELETE when asked, Go's redirect rules.
        A refusal for concurrent use (:class:`~.errors.NautesConcurrentUse`) is sent again under
        ``resend``; any other status raises :class:`NautesNotFound` or :class:`NautesApiError` naming
        ``kind`` and ``name``; no reply at all raises :class:`NautesConnectionError`.
        """
        skip_check = self.insecure_skip_check and method in ("POST", "DELETE")
        url = self.url + path + ("?insecure_skip_check=true" if skip_check else "")

        def exchange() -> requests.Response:
            if method != "POST":  # a GET is resent by the session's transport, a DELETE never
                return self._exchange(method, url, body)
            return call_with_retries(
                self._transient,
                self.retries,
                lambda: self._exchange(method, url, body),
                status_of=lambda response: response.status_code,
                release=lambda response: response.close(),
                service="Nautes API",
                method=method,
                path=path,
                read_back=lambda: self._landed(path, body, kind=kind, name=name),
            )

        def send_once() -> requests.Response:
            response = exchange()
            if response.status_code != 200:
                status, text = response.status_code, response.text
                raise reply_error(status=status, body=text, kind=kind, name=name, method=method, url=url)
            return response

        return send_resending(self.resend, send_once, self._collided, method=method, path=path)

    # -- internals --------------------------------------------------------------------------------------

    def _landed(self, path: str, body: bytes | None, *, kind: str, name: str) -> str:
        """Whether the save of ``kind`` ``name`` to ``path`` landed, read back with the CLI's GET there
        (:meth:`read_back`'s request): a save sent again creates or updates either way, but the report
        should say which."""
        try:
            self.http_request("GET", path, body, kind=kind, name=name)
        except NautesNotFound:
            return f"Nautes does not have {kind} {name}"
        except (NautesApiError, NautesConnectionError) as unreadable:
            return f"could not tell whether it landed ({' '.join(str(unreadable).split())})"
        return f"Nautes has {kind} {name}"

    def _collided(self, collision: Collision) -> None:
        self.collisions.append(collision)
        for report in builtins.list(self._collision_listeners):
            report(str(collision))

    @staticmethod
    def _rank(document: Document) -> int:
        if document.kind not in _APPLY_RANK:
            raise ValueError(f"{document.source}: unknown Nautes kind {document.kind!r}")
        return _APPLY_RANK[document.kind]

    def _run(self, method: str, documents: Sequence[Document]) -> builtins.list[ApplyResult]:
        prepared = [(document, *document_request(document)) for document in documents]
        results: builtins.list[ApplyResult] = []
        for document, path, body in prepared:
            try:
                results.append(send(self, method, document.kind, document.name, path, body))
            except NautesApiError as error:
                error.completed = tuple(results)
                raise
            except NautesRequestCut as cut:
                cut.kind, cut.name, cut.completed = document.kind, document.name, tuple(results)
                raise
        return results

    def _exchange(self, method: str, url: str, body: bytes | None) -> requests.Response:
        """Send and follow redirects like Go: 301/302/303 re-send as GET without body, 307/308 unchanged."""
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + self._token.reveal()}
        origin = urlsplit(url).netloc
        for _ in range(_MAX_REDIRECTS + 1):
            endpoint, action = _endpoint_and_action(method, url)
            try:
                response = self._session.request(
                    method, url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
                )
            except requests.ConnectTimeout as error:  # never sent: nothing can have landed
                reason = no_reply_reason(error, timeout_s=self.timeout)
                raise NautesConnectionError(endpoint, action, reason) from None
            except requests.Timeout as error:
                reason = no_reply_reason(error, timeout_s=self.timeout) + " (the server may still be at work)"
                raise NautesRequestCut(endpoint, action, reason) from None
            except requests.RequestException as error:
                reason = no_reply_reason(error, tls_hint=TLS_HINT)
                raise NautesConnectionError(endpoint, action, reason) from None
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                return response
            if response.status_code in (301, 302, 303):
                method = method if method in ("GET", "HEAD") else "GET"
                body = None
            url = urljoin(url, location)
            if urlsplit(url).netloc != origin:
                headers.pop("Authorization", None)  # Go drops credentials when a redirect leaves the host
        raise NautesConnectionError(
            *_endpoint_and_action(method, url), f"stopped after {_MAX_REDIRECTS} redirects"
        )


def _endpoint_and_action(method: str, url: str) -> tuple[str, str]:
    """``http://host:port`` and ``POST /api/v1/clusters/c1?insecure_skip_check=true`` of a request."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", f"{method} {parts.path}" + (
        f"?{parts.query}" if parts.query else ""
    )
