"""The ``kube-root-ca.crt`` ConfigMap in every namespace, as kube-controller-manager's root-ca-cert-publisher
keeps it (k8s.io/kubernetes/pkg/controller/certificates/rootcacertpublisher/publisher.go; on by default
since 1.20, feature RootCAConfigMap): key ``ca.crt`` holds the cluster's CA certificate; created in each
new namespace, and put back when someone changes or deletes it. Pods read it to trust the API server.
"""

from __future__ import annotations

import contextlib
from typing import Any

from nautes_refstack.kube.errors import KubeError
from nautes_refstack.kube.followers import StreamFollowers
from nautes_refstack.kube.store import ObjectStore
from nautes_refstack.kube.watch import WatchStream

JsonObject = dict[str, Any]
NAME = "kube-root-ca.crt"


class RootCaPublisher:
    """``await start()`` publishes ``ca_pem`` in every namespace and keeps it there; ``stop()`` ends it."""

    def __init__(self, store: ObjectStore, ca_pem: str) -> None:
        self._store = store
        self._data = {"ca.crt": ca_pem}
        self._followers = StreamFollowers()

    async def start(self) -> None:
        self._followers.follow(self._store.watch("v1", "Namespace"), self._follow, "root CA publisher")
        config_maps = self._store.watch("v1", "ConfigMap", field_selector=f"metadata.name={NAME}")
        self._followers.follow(config_maps, self._follow, "root CA publisher")

    async def stop(self) -> None:
        await self._followers.stop()

    async def _follow(self, stream: WatchStream) -> None:
        async for event in stream:
            obj = event.object
            namespace = (
                obj["metadata"]["name"] if obj.get("kind") == "Namespace" else obj["metadata"]["namespace"]
            )
            if obj.get("kind") == "Namespace" and event.type == "DELETED":
                continue
            with contextlib.suppress(KubeError):  # the namespace is going away
                self._publish(namespace)

    def _publish(self, namespace: str) -> None:
        owner = self._store.get("v1", "Namespace", None, namespace)
        if owner["metadata"].get("deletionTimestamp"):
            return
        try:
            current = self._store.get("v1", "ConfigMap", namespace, NAME)
        except KubeError:
            self._store.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": NAME, "namespace": namespace},
                    "data": self._data,
                }
            )
            return
        if current.get("data") != self._data or current.get("binaryData"):
            current["data"] = dict(self._data)
            current.pop("binaryData", None)
            self._store.replace(current)
