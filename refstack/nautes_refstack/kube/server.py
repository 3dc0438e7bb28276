"""One emulated Kubernetes API server: an :class:`ObjectStore` served on loopback, over HTTP or HTTPS."""

from __future__ import annotations

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.http import RunningSite, serve
from nautes_refstack.kube.api import KubeApi
from nautes_refstack.kube.auth import Authenticator
from nautes_refstack.kube.store import ObjectStore
from nautes_refstack.kube.tls import ServingCertificate


class KubeApiServer:
    """Serves ``store`` at :attr:`url` to clients presenting ``admin_token`` or a service-account token.

    With ``tls=True`` the server speaks HTTPS with a certificate from a fresh CA (:attr:`ca_pem`, for
    kubeconfigs and OpenBao's ``kubernetes_ca_cert``); kubectl needs this, because it sends no credentials
    to an ``http://`` server. The kubernetes Python client and OpenBao work with either.
    """

    def __init__(
        self, store: ObjectStore, admin_token: str, *, tls: bool = False, faults: Faults = NO_FAULTS
    ) -> None:
        self.store = store
        self._api = KubeApi(store, Authenticator(store, admin_token), faults)
        self._certificate = ServingCertificate.generate() if tls else None
        self._site: RunningSite | None = None

    @property
    def url(self) -> str:
        if self._site is None:
            raise RuntimeError("the Kubernetes API server is not running")
        return self._site.url

    @property
    def ca_pem(self) -> str | None:
        """The PEM CA certificate clients must trust, or None when serving plain HTTP."""
        return None if self._certificate is None else self._certificate.ca_pem

    async def start(self, port: int = 0) -> None:
        """Listen on ``port`` of 127.0.0.1 (a free one by default; a virtual cluster's is its NodePort)."""
        app = self._api.application()
        context = None if self._certificate is None else self._certificate.server_context()
        self._site = await serve(app, port, ssl_context=context)

    async def stop(self) -> None:
        """Stop listening; open watch streams end at once (clients see the stream close, as on a restart)."""
        site, self._site = self._site, None
        self._api.close_watches()
        if site is not None:
            await site.stop()
