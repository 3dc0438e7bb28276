"""Server-side printing: the ``meta.k8s.io/v1 Table`` a 1.21 apiserver answers when a client asks for one.

``kubectl get`` sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io, ...`` and prints the columns
the server chose, so what a user reads is the server's rendering (a server without tables gets NAME/AGE
only). Columns and cells follow Kubernetes 1.21:

* built-in kinds: pkg/printers/internalversion/printers.go (``AddHandlers``: the column definitions, with
  ``priority: 1`` for the ``-o wide`` ones, and one print function per kind);
* kinds without a printer: k8s.io/apiserver/pkg/registry/rest/table.go ``defaultTableConvertor`` (Name,
  Created At);
* custom resources: k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor (Name, then
  the version's ``additionalPrinterColumns``, or Age when it declares none: ``serveDefaultColumnsIfEmpty``).

Every row carries the object's ``PartialObjectMetadata`` (the default ``includeObject=Metadata``), which
kubectl needs for ``-A``'s NAMESPACE column, ``-L`` and ``--show-labels``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nautes_refstack.kube.errors import JsonObject
from nautes_refstack.kube.openapi import builtin_definitions
from nautes_refstack.kube.resource_type import ResourceType

Cell = Callable[[JsonObject], Any]
_CORE = "io.k8s.api.core.v1."
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."


def _doc(definition: str, field: str) -> str:
    """The field's description in the published definitions (the printers use the same SwaggerDoc())."""
    properties = builtin_definitions().get(definition, {}).get("properties", {})
    return str(properties.get(field, {}).get("description", ""))


@dataclass(frozen=True)
class Column:
    name: str
    cell: Cell
    kind: str = "string"
    description: tuple[str, str] | str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> JsonObject:
        description = _doc(*self.description) if isinstance(self.description, tuple) else self.description
        return {
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": description,
            "priority": self.priority,
        }


# -- values -----------------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration ``HumanDuration``."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def since(value: Any) -> str:
    """printers.go ``translateTimestampSince``: ``<unknown>`` for no time."""
    moment = _parse_time(value)
    if moment is None:
        return "<unknown>"
    return human_duration((datetime.now(UTC) - moment).total_seconds())


def _path(obj: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(key, int):
            obj = obj[key] if isinstance(obj, list) and len(obj) > key else None
        else:
            obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _meta(field: str) -> Cell:
    return lambda obj: _path(obj, "metadata", field)


def _age(obj: JsonObject) -> str:
    return since(_path(obj, "metadata", "creationTimestamp"))


def _created_at(obj: JsonObject) -> str:
    """``CreationTimestamp.UTC().Format(time.RFC3339)``."""
    moment = _parse_time(_path(obj, "metadata", "creationTimestamp"))
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _or_none(value: Any) -> Any:
    return "<none>" if value in (None, "", []) else value


NAME = Column("Name", _meta("name"), description=(f"{_META}ObjectMeta", "name"), format="name")
AGE = Column("Age", _age, description=(f"{_META}ObjectMeta", "creationTimestamp"))
CREATED_AT = Column(
    "Created At", _created_at, kind="date", description=(f"{_META}ObjectMeta", "creationTimestamp")
)


# -- per-kind printers (printers.go) ----------------------------------------------------------------


def _pod_ready(pod: JsonObject) -> str:
    containers = _path(pod, "spec", "containers") or []
    statuses = _path(pod, "status", "containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready") and "running" in (s.get("state") or {}))
    return f"{ready}/{len(containers)}"


def _terminated_reason(terminated: JsonObject, prefix: str = "") -> str:
    if terminated.get("reason"):
        return f"{prefix}{terminated['reason']}"
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _init_reason(pod: JsonObject) -> str | None:
    """printPod's walk over init containers: the first one not done decides (None: all done)."""
    statuses = _path(pod, "status", "initContainerStatuses") or []
    total = len(_path(pod, "spec", "initContainers") or [])
    for index, status in enumerate(statuses):
        state = status.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and terminated.get("exitCode", 0) == 0:
            continue
        if terminated is not None:
            return _terminated_reason(terminated, "Init:")
        if waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return f"Init:{waiting['reason']}"
        return f"Init:{index}/{total}"
    return None


