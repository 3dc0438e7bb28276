"""Strategic merge patch (``application/strategic-merge-patch+json``) for the built-in kinds the stack serves.

A strategic merge patch is a JSON merge patch, except for the lists whose Go field carries a
``patchStrategy:"merge"`` tag in k8s.io/api: lists of objects merge element by element on their
``patchMergeKey`` (a Service's ``ports`` by ``port``, a Pod's ``containers`` by ``name``), lists of scalars
with the tag (``metadata.finalizers``) become the union; every other list is replaced
(k8s.io/apimachinery/pkg/util/strategicpatch/patch.go). The merge keys below are copied from those tags
(k8s.io/api core/v1/types.go, apps/v1, batch/v1, meta/v1 ``ObjectMeta``). The patch directives apply as
there: ``$patch: replace|delete`` in a map or list element, ``$deleteFromPrimitiveList/<field>``,
``$retainKeys``; ``$setElementOrder/<field>`` orders a merged list.
"""

from __future__ import annotations

from typing import Any

from nautes_refstack.kube.errors import JsonObject, bad_request
from nautes_refstack.kube.json_copy import deep_copy

_SCALARS = "$scalars"  # marks a merging list of scalars (the union of both)

_CONTAINER: dict[str, Any] = {
    "ports": ("containerPort", {}),
    "env": ("name", {}),
    "volumeMounts": ("mountPath", {}),
    "volumeDevices": ("devicePath", {}),
}
_POD_SPEC: dict[str, Any] = {
    "containers": ("name", _CONTAINER),
    "initContainers": ("name", _CONTAINER),
    "ephemeralContainers": ("name", _CONTAINER),
    "volumes": ("name", {}),
    "imagePullSecrets": ("name", {}),
    "hostAliases": ("ip", {}),
    "topologySpreadConstraints": ("topologyKey", {}),
}
_CONDITIONS: tuple[str, dict[str, Any]] = ("type", {})
_METADATA: dict[str, Any] = {"ownerReferences": ("uid", {}), "finalizers": (_SCALARS, {})}
_TEMPLATE = {"metadata": _METADATA, "spec": _POD_SPEC}
_WORKLOAD = {"spec": {"template": _TEMPLATE}, "status": {"conditions": _CONDITIONS}}

# kind -> the merging lists of its objects: a nested map of fields, where a list field is (merge key, what
# its elements hold).
SCHEMAS: dict[str, dict[str, Any]] = {
    "Pod": {"spec": _POD_SPEC, "status": {"conditions": _CONDITIONS}},
    "Service": {"spec": {"ports": ("port", {})}},
    "Node": {"status": {"conditions": _CONDITIONS, "addresses": _CONDITIONS}},
    "Deployment": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "ReplicaSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "ReplicationController": _WORKLOAD,
    "Job": {"spec": {"template": _TEMPLATE}},
    "CronJob": {"spec": {"jobTemplate": {"spec": {"template": _TEMPLATE}}}},
}


def strategic_merge(target: JsonObject, patch: JsonObject) -> JsonObject:
    """``patch`` applied to ``target`` (whose ``kind`` picks the merge keys); neither is modified."""
    schema = {**SCHEMAS.get(str(target.get("kind")), {})}
    schema["metadata"] = {**_METADATA, **schema.get("metadata", {})}
    result = _merge_map(target, patch, schema)
    return result if isinstance(result, dict) else {}


def _merge_map(original: Any, patch: JsonObject, schema: dict[str, Any]) -> Any:
    directive = patch.get("$patch")
    body = {key: value for key, value in patch.items() if key != "$patch"}
    if directive == "delete":
        return None
    if directive == "replace":
        return _without_directives(body)
    if directive is not None:
        raise bad_request(f"Unknown patch type: {directive}")
    result = deep_copy(original) if isinstance(original, dict) else {}
    retain = body.pop("$retainKeys", None)
    orders = {
        key.split("/", 1)[1]: body.pop(key) for key in list(body) if key.startswith("$setElementOrder/")
    }
    removals = {
        key.split("/", 1)[1]: body.pop(key)
        for key in list(body)
        if key.startswith("$deleteFromPrimitiveList/")
    }
    for key, value in body.items():
        if value is None:
            result.pop(key, None)
            continue
        merged = _merge_value(result.get(key), value, schema.get(key))
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    for key, values in removals.items():
        if isinstance(result.get(key), list):
            result[key] = [item for item in result[key] if item not in values]
    for key, order in orders.items():
        if isinstance(result.get(key), list) and isinstance(order, list):
            result[key] = _ordered(result[key], order, schema.get(key))
    if isinstance(retain, list):
        result = {key: value for key, value in result.items() if key in retain}
    return result


def _merge_value(original: Any, value: Any, schema: Any) -> Any:
    if isinstance(value, dict):
        return _merge_map(original, value, schema if isinstance(schema, dict) else {})
    if isinstance(value, list) and isinstance(schema, tuple) and isinstance(original, list):
        merge_key, element_schema = schema
        if merge_key == _SCALARS:
            return [*original, *(item for item in value if item not in original)]
        return _merge_list(original, value, merge_key, element_schema)
    return _without_directives(value)


def _merge_list(original: list[Any], patch: list[Any], merge_key: str, schema: dict[str, Any]) -> list[Any]:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [
            _without_directives(item) for item in patch if not (isinstance(item, dict) and "$patch" in item)
        ]
    result = deep_copy(original)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {merge_key}")
        index = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(merge_key) == item[merge_key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_without_directives(item))
        else:
            result[index] = _merge_map(result[index], item, schema)
    return result


def _ordered(items: list[Any], order: list[Any], schema: Any) -> list[Any]:
    merge_key = schema[0] if isinstance(schema, tuple) else None

    def position(item: Any) -> int:
        probe = item.get(merge_key) if merge_key not in (None, _SCALARS) and isinstance(item, dict) else item
        keys = [entry.get(merge_key) if isinstance(entry, dict) and merge_key else entry for entry in order]
        return keys.index(probe) if probe in keys else len(keys)

    return sorted(items, key=position)


def _without_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_directives(item)
            for key, item in value.items()
            if not key.startswith("$") and item is not None
        }
    if isinstance(value, list):
        return [_without_directives(item) for item in value]
    return deep_copy(value)
