"""Request bodies in Kubernetes' protobuf encoding, read into the JSON form the store works on.

kubectl's typed clients (``kubectl create namespace/configmap/secret/serviceaccount/deployment/token``...)
send ``Content-Type: application/vnd.kubernetes.protobuf``, which a real apiserver accepts for every built-in
kind. The envelope is k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go: the magic
``k8s\\x00`` then a ``runtime.Unknown`` {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2,
contentEncoding = 3, contentType = 4} whose ``raw`` is the object's own message. Field numbers are those of
the kinds' ``generated.proto`` (k8s.io/api/core/v1, apps/v1, authentication/v1, rbac/v1;
k8s.io/apimachinery/pkg/apis/meta/v1) at v1.21.

Go's generated marshalling writes every non-pointer field, set or not (an empty ``selfLink``, ``stdin:
false``): a zero value is what JSON's ``omitempty`` leaves out, so it is dropped here, except for pointer
fields (``replicas: 0`` is not ``replicas`` unset), typed ``"int?"``/``"bool?"``. Only the kinds kubectl's
generators create are described; a protobuf body of another kind, or one setting a field the description
lacks, is refused (415 or 400) rather than read wrongly.
"""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime
from typing import Any

from nautes_refstack.kube.errors import JsonObject, bad_request

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
# Go's zero time.Time as protobuf seconds: a field that was never set (metadata.creationTimestamp).
_ZERO_TIME_SECONDS = -62135596800

