"""The Endpoints of each Service, as kube-controller-manager's endpoints controller keeps them.

k8s.io/kubernetes/pkg/controller/endpoint/endpoints_controller.go ``syncService``: a Service with a selector
gets an Endpoints object of the same name and labels, whose subsets hold the IPs of the selected pods that
have one (ready ones as ``addresses``, the others as ``notReadyAddresses``) with each Service port's target
port (a named one looked up in the pod's container ports); no pod, no subsets. A Service without a selector
is left to whoever writes its Endpoints, and a deleted Service's Endpoints go with it. ``default/kubernetes``
is the apiserver's own (pkg/controlplane/reconcilers: the node's address and port 6443).

The same controller plays the endpointslice controller (pkg/controller/endpointslice): each such Service
also gets one ``discovery.k8s.io/v1`` EndpointSlice (``<service>-<5 random>``, labelled
``kubernetes.io/service-name``; with no pod, a placeholder without ports or endpoints), which is what
kubectl 1.32's ``describe service``/``describe ingress`` read; ``kubectl get endpoints`` reads the former.
"""

from __future__ import annotations

import contextlib
from typing import Any

from nautes_refstack.kube.errors import KubeError
from nautes_refstack.kube.followers import StreamFollowers
from nautes_refstack.kube.selectors import LabelSelector
from nautes_refstack.kube.store import ObjectStore
from nautes_refstack.kube.watch import WatchStream

JsonObject = dict[str, Any]
APISERVER_PORT = 6443


def _ready(pod: JsonObject) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _target_port(port: JsonObject, pod: JsonObject) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for container in (pod.get("spec") or {}).get("containers") or []:
        for candidate in container.get("ports") or []:
            if candidate.get("name") == target and candidate.get("protocol", "TCP") == port.get(
                "protocol", "TCP"
            ):
                return int(candidate["containerPort"])
    return None


def _address(pod: JsonObject) -> JsonObject:
    metadata = pod["metadata"]
    address: JsonObject = {"ip": pod["status"]["podIP"]}
    if (pod.get("spec") or {}).get("nodeName"):
        address["nodeName"] = pod["spec"]["nodeName"]
    address["targetRef"] = {
        "kind": "Pod",
        "namespace": metadata["namespace"],
        "name": metadata["name"],
        "uid": metadata["uid"],
        "resourceVersion": metadata.get("resourceVersion", ""),
    }
    return address


def subsets_for(service: JsonObject, pods: list[JsonObject]) -> list[JsonObject]:
    """The subsets of ``service``'s Endpoints for the pods of its namespace (one subset per port set)."""
    selector = (service.get("spec") or {}).get("selector") or {}
    wanted = LabelSelector.parse(",".join(f"{key}={value}" for key, value in sorted(selector.items())))
    by_ports: dict[tuple[tuple[str, int, str], ...], JsonObject] = {}
    for pod in pods:
        status = pod.get("status") or {}
        if not wanted.matches(pod) or not status.get("podIP") or pod["metadata"].get("deletionTimestamp"):
            continue
        if status.get("phase") in ("Succeeded", "Failed"):
            continue
        ports = []
        for port in (service.get("spec") or {}).get("ports") or []:
            number = _target_port(port, pod)
            if number is not None:
                ports.append((str(port.get("name", "")), number, str(port.get("protocol", "TCP"))))
        key = tuple(ports)
        subset = by_ports.setdefault(key, {})
        field = (
            "addresses"
            if _ready(pod) or service["spec"].get("publishNotReadyAddresses")
            else "notReadyAddresses"
        )
        subset.setdefault(field, []).append(_address(pod))
        if ports:
            subset["ports"] = [
                {"name": n, "port": p, "protocol": proto} if n else {"port": p, "protocol": proto}
                for n, p, proto in ports
            ]
    return list(by_ports.values())


SLICE_API = "discovery.k8s.io/v1"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY = {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}


def slice_content(subsets: list[JsonObject]) -> JsonObject:
    """The ``endpoints`` and ``ports`` of the EndpointSlice equivalent to ``subsets`` (none: placeholder)."""
    endpoints: list[JsonObject] = []
    ports: list[JsonObject] = []
    for subset in subsets:
        ports += [port for port in subset.get("ports") or [] if port not in ports]
        for field, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in subset.get(field) or []:
                endpoint: JsonObject = {"addresses": [address["ip"]], "conditions": {"ready": ready}}
                for key in ("targetRef", "nodeName"):
                    if key in address:
                        endpoint[key] = address[key]
                endpoints.append(endpoint)
    content: JsonObject = {"addressType": "IPv4", "endpoints": endpoints}
    if ports:
        content["ports"] = ports
    return content