def _pod_status(pod: JsonObject) -> str:
    reason = _path(pod, "status", "reason") or _path(pod, "status", "phase") or ""
    initializing = _init_reason(pod)
    if initializing is not None:
        reason = initializing
    else:
        running = False
        for status in reversed(_path(pod, "status", "containerStatuses") or []):
            state = status.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated") is not None:
                reason = _terminated_reason(state["terminated"])
            elif status.get("ready") and state.get("running") is not None:
                running = True
        if reason == "Completed" and running:
            conditions = _path(pod, "status", "conditions") or []
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
            reason = "Running" if ready else "NotReady"
    if _path(pod, "metadata", "deletionTimestamp"):
        reason = "Unknown" if _path(pod, "status", "reason") == "NodeLost" else "Terminating"
    return str(reason)


def _pod_restarts(pod: JsonObject) -> int:
    statuses = _path(pod, "status", "containerStatuses") or []
    if _init_reason(pod) is not None:
        statuses = _path(pod, "status", "initContainerStatuses") or []
    return sum(int(s.get("restartCount", 0)) for s in statuses)


def _pod_ip(pod: JsonObject) -> str:
    return str(_or_none(_path(pod, "status", "podIPs", 0, "ip") or ""))


def _readiness_gates(pod: JsonObject) -> str:
    gates = _path(pod, "spec", "readinessGates") or []
    if not gates:
        return "<none>"
    conditions = {c.get("type"): c.get("status") for c in _path(pod, "status", "conditions") or []}
    ready = sum(1 for gate in gates if conditions.get(gate.get("conditionType")) == "True")
    return f"{ready}/{len(gates)}"


POD = (
    NAME,
    Column(
        "Ready", _pod_ready, description="The aggregate readiness state of this pod for accepting traffic."
    ),
    Column("Status", _pod_status, description="The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        _pod_restarts,
        kind="integer",
        description="The number of times the containers in this pod have been restarted.",
    ),
    AGE,
    Column("IP", _pod_ip, description=(f"{_CORE}PodStatus", "podIP"), priority=1),
    Column(
        "Node",
        lambda pod: _or_none(_path(pod, "spec", "nodeName")),
        description=(f"{_CORE}PodSpec", "nodeName"),
        priority=1,
    ),
    Column(
        "Nominated Node",
        lambda pod: _or_none(_path(pod, "status", "nominatedNodeName")),
        description=(f"{_CORE}PodStatus", "nominatedNodeName"),
        priority=1,
    ),
    Column(
        "Readiness Gates", _readiness_gates, description=(f"{_CORE}PodSpec", "readinessGates"), priority=1
    ),
)


def _selector(selector: Any) -> str:
    """``labels.Set(selector).String()``: sorted ``k=v`` pairs, ``<none>`` when empty."""
    if not isinstance(selector, dict) or not selector:
        return "<none>"
    return ",".join(f"{key}={selector[key]}" for key in sorted(selector))


def _service_external_ip(service: JsonObject) -> str:
    kind = _path(service, "spec", "type") or "ClusterIP"
    external = _path(service, "spec", "externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "ExternalName":
        return str(_path(service, "spec", "externalName") or "")
    ingress = _path(service, "status", "loadBalancer", "ingress") or []
    addresses = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]
    addresses += external
    return ",".join(addresses) if addresses else "<pending>"


def _service_ports(service: JsonObject) -> str:
    ports = []
    for port in _path(service, "spec", "ports") or []:
        protocol = port.get("protocol", "TCP")
        if port.get("nodePort"):
            ports.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            ports.append(f"{port.get('port')}/{protocol}")
    return ",".join(ports) if ports else "<none>"


