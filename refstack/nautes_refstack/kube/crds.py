"""CustomResourceDefinitions: what the apiextensions-apiserver checks, and what its controllers do with them.

A cluster lists the CRDs of what is installed on it (Tekton, Argo Events, Argo CD, HNC, external-secrets)
as real ``customresourcedefinitions`` objects, and a CRD created through the API makes its resources appear
in discovery and be served; deleting it deletes every custom resource and takes them out again. The pieces
follow k8s.io/apiextensions-apiserver v0.21:

* validation (pkg/apis/apiextensions/validation/validation.go ``ValidateCustomResourceDefinition``): the name
  is ``<plural>.<group>``, the group has a dot, the scope is ``Cluster`` or ``Namespaced``, exactly one
  version is the storage version, and a v1 CRD has a schema for every version;
* create (pkg/registry/customresourcedefinition/strategy.go ``PrepareForCreate``): the status starts with
  empty accepted names and the storage version in ``storedVersions``;
* the naming and establishing controllers (pkg/controller/status/naming_controller.go,
  pkg/controller/establish/establishing_controller.go): names that no other resource of the group uses are
  accepted (``NamesAccepted``, then ``Established``); a clash leaves the CRD unaccepted and not served;
* delete (pkg/registry/customresourcedefinition/etcd.go ``Delete``): the CRD gets a deletion timestamp, the
  ``customresourcecleanup.apiextensions.k8s.io`` finalizer and a ``Terminating`` condition; the finalizing
  controller (pkg/controller/finalizer/crd_finalizer.go) deletes the custom resources and then its finalizer.

The emulation runs these controllers at once, on the write that triggers them, where the real ones follow
within milliseconds. It serves ``status`` but not ``scale`` subresources, and does not prune unknown fields.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from nautes_refstack.kube import errors, printer_columns
from nautes_refstack.kube.crd_versions import GROUP
from nautes_refstack.kube.errors import JsonObject
from nautes_refstack.kube.resource_type import ResourceType, version_priority

KIND = "CustomResourceDefinition"
STORAGE_KEY = (GROUP, "customresourcedefinitions")
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
# What the CRDs of the installed components declare for their schemas (Tekton's config/300-crds/*.yaml,
# Argo's manifests/crds): everything is kept.
_OPEN_SCHEMA: JsonObject = {
    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
}


def _invalid(name: str, field: str, cause: str, detail: str) -> errors.KubeError:
    return errors.invalid(GROUP, KIND, name, field, cause, detail)


def validate(crd: JsonObject, *, written_as: str, created: bool = True) -> None:
    """Raise the apiserver's 422 for a CRD (``crd`` in its v1 form) it would refuse; ``written_as`` is the
    version the client used (only v1 requires schemas). The name rule applies on create only (an update's
    name cannot change, and its group and plural are immutable: :func:`validate_update`)."""
    name = str(crd.get("metadata", {}).get("name", ""))
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        raise _invalid(name, "spec", "Required value", "spec is required")
    group, names = str(spec.get("group") or ""), spec.get("names") or {}
    if not group:
        raise _invalid(name, "spec.group", "Required value", "group is required")
    if "." not in group:
        raise _invalid(
            name, "spec.group", f'Invalid value: "{group}"', "should be a domain with at least one dot"
        )
    for field in ("plural", "kind"):
        if not names.get(field):
            raise _invalid(name, f"spec.names.{field}", "Required value", f"{field} is required")
    if created and name != f"{names['plural']}.{group}":
        raise _invalid(
            name, "metadata.name", f'Invalid value: "{name}"', 'must be spec.names.plural+"."+spec.group'
        )
    scope = spec.get("scope")
    if scope not in ("Cluster", "Namespaced"):
        raise _invalid(
            name, "spec.scope", f'Unsupported value: "{scope}"', 'supported values: "Cluster", "Namespaced"'
        )
    versions = spec.get("versions") or []
    if sum(1 for version in versions if version.get("storage")) != 1:
        raise _invalid(
            name, "spec.versions", "Invalid value", "must have exactly one version marked as storage version"
        )
    if written_as == "v1":
        for index, version in enumerate(versions):
            if not (version.get("schema") or {}).get("openAPIV3Schema"):
                field = f"spec.versions[{index}].schema.openAPIV3Schema"
                raise _invalid(name, field, "Required value", "schemas are required")


def validate_update(crd: JsonObject, current: JsonObject) -> None:
    """validation.go ``ValidateCustomResourceDefinitionSpecUpdate``/``...StoredVersions``: the group and
    plural never change, the scope and kind not once established, and every stored version stays listed."""
    name = str(current["metadata"]["name"])
    spec, old = crd["spec"], current["spec"]
    immutable = [("spec.group", spec.get("group"), old["group"])]
    immutable.append(("spec.names.plural", spec.get("names", {}).get("plural"), old["names"]["plural"]))
    if is_established(current):
        immutable.append(("spec.scope", spec.get("scope"), old["scope"]))
        immutable.append(("spec.names.kind", spec.get("names", {}).get("kind"), old["names"]["kind"]))
    for field, value, was in immutable:
        if value != was:
            raise _invalid(name, field, f'Invalid value: "{value}"', "field is immutable")
    listed = [version["name"] for version in spec.get("versions") or []]
    for index, stored in enumerate((current.get("status") or {}).get("storedVersions") or []):
        if stored not in listed:
            raise _invalid(
                name,
                f"status.storedVersions[{index}]",
                f'Invalid value: "{stored}"',
                "must appear in spec.versions",
            )


def storage_version(crd: JsonObject) -> str:
    return str(next(v["name"] for v in crd["spec"]["versions"] if v.get("storage")))


def initial_status(crd: JsonObject) -> JsonObject:
    """The status a new CRD is created with: nothing accepted yet, its storage version stored."""
    return {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": [storage_version(crd)]}


def _condition(kind: str, status: str, reason: str, message: str, now: str) -> JsonObject:
    return {"type": kind, "status": status, "lastTransitionTime": now, "reason": reason, "message": message}


def _set_condition(status: JsonObject, condition: JsonObject) -> None:
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != condition["type"]]
    previous = next((c for c in status.get("conditions") or [] if c.get("type") == condition["type"]), None)
    if previous is not None and previous.get("status") == condition["status"]:
        condition["lastTransitionTime"] = previous.get("lastTransitionTime", condition["lastTransitionTime"])
    status["conditions"] = [*conditions, condition]


def names_clash(crd: JsonObject, served: Iterable[ResourceType]) -> str | None:
    """Why the naming controller refuses ``crd``'s names (None if it accepts them): another resource of
    the group has its plural or kind."""
    spec = crd["spec"]
    group, names = spec["group"], spec["names"]
    for resource_type in served:
        if resource_type.group != group or resource_type.storage_key == (group, names["plural"]):
            continue
        if resource_type.kind == names["kind"]:
            return f'"{names["kind"]}" is already in use'
    return None


def accepted_status(crd: JsonObject, clash: str | None, now: str) -> JsonObject:
    """The status once the naming and establishing controllers have seen ``crd``."""
    status = copy.deepcopy(crd.get("status") or initial_status(crd))
    if clash is not None:
        _set_condition(status, _condition("NamesAccepted", "False", "KindConflict", clash, now))
        return status
    status["acceptedNames"] = copy.deepcopy(crd["spec"]["names"])
    _set_condition(status, _condition("NamesAccepted", "True", "NoConflicts", "no conflicts found", now))
    established = _condition(
        "Established", "True", "InitialNamesAccepted", "the initial names have been accepted", now
    )
    _set_condition(status, established)
    stored = status.setdefault("storedVersions", [])
    if storage_version(crd) not in stored:
        stored.append(storage_version(crd))
    return status


def terminating_status(crd: JsonObject, now: str) -> JsonObject:
    status = copy.deepcopy(crd.get("status") or {})
    message = "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"
    _set_condition(status, _condition("Terminating", "True", "InstanceDeletionPending", message, now))
    return status


def is_established(crd: JsonObject) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def served_types(crd: JsonObject) -> list[ResourceType]:
    """The resources an established CRD (v1 form) serves, one per served version, named as accepted."""
    if not is_established(crd) or "deletionTimestamp" in crd.get("metadata", {}):
        return []
    spec, names = crd["spec"], crd["status"]["acceptedNames"]
    list_kind = names.get("listKind")
    return [
        ResourceType(
            spec["group"],
            version["name"],
            names["kind"],
            names["plural"],
            namespaced=spec["scope"] == "Namespaced",
            subresources=("status",) if "status" in (version.get("subresources") or {}) else (),
            short_names=tuple(names.get("shortNames") or ()),
            list_kind=None if list_kind == f"{names['kind']}List" else list_kind,
            categories=tuple(names.get("categories") or ()),
        )
        for version in spec["versions"]
        if version.get("served")
    ]


def manifests_for(resource_types: Iterable[ResourceType]) -> list[JsonObject]:
    """The v1 CRDs that serve ``resource_types`` (custom ones, every version of a resource in one CRD,
    the most stable newest version stored), as the installed components' manifests declare them."""
    by_resource: dict[tuple[str, str], list[ResourceType]] = {}
    for resource_type in resource_types:
        if not resource_type.builtin:
            by_resource.setdefault(resource_type.storage_key, []).append(resource_type)
    return [_manifest(versions) for versions in by_resource.values()]


def _manifest(versions: list[ResourceType]) -> JsonObject:
    first = versions[0]
    storage = max(versions, key=lambda rt: version_priority(rt.version)).version
    names: JsonObject = {
        "plural": first.plural,
        "singular": first.singular,
        "kind": first.kind,
        "listKind": first.list_kind_name,
    }
    if first.short_names:
        names["shortNames"] = list(first.short_names)
    if first.categories:
        names["categories"] = list(first.categories)
    entries = []
    for rt in versions:
        entry: JsonObject = {"name": rt.version, "served": True, "storage": rt.version == storage}
        entry["schema"] = copy.deepcopy(_OPEN_SCHEMA)
        if rt.has_status:
            entry["subresources"] = {"status": {}}
        if columns := printer_columns.declared(rt.group, rt.plural):
            entry["additionalPrinterColumns"] = columns
        entries.append(entry)
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": KIND,
        "metadata": {"name": f"{first.plural}.{first.group}"},
        "spec": {
            "group": first.group,
            "names": names,
            "scope": "Namespaced" if first.namespaced else "Cluster",
            "versions": entries,
            "conversion": {"strategy": "None"},
        },
    }
