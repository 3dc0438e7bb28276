"""Shared helpers for the Kubernetes emulator tests: a server on its own loop thread, and real clients for it.

The kubernetes client and kubectl are synchronous, so the server runs on a private asyncio loop in a
background thread; the test thread reaches the store only through :meth:`RunningKube.call`, which runs
the call on that loop (the store is loop-affine, like in the reference stack).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

import yaml
from kubernetes import client, config
from nautes_refstack.kube import KubeApiServer, ObjectStore, kubeconfig_yaml
from nautes_refstack.kube.store import DEFAULT_HISTORY_LIMIT

T = TypeVar("T")
CLUSTER = "runtime"


class RunningKube:
    """A started :class:`KubeApiServer` with a fresh store, usable from synchronous test code."""

    def __init__(self, *, tls: bool = False, history_limit: int = DEFAULT_HISTORY_LIMIT) -> None:
        self.admin_token = secrets.token_urlsafe(24)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kube-emulator", daemon=True)
        self.store = ObjectStore(history_limit=history_limit)
        self.server = KubeApiServer(self.store, self.admin_token, tls=tls)

    def __enter__(self) -> RunningKube:
        self._thread.start()
        self.run(self.server.start())
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.run(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    @property
    def url(self) -> str:
        return self.server.url

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=15)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store method on the server's loop and return its result (or raise its error)."""

        async def invoke() -> T:
            return function(*args, **kwargs)

        return self.run(invoke())

    def kubeconfig(self, token: str | None = None) -> str:
        return kubeconfig_yaml(self.url, token or self.admin_token, CLUSTER, self.server.ca_pem)

    def api_client(self, token: str | None = None) -> client.ApiClient:
        return config.new_client_from_config_dict(yaml.safe_load(self.kubeconfig(token)))


def unique_name(prefix: str) -> str:
    """A fresh DNS-label name, so tests sharing one server never see each other's objects."""
    return f"{prefix}-{secrets.token_hex(3)}"