SERVICE = (
    NAME,
    Column("Type", lambda s: _path(s, "spec", "type"), description=(f"{_CORE}ServiceSpec", "type")),
    Column(
        "Cluster-IP",
        lambda s: _or_none(_path(s, "spec", "clusterIP")),
        description=(f"{_CORE}ServiceSpec", "clusterIP"),
    ),
    Column("External-IP", _service_external_ip, description=(f"{_CORE}ServiceSpec", "externalIPs")),
    Column("Port(s)", _service_ports, description=(f"{_CORE}ServiceSpec", "ports")),
    AGE,
    Column(
        "Selector",
        lambda s: _selector(_path(s, "spec", "selector")),
        description=(f"{_CORE}ServiceSpec", "selector"),
        priority=1,
    ),
)


def _event_first_seen(event: JsonObject) -> str:
    first = _path(event, "firstTimestamp") or _path(event, "eventTime")
    return since(first)


def _event_last_seen(event: JsonObject) -> str:
    series = _path(event, "series")
    if isinstance(series, dict):
        return since(series.get("lastObservedTime"))
    return since(_path(event, "lastTimestamp")) if _path(event, "lastTimestamp") else _event_first_seen(event)


def _event_count(event: JsonObject) -> int:
    series = _path(event, "series")
    if isinstance(series, dict):
        return int(series.get("count", 0))
    return int(_path(event, "count") or 1)


def _event_object(event: JsonObject) -> str:
    kind = str(_path(event, "involvedObject", "kind") or "").lower()
    name = _path(event, "involvedObject", "name")
    return f"{kind}/{name}" if name else kind


def _event_source(event: JsonObject) -> str:
    """printers.go ``formatEventSource``."""
    component = _path(event, "source", "component") or ""
    host = _path(event, "source", "host") or ""
    return f"{component}, {host}" if host else str(component)