class EndpointsController:
    """``await start()`` keeps every Service's Endpoints in step with its pods; ``await stop()`` ends it."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._followers = StreamFollowers()

    async def start(self) -> None:
        for kind in ("Service", "Pod"):
            self._followers.follow(self._store.watch("v1", kind), self._follow, f"endpoints: {kind}s")

    async def stop(self) -> None:
        await self._followers.stop()

    async def _follow(self, stream: WatchStream) -> None:
        async for event in stream:
            metadata = event.object["metadata"]
            namespace = str(metadata.get("namespace", ""))
            with contextlib.suppress(KubeError):  # the namespace is going away meanwhile
                if event.object.get("kind") == "Service":
                    if event.type == "DELETED":
                        self._store.delete("v1", "Endpoints", namespace, metadata["name"])
                        selector = f"{SERVICE_NAME_LABEL}={metadata['name']}"
                        self._store.delete_collection(SLICE_API, "EndpointSlice", namespace, selector)
                    else:
                        self._sync(event.object)
                else:
                    for service in self._store.list("v1", "Service", namespace):
                        self._sync(service)

    def _sync(self, service: JsonObject) -> None:
        metadata = service["metadata"]
        namespace, name = metadata["namespace"], metadata["name"]
        if metadata.get("deletionTimestamp"):
            return
        if (namespace, name) == ("default", "kubernetes"):
            subsets = self._apiserver_subsets()
        elif (service.get("spec") or {}).get("selector"):
            subsets = subsets_for(service, self._store.list("v1", "Pod", namespace))
        else:
            return  # no selector: not the controller's to write
        endpoints: JsonObject = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(metadata.get("labels") or {})},
        }
        if subsets:
            endpoints["subsets"] = subsets
        self._write(endpoints, current=self._find("v1", "Endpoints", namespace, f"metadata.name={name}"))
        labels = {**dict(metadata.get("labels") or {}), SERVICE_NAME_LABEL: name}
        if (namespace, name) != ("default", "kubernetes"):
            labels.update(MANAGED_BY)
        current = self._find(SLICE_API, "EndpointSlice", namespace, None, f"{SERVICE_NAME_LABEL}={name}")
        slice_name = name if (namespace, name) == ("default", "kubernetes") else None
        slice_metadata: JsonObject = {"namespace": namespace, "labels": labels}
        if slice_name is not None:
            slice_metadata["name"] = slice_name
        else:
            slice_metadata["generateName"] = f"{name}-"
        endpoint_slice = {"apiVersion": SLICE_API, "kind": "EndpointSlice", "metadata": slice_metadata}
        self._write({**endpoint_slice, **slice_content(subsets)}, current=current)

    def _find(
        self, api_version: str, kind: str, namespace: str, fields: str | None, labels: str | None = None
    ) -> JsonObject | None:
        found = self._store.list(api_version, kind, namespace, labels, fields)
        return found[0] if found else None

    def _write(self, wanted: JsonObject, *, current: JsonObject | None) -> None:
        """Create ``wanted``, or make ``current`` carry its labels and content (no write when it does)."""
        if current is None:
            self._store.create(wanted)
            return
        metadata = {**current["metadata"], "labels": wanted["metadata"]["labels"]}
        updated = {key: value for key, value in current.items() if key in ("apiVersion", "kind")}
        updated.update(
            {key: value for key, value in wanted.items() if key not in ("metadata",)}, metadata=metadata
        )
        if updated != current:
            self._store.replace(updated)

    def _apiserver_subsets(self) -> list[JsonObject]:
        nodes = self._store.list("v1", "Node")
        addresses = (nodes[0].get("status") or {}).get("addresses") or [] if nodes else []
        internal = [a["address"] for a in addresses if a.get("type") == "InternalIP"]
        if not internal:
            return []
        port = {"name": "https", "port": APISERVER_PORT, "protocol": "TCP"}
        return [{"addresses": [{"ip": internal[0]}], "ports": [port]}]
