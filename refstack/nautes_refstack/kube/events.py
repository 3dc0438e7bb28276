"""Recording core/v1 Events the way client-go's ``record.EventRecorder`` does for a component.

``kubectl describe`` and the kubernetes client's ``list_namespaced_event`` show what a controller or the
kubelet recorded about an object. client-go's ``EventCorrelator`` folds a repeat of the same event (same
source, object, type, reason and message) into the Event it already wrote: ``count`` goes up by one and
``lastTimestamp`` moves (``events_cache.go`` ``eventObserve``), so a kubelet retrying a mount every two
minutes leaves one Event "x12 over 20m", not twelve. A new Event is named ``<object>.<hex unix nanos>``
(``event.go`` ``makeEvent``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from nautes_refstack.kube.store import ObjectStore

JsonObject = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_event(
    store: ObjectStore, involved: JsonObject, event_type: str, reason: str, message: str, component: str
) -> JsonObject:
    """Record (or count again) an event about ``involved``, a stored object; returns the Event."""
    metadata = involved["metadata"]
    namespace = metadata.get("namespace") or "default"
    for event in store.list(
        "v1", "Event", namespace, field_selector=f"involvedObject.uid={metadata['uid']},reason={reason}"
    ):
        if (event.get("type"), event.get("message"), (event.get("source") or {}).get("component")) == (
            event_type,
            message,
            component,
        ):
            event["count"] = int(event.get("count") or 1) + 1
            event["lastTimestamp"] = _now()
            return store.replace(event)
    stamp = _now()
    return store.create(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{metadata['name']}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": {
                "kind": involved["kind"],
                "namespace": namespace,
                "name": metadata["name"],
                "uid": metadata["uid"],
                "apiVersion": involved["apiVersion"],
                "resourceVersion": metadata.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": event_type,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": "",
        }
    )
