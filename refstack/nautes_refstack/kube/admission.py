"""What the apiserver does to an object on its way in: name validation and per-kind defaulting.

Only the behaviour clients observe is copied: Namespaces come back ``Active`` with the ``kubernetes``
finalizer, Pods start ``Pending``, Secrets default to ``Opaque`` and have ``stringData`` folded into
base64 ``data``, names are checked with the same rules (and messages) as kube-apiserver.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from nautes_refstack.kube.defaults import apply_defaults
from nautes_refstack.kube.errors import invalid
from nautes_refstack.kube.resource_type import ResourceType

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_DNS_LABEL = re.compile(rf"^{_LABEL}$")
_SUBDOMAIN_HELP = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_HELP = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
RBAC_GROUP = "rbac.authorization.k8s.io"


def _name_problem(resource_type: ResourceType, name: str) -> str | None:
    """Why ``name`` is not a valid name for this resource, in the apiserver's words (None if valid)."""
    if resource_type.group == RBAC_GROUP:
        # RBAC objects only need to be valid path segments: "system:auth-delegator" is a real ClusterRole.
        if name in (".", "..") or "/" in name or "%" in name:
            return f"may not contain '/' or '%' and may not be '.' or '..': {name!r}"
        return None
    if resource_type.group == "" and resource_type.kind == "Namespace":
        if len(name) > 63:
            return "must be no more than 63 characters"
        return None if _DNS_LABEL.match(name) else _LABEL_HELP
    if len(name) > 253:
        return "must be no more than 253 characters"
    return None if _SUBDOMAIN.match(name) else _SUBDOMAIN_HELP


def validate_name(resource_type: ResourceType, name: str) -> None:
    """Raise the apiserver's 422 for a missing or malformed ``metadata.name``."""
    if not name:
        raise invalid(
            resource_type.group,
            resource_type.kind,
            "",
            "metadata.name",
            "Required value",
            "name or generateName is required",
        )
    problem = _name_problem(resource_type, name)
    if problem is not None:
        raise invalid(
            resource_type.group,
            resource_type.kind,
            name,
            "metadata.name",
            f'Invalid value: "{name}"',
            problem,
        )


def _fold_string_data(secret: dict[str, Any]) -> None:
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = secret.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode("ascii")


def prepare_for_create(resource_type: ResourceType, obj: dict[str, Any]) -> None:
    """Server-side defaulting on create (``status`` is reset for every resource with a status subresource)."""
    if resource_type.has_status:
        obj.pop("status", None)
    apply_defaults(resource_type, obj)
    if resource_type.group != "":
        return
    if resource_type.kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    elif resource_type.kind == "Pod":
        obj["status"] = {"phase": "Pending"}
    elif resource_type.kind == "Secret":
        obj.setdefault("type", "Opaque")
        _fold_string_data(obj)


def prepare_for_update(resource_type: ResourceType, obj: dict[str, Any]) -> None:
    """Server-side normalisation on update."""
    apply_defaults(resource_type, obj)
    if resource_type.group == "" and resource_type.kind == "Secret":
        _fold_string_data(obj)