# A field: (JSON name, type). Types: "string", "bytes" (base64 in JSON), "int", "bool", "time",
# "quantity", "intorstring", "map" (string to string), "bytesmap" (string to bytes), "quantitymap", or the
# name of a message below; a list of one type marks a repeated field. "intorstring" is a number or a string.
Field = tuple[str, Any]
MESSAGES: dict[str, dict[int, Field]] = {
    "ObjectMeta": {
        1: ("name", "string"),
        2: ("generateName", "string"),
        3: ("namespace", "string"),
        5: ("uid", "string"),
        6: ("resourceVersion", "string"),
        7: ("generation", "int"),
        8: ("creationTimestamp", "time"),
        9: ("deletionTimestamp", "time"),
        10: ("deletionGracePeriodSeconds", "int?"),
        11: ("labels", "map"),
        12: ("annotations", "map"),
        13: ("ownerReferences", ["OwnerReference"]),
        14: ("finalizers", ["string"]),
    },
    "OwnerReference": {
        1: ("kind", "string"),
        3: ("name", "string"),
        4: ("uid", "string"),
        5: ("apiVersion", "string"),
        6: ("controller", "bool?"),
        7: ("blockOwnerDeletion", "bool?"),
    },
    "Namespace": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "NamespaceSpec"),
        3: ("status", "NamespaceStatus"),
    },
    "NamespaceStatus": {1: ("phase", "string")},
    "NamespaceSpec": {1: ("finalizers", ["string"])},
    "Empty": {},
    "ConfigMap": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "map"),
        3: ("binaryData", "bytesmap"),
        4: ("immutable", "bool?"),
    },
    "Secret": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "bytesmap"),
        3: ("type", "string"),
        4: ("stringData", "map"),
        5: ("immutable", "bool?"),
    },
    "ServiceAccount": {
        1: ("metadata", "ObjectMeta"),
        2: ("secrets", ["ObjectReference"]),
        3: ("imagePullSecrets", ["LocalObjectReference"]),
        4: ("automountServiceAccountToken", "bool?"),
    },
    "ObjectReference": {
        1: ("kind", "string"),
        2: ("namespace", "string"),
        3: ("name", "string"),
        4: ("uid", "string"),
        5: ("apiVersion", "string"),
        6: ("resourceVersion", "string"),
        7: ("fieldPath", "string"),
    },
    "LocalObjectReference": {1: ("name", "string")},
    "TokenRequest": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenRequestSpec"), 3: ("status", "Empty")},
    "TokenRequestSpec": {
        1: ("audiences", ["string"]),
        3: ("boundObjectRef", "BoundObjectReference"),
        4: ("expirationSeconds", "int?"),
    },
    "BoundObjectReference": {
        1: ("kind", "string"),
        2: ("apiVersion", "string"),
        3: ("name", "string"),
        4: ("uid", "string"),
    },
    "Deployment": {1: ("metadata", "ObjectMeta"), 2: ("spec", "DeploymentSpec"), 3: ("status", "Empty")},
    "DeploymentSpec": {
        1: ("replicas", "int?"),
        2: ("selector", "LabelSelector"),
        3: ("template", "PodTemplateSpec"),
        4: ("strategy", "DeploymentStrategy"),
        5: ("minReadySeconds", "int"),
        6: ("revisionHistoryLimit", "int?"),
        7: ("paused", "bool"),
        9: ("progressDeadlineSeconds", "int?"),
    },
    "DeploymentStrategy": {1: ("type", "string")},
    "LabelSelector": {1: ("matchLabels", "map"), 2: ("matchExpressions", ["LabelSelectorRequirement"])},
    "LabelSelectorRequirement": {1: ("key", "string"), 2: ("operator", "string"), 3: ("values", ["string"])},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "PodSpec": {2: ("containers", ["Container"]), 8: ("serviceAccountName", "string")},
    "Container": {
        1: ("name", "string"),
        2: ("image", "string"),
        3: ("command", ["string"]),
        4: ("args", ["string"]),
        6: ("ports", ["ContainerPort"]),
        8: ("resources", "ResourceRequirements"),
    },
    "ContainerPort": {
        1: ("name", "string"),
        2: ("hostPort", "int"),
        3: ("containerPort", "int"),
        4: ("protocol", "string"),
    },
    "ResourceRequirements": {1: ("limits", "quantitymap"), 2: ("requests", "quantitymap")},
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec"), 3: ("status", "Empty")},
    "ServiceSpec": {
        1: ("ports", ["ServicePort"]),
        2: ("selector", "map"),
        3: ("clusterIP", "string"),
        4: ("type", "string"),
        5: ("externalIPs", ["string"]),
        7: ("sessionAffinity", "string"),
        10: ("externalName", "string"),
    },
    "ServicePort": {
        1: ("name", "string"),
        2: ("protocol", "string"),
        3: ("port", "int"),
        4: ("targetPort", "intorstring"),
        5: ("nodePort", "int"),
    },
    "Role": {1: ("metadata", "ObjectMeta"), 2: ("rules", ["PolicyRule"])},
    "ClusterRole": {1: ("metadata", "ObjectMeta"), 2: ("rules", ["PolicyRule"])},
    "PolicyRule": {
        1: ("verbs", ["string"]),
        2: ("apiGroups", ["string"]),
        3: ("resources", ["string"]),
        4: ("resourceNames", ["string"]),
        5: ("nonResourceURLs", ["string"]),
    },
    "RoleBinding": {1: ("metadata", "ObjectMeta"), 2: ("subjects", ["Subject"]), 3: ("roleRef", "RoleRef")},
    "ClusterRoleBinding": {
        1: ("metadata", "ObjectMeta"),
        2: ("subjects", ["Subject"]),
        3: ("roleRef", "RoleRef"),
    },
    "Subject": {
        1: ("kind", "string"),
        2: ("apiGroup", "string"),
        3: ("name", "string"),
        4: ("namespace", "string"),
    },
    "RoleRef": {1: ("apiGroup", "string"), 2: ("kind", "string"), 3: ("name", "string")},
}
# The kinds whose bodies can be read, by (apiVersion, kind).
KINDS = {
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("authentication.k8s.io/v1", "TokenRequest"),
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
}


