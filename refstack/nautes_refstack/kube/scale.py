"""The ``scale`` subresource of Deployments and StatefulSets (``kubectl scale``), as autoscaling/v1 Scale.

k8s.io/kubernetes/pkg/registry/apps/deployment/storage/storage.go ``ScaleREST`` (and statefulset's): a GET
answers the workload's replicas as a Scale (``status.selector`` the label selector as a string); an update
or patch of the Scale changes the workload's ``spec.replicas`` and answers the new Scale. A Scale whose
resourceVersion is stale is a 409, negative replicas a 422 (pkg/apis/autoscaling/validation).
"""

from __future__ import annotations

from typing import Any

from nautes_refstack.kube import errors
from nautes_refstack.kube.errors import JsonObject
from nautes_refstack.kube.patches import apply_patch
from nautes_refstack.kube.resource_type import ResourceType
from nautes_refstack.kube.store import ObjectStore
from nautes_refstack.kube.tables import label_selector_text


def scale_of(workload: JsonObject) -> JsonObject:
    metadata = workload["metadata"]
    kept = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {key: metadata[key] for key in kept if key in metadata},
        "spec": {"replicas": int((workload.get("spec") or {}).get("replicas", 1))},
        "status": {
            "replicas": int((workload.get("status") or {}).get("replicas", 0)),
            "selector": label_selector_text(workload),
        },
    }


def _replicas(rt: ResourceType, name: str, scale: Any) -> int:
    replicas = (scale.get("spec") or {}).get("replicas", 0) if isinstance(scale, dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise errors.bad_request("spec.replicas: a Scale's replicas must be an integer")
    if replicas < 0:
        raise errors.invalid(
            "autoscaling",
            "Scale",
            name,
            "spec.replicas",
            f"Invalid value: {replicas}",
            "must be greater than or equal to 0",
        )
    return replicas


def rescale(
    store: ObjectStore,
    rt: ResourceType,
    namespace: str | None,
    name: str,
    change: Any,
    patch_type: str | None,
) -> JsonObject:
    """Apply ``change`` (a Scale, or a patch of one when ``patch_type`` is given) to the workload."""
    workload = store.get(rt.api_version, rt.kind, namespace, name)
    current = scale_of(workload)
    wanted = apply_patch(current, change, patch_type) if patch_type is not None else change
    stale = (
        ((wanted or {}).get("metadata") or {}).get("resourceVersion") if isinstance(wanted, dict) else None
    )
    if stale and stale != current["metadata"].get("resourceVersion"):
        raise errors.conflict(rt.group, rt.plural, name, errors.STALE_OBJECT)
    replicas = _replicas(rt, name, wanted)
    updated = store.patch(rt.api_version, rt.kind, namespace, name, {"spec": {"replicas": replicas}})
    return scale_of(updated)
