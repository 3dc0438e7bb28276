"""Create-or-update and delete-if-present on the runtime cluster's object store.

The operators converge objects the way controller-runtime's ``CreateOrUpdate`` does: create when absent,
otherwise keep the server's metadata, merge in the wanted labels and annotations and replace the rest of
the object (status excepted). The store turns a write that changes nothing into a no-op, so reconciling
an unchanged runtime emits no watch events.
"""

from __future__ import annotations

import base64
from typing import Any

from nautes_refstack.kube import KubeError, ObjectStore

JsonObject = dict[str, Any]


def get_or_none(
    store: ObjectStore, api_version: str, kind: str, namespace: str | None, name: str
) -> JsonObject | None:
    try:
        return store.get(api_version, kind, namespace, name)
    except KubeError as error:
        if error.code == 404:
            return None
        raise


def apply(store: ObjectStore, desired: JsonObject) -> JsonObject:
    """Make the stored object look like ``desired`` (labels and annotations are merged, not replaced)."""
    metadata = desired["metadata"]
    current = get_or_none(
        store, desired["apiVersion"], desired["kind"], metadata.get("namespace"), metadata["name"]
    )
    if current is None:
        return store.create(desired)
    merged_metadata = dict(current["metadata"])
    for key in ("labels", "annotations"):
        if metadata.get(key):
            merged_metadata[key] = {**(current["metadata"].get(key) or {}), **metadata[key]}
    updated = {key: value for key, value in desired.items() if key != "metadata"}
    if "status" in current:
        updated["status"] = current["status"]
    updated["metadata"] = merged_metadata
    return store.replace(updated)


def delete_if_present(
    store: ObjectStore, api_version: str, kind: str, namespace: str | None, name: str
) -> bool:
    """Delete an object; False when it was already gone."""
    try:
        store.delete(api_version, kind, namespace, name)
    except KubeError as error:
        if error.code == 404:
            return False
        raise
    return True


def secret_value(store: ObjectStore, namespace: str, selector: dict[str, Any]) -> str | None:
    """The decoded value a ``{name, key}`` SecretKeySelector points at, or None when it is not there."""
    secret = get_or_none(store, "v1", "Secret", namespace, str(selector.get("name")))
    encoded = ((secret or {}).get("data") or {}).get(str(selector.get("key")))
    return base64.b64decode(encoded).decode() if encoded is not None else None