class _Reader:
    """Protobuf wire format: a sequence of (field number, wire type, value) from one message's bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    def fields(self) -> list[tuple[int, int, Any]]:
        found: list[tuple[int, int, Any]] = []
        while self._position < len(self._data):
            key = self._varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                found.append((number, wire, self._varint()))
            elif wire == 2:
                length = self._varint()
                found.append((number, wire, self._take(length)))
            elif wire == 1:
                found.append((number, wire, struct.unpack("<q", self._take(8))[0]))
            elif wire == 5:
                found.append((number, wire, struct.unpack("<i", self._take(4))[0]))
            else:
                raise bad_request(f"protobuf: unsupported wire type {wire} for field {number}")
        return found

    def _take(self, length: int) -> bytes:
        if self._position + length > len(self._data):
            raise bad_request("protobuf: unexpected end of message")
        chunk = self._data[self._position : self._position + length]
        self._position += length
        return chunk

    def _varint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self._take(1)[0]
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return value - (1 << 64) if value >= 1 << 63 else value


def _pair(data: bytes, value_type: str) -> tuple[str, Any]:
    """A map entry {key = 1, value = 2}."""
    entry = dict((number, value) for number, _, value in _Reader(data).fields())
    return entry.get(1, b"").decode(), _scalar(value_type, entry.get(2, b""))


def _time(data: bytes) -> str | None:
    """metav1.Time {seconds = 1, nanos = 2}: RFC 3339 in JSON, null for the zero time (which
    k8s.io/apimachinery/pkg/apis/meta/v1/time_proto.go marshals as no bytes at all)."""
    if not data:
        return None
    seconds = dict((number, value) for number, _, value in _Reader(data).fields()).get(1, 0)
    if seconds <= _ZERO_TIME_SECONDS:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar(kind: str, value: Any) -> Any:
    if kind == "string":
        return value.decode()
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind in ("int", "int?"):
        return int(value)
    if kind in ("bool", "bool?"):
        return bool(value)
    if kind == "time":
        return _time(value)
    if kind == "intorstring":  # intstr.IntOrString {type = 1 (0: int, 1: string), intVal = 2, strVal = 3}
        parts = dict((number, v) for number, _, v in _Reader(value).fields())
        return parts.get(3, b"").decode() if parts.get(1, 0) == 1 else int(parts.get(2, 0))
    if kind == "quantity":  # resource.Quantity {string = 1}
        return dict((number, v) for number, _, v in _Reader(value).fields()).get(1, b"").decode()
    return _message(kind, value)


def _message(name: str, data: bytes) -> JsonObject:
    """One message of :data:`MESSAGES` as its JSON object."""
    layout = MESSAGES[name]
    obj: JsonObject = {}
    for number, _, value in _Reader(data).fields():
        if number not in layout:
            if value in (0, b""):
                continue  # an unset non-pointer field
            raise bad_request(f"protobuf: field {number} of {name} is not understood by this server")
        json_name, kind = layout[number]
        if kind in ("map", "bytesmap", "quantitymap"):
            value_type = {"map": "string", "bytesmap": "bytes", "quantitymap": "quantity"}[kind]
            key, item = _pair(value, value_type)
            obj.setdefault(json_name, {})[key] = item
        elif isinstance(kind, list):
            obj.setdefault(json_name, []).append(_scalar(kind[0], value))
        else:
            converted = _scalar(kind, value)
            if converted is not None and (converted not in ("", 0, False) or kind in ("int?", "bool?")):
                obj[json_name] = converted
    return obj


def decode(body: bytes) -> JsonObject:
    """The object a protobuf request body carries, as JSON (with its ``apiVersion`` and ``kind``)."""
    if not body.startswith(MAGIC):
        raise bad_request("provided object is not a protobuf message (missing the k8s\\x00 prefix)")
    envelope = dict((number, value) for number, _, value in _Reader(body[len(MAGIC) :]).fields())
    type_meta = dict((number, value) for number, _, value in _Reader(envelope.get(1, b"")).fields())
    api_version, kind = type_meta.get(1, b"").decode(), type_meta.get(2, b"").decode()
    if (api_version, kind) not in KINDS:
        raise UnreadableKind(api_version, kind)
    return {"apiVersion": api_version, "kind": kind, **_message(kind, envelope.get(2, b""))}


class UnreadableKind(Exception):
    """A protobuf body of a kind this server does not describe (the caller answers 415)."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(f"{api_version} {kind}")
