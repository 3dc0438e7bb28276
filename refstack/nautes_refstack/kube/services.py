"""What kube-apiserver fills in on a new Service: defaults, a cluster IP, an empty load-balancer status.

* pkg/apis/core/v1/defaults.go ``SetDefaults_Service``: ``type: ClusterIP``, ``sessionAffinity: None``,
  each port's ``protocol: TCP`` and ``targetPort`` equal to its ``port``;
* pkg/registry/core/service/storage/rest.go (``Create``, ``tryDefaultValidateServiceClusterIPFields``): a
  ``ClusterIP``/``NodePort``/``LoadBalancer`` Service gets a free address of the service CIDR (K3s:
  10.43.0.0/16, 10.43.0.1 being the ``kubernetes`` Service's) in ``clusterIP`` and ``clusterIPs``, with
  ``ipFamilies: [IPv4]`` and ``ipFamilyPolicy: SingleStack``; ``clusterIP: None`` (headless) keeps none;
* pkg/registry/core/service/strategy.go ``PrepareForCreate``: the status starts as ``{"loadBalancer": {}}``;
* pkg/apis/core/validation/validation.go ``ValidateService`` (:func:`service_problems`).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Container

from nautes_refstack.kube.errors import JsonObject, invalid
from nautes_refstack.kube.field_errors import Violation

SERVICE_CIDR = ipaddress.IPv4Network("10.43.0.0/16")
KUBERNETES_SERVICE_IP = "10.43.0.1"


def kubernetes_service() -> JsonObject:
    """``default/kubernetes``: the apiserver's own Service (pkg/controlplane/controller.go)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "clusterIP": KUBERNETES_SERVICE_IP,
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
        },
    }


def _free_address(taken: Container[str]) -> str:
    while True:
        candidate = str(SERVICE_CIDR[2 + secrets.randbelow(SERVICE_CIDR.num_addresses - 3)])
        if candidate not in taken:
            return candidate


def _defaults(spec: JsonObject) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))


def default_service_update(service: JsonObject, current: JsonObject) -> None:
    """An update that leaves the allocated addresses out keeps them (rest.go ``patchAllocatedValues``)."""
    spec = service.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    _defaults(spec)
    for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        if field not in spec and field in (current.get("spec") or {}):
            spec[field] = current["spec"][field]


def default_service(service: JsonObject, taken: Container[str]) -> None:
    """Fill in a new Service's defaults and cluster IP (``taken``: addresses other Services hold)."""
    spec = service.setdefault("spec", {})
    _defaults(spec)
    if spec["type"] != "ExternalName":
        requested = spec.get("clusterIP")
        if requested and requested != "None" and requested in taken:
            raise invalid(
                "",
                "Service",
                str(service.get("metadata", {}).get("name", "")),
                "spec.clusterIPs",
                f'Invalid value: []string{{"{requested}"}}',
                f"failed to allocate IP {requested}: provided IP is already allocated",
            )
        if requested != "None":
            spec["clusterIP"] = requested or _free_address(taken)
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    service["status"] = {"loadBalancer": {}}


_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_PROTOCOLS = ("SCTP", "TCP", "UDP")


def _port_problems(index: int, port: JsonObject, names: set[str], name_required: bool) -> list[Violation]:
    path = f"spec.ports[{index}]"
    problems: list[Violation] = []
    name = port.get("name") or ""
    if name_required and not name:
        problems.append((f"{path}.name", "Required value", ""))
    elif name in names:
        problems.append((f"{path}.name", f'Duplicate value: "{name}"', ""))
    names.add(name)
    number = port.get("port")
    if not isinstance(number, int) or not 1 <= number <= 65535:
        problems.append(
            (f"{path}.port", f"Invalid value: {json.dumps(number)}", "must be between 1 and 65535, inclusive")
        )
    protocol = port.get("protocol")
    if protocol not in _PROTOCOLS:
        supported = ", ".join(f'"{value}"' for value in _PROTOCOLS)
        problems.append(
            (
                f"{path}.protocol",
                f"Unsupported value: {json.dumps(protocol)}",
                f"supported values: {supported}",
            )
        )
    return problems


def service_problems(service: JsonObject) -> list[Violation]:
    """What pkg/apis/core/validation/validation.go ``ValidateService`` refuses in a defaulted Service: an
    unknown type, no ports where the type needs them, a port without a name among several, a repeated name,
    a port number out of range, an unknown protocol."""
    spec = service.get("spec") or {}
    problems: list[Violation] = []
    kind = spec.get("type")
    if kind not in _TYPES:
        supported = ", ".join(f'"{value}"' for value in _TYPES)
        problems.append(
            ("spec.type", f"Unsupported value: {json.dumps(kind)}", f"supported values: {supported}")
        )
    ports = [port for port in spec.get("ports") or [] if isinstance(port, dict)]
    if not ports and kind != "ExternalName" and spec.get("clusterIP") != "None":
        problems.append(("spec.ports", "Required value", ""))
    names: set[str] = set()
    for index, port in enumerate(ports):
        problems += _port_problems(index, port, names, len(ports) > 1)
    return problems
