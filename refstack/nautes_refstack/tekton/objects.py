"""Small helpers for the Kubernetes objects Tekton writes: names, timestamps, owner references, conditions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

JsonObject = dict[str, Any]

_LONGEST_NAME = 63
_MD5_HEX_LENGTH = 32

SUCCEEDED = "Succeeded"


def now() -> str:
    """RFC 3339 in UTC with second precision, as Kubernetes serialises ``metav1.Time``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def child_name(parent: str, suffix: str) -> str:
    """knative ``kmeta.ChildName``: ``parent + suffix``, hashed to fit 63 characters when too long.

    Tekton names TaskRuns ``ChildName(pipelineRun, "-" + pipelineTask)`` and pods
    ``ChildName(taskRun, "-pod")``.
    """
    if len(parent) <= _LONGEST_NAME - len(suffix):
        return parent + suffix
    head = _LONGEST_NAME - _MD5_HEX_LENGTH
    if head - len(suffix) <= 0:
        digest = hashlib.md5((parent + suffix).encode(), usedforsecurity=False).hexdigest()
        name = parent[:head] + digest
        missing = _LONGEST_NAME - len(name)
        if missing > 0:
            name += suffix[:missing]
        return name.rstrip("-")
    digest = hashlib.md5(parent.encode(), usedforsecurity=False).hexdigest()
    return parent[: head - len(suffix)] + digest + suffix


def owner_reference(owner: JsonObject) -> JsonObject:
    """The controller reference a child carries, so deleting the owner garbage-collects the child."""
    metadata = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def succeeded_condition(status: str, reason: str, message: str) -> JsonObject:
    """Tekton's one condition: ``type: Succeeded`` with ``Unknown``/``True``/``False``."""
    return {
        "type": SUCCEEDED,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now(),
    }
