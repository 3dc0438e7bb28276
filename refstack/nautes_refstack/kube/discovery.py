"""Discovery documents (``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/{g}``, ``/apis/{g}/{v}``).

kubectl and client-go resolve every resource name through these, so they are shaped exactly as a real
apiserver's legacy (non-aggregated) discovery: the core group's ``groupVersion`` is ``"v1"``, subresources
are listed as ``<plural>/<sub>`` entries, and each group's preferred version is its most stable, newest one.
Clients that ask for aggregated discovery get these legacy documents and fall back, as they do with older
servers.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

from nautes_refstack.kube.errors import JsonObject
from nautes_refstack.kube.resource_type import SUBRESOURCE_VERBS, ResourceType, version_priority

# The runtime clusters of a Nautes v0.4 installation run K3s v1.21.14+k3s1 (contract §5.2). The commit and
# build date are deliberate placeholders: the emulation is not built from any commit.
SERVER_VERSION: JsonObject = {
    "major": "1",
    "minor": "21",
    "gitVersion": "v1.21.14+k3s1",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "1970-01-01T00:00:00Z",
    "goVersion": "go1.16.15",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# Subresources whose kind differs from their parent's: (kind, group, version).
_SUBRESOURCE_KINDS = {
    "token": ("TokenRequest", "authentication.k8s.io", "v1"),
    "scale": ("Scale", "autoscaling", "v1"),
}


def _storage_version_hash(resource_type: ResourceType) -> str:
    digest = hashlib.sha256(f"{resource_type.group}/{resource_type.version}/{resource_type.kind}".encode())
    return base64.b64encode(digest.digest()[:8]).decode("ascii")


def _api_resources(resource_type: ResourceType) -> list[JsonObject]:
    main: JsonObject = {
        "name": resource_type.plural,
        "singularName": resource_type.singular,
        "namespaced": resource_type.namespaced,
        "kind": resource_type.kind,
        "verbs": list(resource_type.verbs),
    }
    if resource_type.short_names:
        main["shortNames"] = list(resource_type.short_names)
    if resource_type.categories:
        main["categories"] = list(resource_type.categories)
    main["storageVersionHash"] = _storage_version_hash(resource_type)
    entries = [main]
    for subresource in resource_type.subresources:
        entry: JsonObject = {"name": f"{resource_type.plural}/{subresource}", "singularName": ""}
        entry["namespaced"] = resource_type.namespaced
        kind = resource_type.kind
        if subresource in _SUBRESOURCE_KINDS:
            kind, entry["group"], entry["version"] = _SUBRESOURCE_KINDS[subresource]
        entry.update(kind=kind, verbs=list(SUBRESOURCE_VERBS[subresource]))
        entries.append(entry)
    return entries


def api_resource_list(group: str, version: str, resource_types: Iterable[ResourceType]) -> JsonObject:
    """``/api/v1`` or ``/apis/{group}/{version}``."""
    resources = [
        entry for rt in resource_types if rt.group_version == (group, version) for entry in _api_resources(rt)
    ]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def core_api_versions(server_address: str) -> JsonObject:
    """``/api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _versions_by_group(resource_types: Iterable[ResourceType]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for rt in resource_types:
        if rt.group and rt.version not in groups.setdefault(rt.group, []):
            groups[rt.group].append(rt.version)
    return groups


def _api_group(name: str, versions: list[str]) -> JsonObject:
    ordered = sorted(versions, key=version_priority, reverse=True)
    entries = [{"groupVersion": f"{name}/{version}", "version": version} for version in ordered]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(resource_types: Iterable[ResourceType]) -> JsonObject:
    """``/apis``: every named group, in registration order."""
    groups = [_api_group(name, versions) for name, versions in _versions_by_group(resource_types).items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(name: str, resource_types: Iterable[ResourceType]) -> JsonObject | None:
    """``/apis/{group}``, or None for a group nobody serves."""
    versions = _versions_by_group(resource_types).get(name)
    if versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_api_group(name, versions)}
