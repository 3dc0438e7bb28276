"""Endpoints and EndpointSlices kept for each Service, as the endpoints and endpointslice controllers do."""

from __future__ import annotations

import asyncio
from typing import Any

from nautes_refstack.kube import ObjectStore
from nautes_refstack.kube.endpoints import EndpointsController

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}},
    "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
}


def _pod(name: str, ip: str, *, ready: bool) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "nodeName": "n",
            "containers": [{"name": "c", "image": "i", "ports": [{"name": "http", "containerPort": 8080}]}],
        },
    }, {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": str(ready)}]}


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_a_service_gets_endpoints_of_its_pods_and_loses_them_with_it() -> None:
    async def scenario() -> tuple[list[Any], list[Any], list[Any]]:
        store = ObjectStore()
        controller = EndpointsController(store)
        await controller.start()
        store.create(SERVICE)
        for name, ip, ready in (("a", "10.42.0.5", True), ("b", "10.42.0.6", False)):
            pod, status = _pod(name, ip, ready=ready)
            created = store.create(pod)
            created["status"] = status
            store.update_status(created)
        await _settle()
        endpoints = store.list("v1", "Endpoints", "default", field_selector="metadata.name=web")
        slices = store.list(
            "discovery.k8s.io/v1", "EndpointSlice", "default", "kubernetes.io/service-name=web"
        )
        store.delete("v1", "Service", "default", "web")
        await _settle()
        left = store.list("discovery.k8s.io/v1", "EndpointSlice", "default", "kubernetes.io/service-name=web")
        await controller.stop()
        return endpoints, slices, left

    endpoints, slices, left = asyncio.run(scenario())
    (subset,) = endpoints[0]["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["10.42.0.5"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.42.0.6"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert endpoints[0]["metadata"]["labels"] == {"tier": "front"}
    (endpoint_slice,) = slices
    assert endpoint_slice["metadata"]["name"].startswith("web-")
    assert [(e["addresses"], e["conditions"]) for e in endpoint_slice["endpoints"]] == [
        (["10.42.0.5"], {"ready": True}),
        (["10.42.0.6"], {"ready": False}),
    ]
    assert left == []


def test_the_apiservers_own_endpoints() -> None:
    async def scenario() -> dict[str, Any]:
        store = ObjectStore()
        controller = EndpointsController(store)
        await controller.start()
        await _settle()
        await controller.stop()
        return store.get("v1", "Endpoints", "default", "kubernetes")

    (subset,) = asyncio.run(scenario())["subsets"]
    assert subset["ports"] == [{"name": "https", "port": 6443, "protocol": "TCP"}]
