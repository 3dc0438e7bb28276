"""Shared helpers for the runtime-controller tests: the stack's loop in a background thread, and waits.

The clients the tests use (requests, hvac, python-gitlab) are synchronous, so the emulated servers run on
a private asyncio loop in a thread; the test thread reaches loop-affine objects (the object store) only
through :meth:`LoopThread.call`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running in a daemon thread, for servers the synchronous test code talks to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="runtime-tests", daemon=True)

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=timeout)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` on the loop (where the store lives) and return its result."""

        async def invoke() -> T:
            return function(*args, **kwargs)

        return self.run(invoke())


def wait_for(condition: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll ``condition`` until it returns something truthy; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout}s (last value: {value!r})")
        time.sleep(interval)


# -- Nautes documents as the API server writes them (contract §3.1-3.2) ------------------------------------

NAUTES_API = "nautes.resource.nautes.io/v1alpha1"

# The user's pipeline file (the quickstart's ``pipelines/main.yaml``, reduced to what the runtime side reads).
USER_PIPELINE_FILE = """\
apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata:
  name: main-pipiline
spec:
  params:
  - name: REVISION
    value: placeholder
  pipelineRef:
    name: not-installed
"""


def nautes_resource(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A product resource file's content: the CR without status, ``creationTimestamp: null``."""
    return {
        "apiVersion": NAUTES_API,
        "kind": kind,
        "metadata": {"creationTimestamp": None, "name": name},
        "spec": spec,
    }


def _component(name: str, namespace: str, **additions: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "additions": additions or None}


def cluster_cr(name: str, api_server: str) -> dict[str, Any]:
    """A physical pipeline worker as the API server registers it, component defaults filled in."""
    document = nautes_resource(
        "Cluster",
        name,
        {
            "apiServer": api_server,
            "clusterKind": "kubernetes",
            "clusterType": "physical",
            "usage": "worker",
            "workerType": "pipeline",
            "primaryDomain": "127.0.0.1.nip.io",
            "componentsList": {
                "deployment": _component("argocd", "argocd", host=f"argocd.{name}.127.0.0.1.nip.io"),
                "eventListener": _component("argo-events", "argo-events"),
                "gateway": _component("traefik", "traefik", httpNodePort="30080", httpsNodePort="30443"),
                "multiTenant": _component("hnc", "hnc-system"),
                "oauthProxy": _component("oauth2-proxy", "oauth2-proxy"),
                "pipeline": _component("tekton", "tekton-pipelines", host=f"tekton.{name}.127.0.0.1.nip.io"),
                "secretManagement": _component("vault", "vault"),
                "secretSync": _component("external-secrets", "external-secrets"),
            },
        },
    )
    document["metadata"]["namespace"] = "nautes"
    document["status"] = {}
    return document