def _endpoints(endpoints: JsonObject) -> str:
    """printers.go ``formatEndpoints``: up to three ``ip:port``, then `` + N more...``."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for subset in subsets:
        ips = [str(address.get("ip")) for address in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        for target in ips if not ports else [f"{ip}:{port.get('port')}" for port in ports for ip in ips]:
            if len(shown) < 3:
                shown.append(target)
            count += 1
    more = f" + {count - 3} more..." if count > 3 else ""
    return ",".join(shown) + more


def _first_three(values: list[str]) -> str:
    """printers.go ``formatDiscoveryPorts``/``formatDiscoveryEndpoints``: ``<unset>`` for none, at most three
    then `` + N more...``."""
    if not values:
        return "<unset>"
    more = f" + {len(values) - 3} more..." if len(values) > 3 else ""
    return ",".join(values[:3]) + more


_SLICE = "io.k8s.api.discovery.v1.EndpointSlice"
ENDPOINT_SLICE = (
    NAME,
    Column("AddressType", lambda s: s.get("addressType"), description=(_SLICE, "addressType")),
    Column(
        "Ports",
        lambda s: _first_three([str(p.get("port")) for p in s.get("ports") or []]),
        description=(_SLICE, "ports"),
    ),
    Column(
        "Endpoints",
        lambda s: _first_three([str(a) for e in s.get("endpoints") or [] for a in e.get("addresses") or []]),
        description=(_SLICE, "endpoints"),
    ),
    AGE,
)


_EVENT = f"{_CORE}Event"
EVENT = (
    Column("Last Seen", _event_last_seen, description=(_EVENT, "lastTimestamp")),
    Column("Type", lambda e: _path(e, "type"), description=(_EVENT, "type")),
    Column("Reason", lambda e: _path(e, "reason"), description=(_EVENT, "reason")),
    Column("Object", _event_object, description=(_EVENT, "involvedObject")),
    Column(
        "Subobject",
        lambda e: _path(e, "involvedObject", "fieldPath") or "",
        description=(f"{_CORE}ObjectReference", "fieldPath"),
        priority=1,
    ),
    Column("Source", _event_source, description=(_EVENT, "source"), priority=1),
    Column("Message", lambda e: str(_path(e, "message") or "").strip(), description=(_EVENT, "message")),
    Column("First Seen", _event_first_seen, description=(_EVENT, "firstTimestamp"), priority=1),
    Column("Count", _event_count, description=(_EVENT, "count"), priority=1),
    Column("Name", _meta("name"), description=(f"{_META}ObjectMeta", "name"), priority=1, format="name"),
)


def _node_status(node: JsonObject) -> str:
    conditions = {c.get("type"): c.get("status") for c in _path(node, "status", "conditions") or []}
    ready = conditions.get("Ready")
    status = ["Ready" if ready == "True" else "NotReady" if ready is not None else "Unknown"]
    if _path(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_roles(node: JsonObject) -> str:
    labels = _path(node, "metadata", "labels") or {}
    roles = sorted(
        {
            key.removeprefix("node-role.kubernetes.io/")
            for key in labels
            if key.startswith("node-role.kubernetes.io/")
        }
        | {value for key, value in labels.items() if key == "kubernetes.io/role"}
    )
    return ",".join(roles) if roles else "<none>"


def _node_address(kind: str) -> Cell:
    def cell(node: JsonObject) -> str:
        for address in _path(node, "status", "addresses") or []:
            if address.get("type") == kind:
                return str(address.get("address"))
        return "<none>"

    return cell


def _node_info(field: str) -> Cell:
    return lambda node: _path(node, "status", "nodeInfo", field) or "<unknown>"


NODE = (
    NAME,
    Column("Status", _node_status, description="The status of the node"),
    Column("Roles", _node_roles, description="The roles of the node"),
    AGE,
    Column("Version", _node_info("kubeletVersion"), description=(f"{_CORE}NodeSystemInfo", "kubeletVersion")),
    Column(
        "Internal-IP",
        _node_address("InternalIP"),
        description=(f"{_CORE}NodeStatus", "addresses"),
        priority=1,
    ),
    Column(
        "External-IP",
        _node_address("ExternalIP"),
        description=(f"{_CORE}NodeStatus", "addresses"),
        priority=1,
    ),
    Column("OS-Image", _node_info("osImage"), description=(f"{_CORE}NodeSystemInfo", "osImage"), priority=1),
    Column(
        "Kernel-Version",
        _node_info("kernelVersion"),
        description=(f"{_CORE}NodeSystemInfo", "kernelVersion"),
        priority=1,
    ),
    Column(
        "Container-Runtime",
        _node_info("containerRuntimeVersion"),
        description=(f"{_CORE}NodeSystemInfo", "containerRuntimeVersion"),
        priority=1,
    ),
)


def _containers(obj: JsonObject) -> list[JsonObject]:
    return list(_path(obj, "spec", "template", "spec", "containers") or [])


def _container_names(obj: JsonObject) -> str:
    return ",".join(str(c.get("name")) for c in _containers(obj))


def _container_images(obj: JsonObject) -> str:
    return ",".join(str(c.get("image")) for c in _containers(obj))


def label_selector_text(obj: JsonObject) -> str:
    """``metav1.LabelSelectorAsSelector(...).String()`` for matchLabels (what the workloads use)."""
    selector = _path(obj, "spec", "selector") or {}
    parts = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        values = ",".join(sorted(expression.get("values") or []))
        operator = {"In": "in", "NotIn": "notin"}.get(expression.get("operator", ""), "")
        if operator:
            parts.append(f"{expression.get('key')} {operator} ({values})")
        else:
            parts.append(
                ("!" if expression.get("operator") == "DoesNotExist" else "") + str(expression.get("key"))
            )
    return ",".join(parts) if parts else "<none>"


def _replicas(obj: JsonObject) -> int:
    replicas = _path(obj, "spec", "replicas")
    return 1 if replicas is None else int(replicas)


def _status_int(field: str) -> Cell:
    return lambda obj: int(_path(obj, "status", field) or 0)


_WORKLOAD_WIDE = (
    Column(
        "Containers", _container_names, description="Names of each container in the template.", priority=1
    ),
    Column(
        "Images",
        _container_images,
        description="Images referenced by each container in the template.",
        priority=1,
    ),
)
DEPLOYMENT = (
    NAME,
    Column(
        "Ready",
        lambda d: f"{int(_path(d, 'status', 'readyReplicas') or 0)}/{_replicas(d)}",
        description="Number of the pod with ready state",
    ),
    Column(
        "Up-to-date",
        _status_int("updatedReplicas"),
        kind="integer",
        description=("io.k8s.api.apps.v1.DeploymentStatus", "updatedReplicas"),
    ),
    Column(
        "Available",
        _status_int("availableReplicas"),
        kind="integer",
        description=("io.k8s.api.apps.v1.DeploymentStatus", "availableReplicas"),
    ),
    AGE,
    *_WORKLOAD_WIDE,
    Column(
        "Selector",
        label_selector_text,
        description=("io.k8s.api.apps.v1.DeploymentSpec", "selector"),
        priority=1,
    ),
)
STATEFUL_SET = (
    NAME,
    Column(
        "Ready",
        lambda s: f"{int(_path(s, 'status', 'readyReplicas') or 0)}/{_replicas(s)}",
        description="Number of the pod with ready state",
    ),
    AGE,
    *_WORKLOAD_WIDE,
)


def _subjects(kind: str) -> Cell:
    def cell(binding: JsonObject) -> str:
        names = []
        for subject in binding.get("subjects") or []:
            if subject.get("kind") != kind:
                continue
            if kind == "ServiceAccount":
                names.append(f"{subject.get('namespace', '')}/{subject.get('name')}")
            else:
                names.append(str(subject.get("name")))
        return ", ".join(names)

    return cell


_RBAC = "io.k8s.api.rbac.v1."
BINDING = (
    NAME,
    Column(
        "Role",
        lambda b: f"{_path(b, 'roleRef', 'kind')}/{_path(b, 'roleRef', 'name')}",
        description=(f"{_RBAC}RoleBinding", "roleRef"),
    ),
    AGE,
    Column("Users", _subjects("User"), description="Users in the roleBinding", priority=1),
    Column("Groups", _subjects("Group"), description="Groups in the roleBinding", priority=1),
    Column(
        "ServiceAccounts",
        _subjects("ServiceAccount"),
        description="ServiceAccounts in the roleBinding",
        priority=1,
    ),
)


def _ingress_hosts(ingress: JsonObject) -> str:
    hosts = [rule.get("host") for rule in _path(ingress, "spec", "rules") or [] if rule.get("host")]
    return ",".join(hosts) if hosts else "*"


def _ingress_address(ingress: JsonObject) -> str:
    ingresses = _path(ingress, "status", "loadBalancer", "ingress") or []
    return ",".join(
        str(i.get("ip") or i.get("hostname")) for i in ingresses if i.get("ip") or i.get("hostname")
    )


INGRESS = (
    NAME,
    Column(
        "Class",
        lambda i: _or_none(_path(i, "spec", "ingressClassName")),
        description="The name of the IngressClass resource that should be used for this Ingress",
    ),
    Column(
        "Hosts",
        _ingress_hosts,
        description="Hosts that incoming requests are matched against before the ingress rule",
    ),
    Column(
        "Address",
        _ingress_address,
        description="Address is a list containing ingress points for the load-balancer",
    ),
    Column(
        "Ports",
        lambda i: "80, 443" if _path(i, "spec", "tls") else "80",
        description="Ports of TLS configurations that open",
    ),
    AGE,
)

_PVC = f"{_CORE}PersistentVolumeClaim"
PERSISTENT_VOLUME_CLAIM = (
    NAME,
    Column(
        "Status",
        lambda c: _path(c, "status", "phase") or "",
        description=(f"{_CORE}PersistentVolumeClaimStatus", "phase"),
    ),
    Column(
        "Volume",
        lambda c: _path(c, "spec", "volumeName") or "",
        description=(f"{_CORE}PersistentVolumeClaimSpec", "volumeName"),
    ),
    Column(
        "Capacity",
        lambda c: _path(c, "status", "capacity", "storage") or "",
        description=(f"{_CORE}PersistentVolumeClaimStatus", "capacity"),
    ),
    Column(
        "Access Modes",
        lambda c: ",".join(
            {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX"}.get(mode, mode)
            for mode in _path(c, "status", "accessModes") or []
        ),
        description=(f"{_CORE}PersistentVolumeClaimStatus", "accessModes"),
    ),
    Column(
        "StorageClass",
        lambda c: _path(c, "spec", "storageClassName") or "",
        description="StorageClass of the pvc",
    ),
    AGE,
    Column(
        "VolumeMode",
        lambda c: _path(c, "spec", "volumeMode") or "<unset>",
        description=(f"{_CORE}PersistentVolumeClaimSpec", "volumeMode"),
        priority=1,
    ),
)

BUILTIN_COLUMNS: dict[tuple[str, str], Sequence[Column]] = {
    ("", "Pod"): POD,
    ("", "Namespace"): (
        NAME,
        Column("Status", lambda n: _path(n, "status", "phase"), description="The status of the namespace"),
        AGE,
    ),
    ("", "ConfigMap"): (
        NAME,
        Column(
            "Data",
            lambda c: len(c.get("data") or {}) + len(c.get("binaryData") or {}),
            description=(f"{_CORE}ConfigMap", "data"),
        ),
        AGE,
    ),
    ("", "Secret"): (
        NAME,
        Column("Type", lambda s: s.get("type"), description=(f"{_CORE}Secret", "type")),
        Column("Data", lambda s: len(s.get("data") or {}), description=(f"{_CORE}Secret", "data")),
        AGE,
    ),
    ("", "ServiceAccount"): (
        NAME,
        Column(
            "Secrets",
            lambda s: len(s.get("secrets") or []),
            description=(f"{_CORE}ServiceAccount", "secrets"),
        ),
        AGE,
    ),
    ("", "Service"): SERVICE,
    ("discovery.k8s.io", "EndpointSlice"): ENDPOINT_SLICE,
    ("", "Endpoints"): (
        NAME,
        Column("Endpoints", _endpoints, description=(f"{_CORE}Endpoints", "subsets")),
        AGE,
    ),
    ("", "Event"): EVENT,
    ("", "Node"): NODE,
    ("", "PersistentVolumeClaim"): PERSISTENT_VOLUME_CLAIM,
    ("apps", "Deployment"): DEPLOYMENT,
    ("apps", "StatefulSet"): STATEFUL_SET,
    ("rbac.authorization.k8s.io", "Role"): (NAME, CREATED_AT),
    ("rbac.authorization.k8s.io", "ClusterRole"): (NAME, CREATED_AT),
    ("rbac.authorization.k8s.io", "RoleBinding"): BINDING,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): BINDING,
    ("networking.k8s.io", "Ingress"): INGRESS,
    ("coordination.k8s.io", "Lease"): (
        NAME,
        Column(
            "Holder",
            lambda lease: _path(lease, "spec", "holderIdentity") or "",
            description=("io.k8s.api.coordination.v1.LeaseSpec", "holderIdentity"),
        ),
        AGE,
    ),
}
DEFAULT_COLUMNS = (NAME, CREATED_AT)


# -- custom resources -------------------------------------------------------------------------------

_SEGMENT = re.compile(
    r"\.([A-Za-z0-9_-]+)|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*[\"']([^\"']*)[\"']\)\]|\[(\d+|\*)\]"
)


def json_path(obj: Any, expression: str) -> list[Any]:
    """The values a CRD printer column's ``jsonPath`` selects (k8s.io/client-go/util/jsonpath, for the
    forms CRDs use: ``.a.b``, ``[n]``, ``[*]`` and ``[?(@.field=="value")]``)."""
    values = [obj]
    position = 0
    expression = expression.strip().removeprefix("{").removesuffix("}")
    while position < len(expression):
        match = _SEGMENT.match(expression, position)
        if match is None:
            return []
        position = match.end()
        field, filter_field, filter_value, index = match.groups()
        found: list[Any] = []
        for value in values:
            if field is not None:
                if isinstance(value, dict) and field in value:
                    found.append(value[field])
            elif filter_field is not None:
                for item in value if isinstance(value, list) else []:
                    selected = json_path(item, "." + filter_field)
                    if selected and str(selected[0]) == filter_value:
                        found.append(item)
            elif isinstance(value, list):
                found += value if index == "*" else value[int(index) : int(index) + 1]
        values = found
    return values


def _custom_cell(column: JsonObject) -> Cell:
    def cell(obj: JsonObject) -> Any:
        values = json_path(obj, str(column.get("jsonPath", "")))
        if not values or values[0] is None:
            return None
        value = values[0]
        if column.get("type") == "date":
            return since(value)
        return value

    return cell


_AGE_COLUMN: JsonObject = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def custom_columns(printer_columns: Sequence[JsonObject] | None) -> tuple[Column, ...]:
    """tableconvertor.New: Name, then the declared columns (Age when none is declared)."""
    if not printer_columns:
        return (NAME, Column("Age", _custom_cell(_AGE_COLUMN), kind="date", description=AGE.description))
    columns = [NAME]
    for column in printer_columns:
        columns.append(
            Column(
                str(column.get("name", "")),
                _custom_cell(column),
                kind=str(column.get("type", "string")),
                description=str(column.get("description", "")),
                priority=int(column.get("priority", 0)),
                format=str(column.get("format", "")),
            )
        )
    return tuple(columns)


def printer_columns_by_type(crds: Sequence[JsonObject]) -> dict[tuple[str, str, str], list[JsonObject]]:
    """``(group, version, kind)`` -> the ``additionalPrinterColumns`` of that version of the CRD."""
    columns: dict[tuple[str, str, str], list[JsonObject]] = {}
    for crd in crds:
        spec = crd.get("spec", {})
        for version in spec.get("versions", []):
            key = (spec.get("group", ""), version.get("name", ""), spec.get("names", {}).get("kind", ""))
            columns[key] = list(version.get("additionalPrinterColumns") or [])
    return columns


# -- the table --------------------------------------------------------------------------------------


def columns_for(rt: ResourceType, crds: Sequence[JsonObject]) -> Sequence[Column]:
    if rt.builtin:
        return BUILTIN_COLUMNS.get((rt.group, rt.kind), DEFAULT_COLUMNS)
    return custom_columns(printer_columns_by_type(crds).get((rt.group, rt.version, rt.kind)))


def _partial_metadata(obj: JsonObject) -> JsonObject:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def table(
    version: str, columns: Sequence[Column], objects: Sequence[JsonObject], resource_version: str
) -> JsonObject:
    """The ``Table`` for ``objects`` (a list's items, or the one object of a get)."""
    rows = [
        {"cells": [column.cell(obj) for column in columns], "object": _partial_metadata(obj)}
        for obj in objects
    ]
    metadata = {"resourceVersion": resource_version}
    body: JsonObject = {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": metadata}
    body["columnDefinitions"] = [column.definition() for column in columns]
    body["rows"] = rows
    return body


def table_version(accept: str) -> str | None:
    """``v1`` or ``v1beta1`` when the first acceptable JSON type is a Table of that version, else None
    (k8s.io/apiserver/pkg/endpoints/handlers/response.go ``transformResponseObject``)."""
    for clause in accept.split(","):
        media, *parameters = (part.strip() for part in clause.split(";"))
        options = dict(parameter.split("=", 1) for parameter in parameters if "=" in parameter)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        if "as" not in options:
            return None
        if (
            options["as"] == "Table"
            and options.get("g") == "meta.k8s.io"
            and options.get("v") in ("v1", "v1beta1")
        ):
            return options["v"]
    return None
