"""The Kubernetes emulator for the tests: a server on a background loop, and real clients for it.

The kubernetes client and kubectl are synchronous, so the server runs on a :class:`BackgroundLoop`; the
test thread reaches the store only through :meth:`~BackgroundLoop.call`, which runs the call on that loop
(the store is loop-affine, like in the reference stack).
"""

from __future__ import annotations

import secrets
from types import TracebackType
from typing import Self

import yaml
from kubernetes import client, config
from nautes_refstack.kube import KubeApiServer, ObjectStore, kubeconfig_yaml
from nautes_refstack.kube.store import DEFAULT_HISTORY_LIMIT

from support.loop import BackgroundLoop

CLUSTER = "runtime"


class RunningKube(BackgroundLoop):
    """A started :class:`KubeApiServer` with a fresh store, on its own loop, usable from synchronous tests."""

    def __init__(self, *, tls: bool = False, history_limit: int = DEFAULT_HISTORY_LIMIT) -> None:
        super().__init__("kube-emulator", timeout=15)
        self.admin_token = secrets.token_urlsafe(24)
        self.store = ObjectStore(history_limit=history_limit)
        self.server = KubeApiServer(self.store, self.admin_token, tls=tls)

    def __enter__(self) -> Self:
        super().__enter__()
        self.run(self.server.start())
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.run(self.server.stop())
        super().__exit__(kind, error, trace)

    @property
    def url(self) -> str:
        return self.server.url

    def kubeconfig(self, token: str | None = None) -> str:
        return kubeconfig_yaml(self.url, token or self.admin_token, CLUSTER, self.server.ca_pem)

    def api_client(self, token: str | None = None) -> client.ApiClient:
        return config.new_client_from_config_dict(yaml.safe_load(self.kubeconfig(token)))


def unique_name(prefix: str) -> str:
    """A fresh DNS-label name, so tests sharing one server never see each other's objects."""
    return f"{prefix}-{secrets.token_hex(3)}"
