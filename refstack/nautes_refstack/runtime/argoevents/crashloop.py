"""Event-source pods in ``CrashLoopBackOff``: what fault ``argo-events-crashloop`` shows on the cluster.

The quickstart's FAQ (contract §6.2, argoproj/argo-events#1791): after PipelineRuntimes are created, the
Argo Events event-source pods crash on start with ``too many open files`` until the node's
``fs.inotify.max_user_instances`` is raised. The eventsource controller runs one Deployment per
EventSource; here only its Pod appears, the way ``kubectl get pods -n argo-events`` and ``kubectl logs``
show it: waiting in ``CrashLoopBackOff`` after a restart, its last run ``Error`` with exit code 1, and the
log the real pod leaves. The stack shows such a pod only for an EventSource the fault acts on (the webhook
receiver then answers 503); without it no event-source pods are shown at all.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from nautes_refstack.faults import Faults
from nautes_refstack.kube import ObjectStore, WatchEvent
from nautes_refstack.tekton.objects import now, owner_reference

EVENT_SOURCE_API_VERSION = "argoproj.io/v1alpha1"
ARGO_EVENTS_VERSION = "v1.7.1"
IMAGE = f"quay.io/argoproj/argo-events:{ARGO_EVENTS_VERSION}"
CONTAINER = "main"
LABEL_EVENT_SOURCE = "eventsource-name"
# Kubernetes' rand.SafeEncodeString alphabet: what ReplicaSet hashes and pod suffixes are made of.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class CrashLoopingEventSources:
    """Gives every EventSource of ``namespace`` the fault acts on one crash-looping pod, until cancelled."""

    def __init__(self, store: ObjectStore, namespace: str, faults: Faults) -> None:
        self._store = store
        self._namespace = namespace
        self._faults = faults

    async def run(self) -> None:
        stream = self._store.watch(EVENT_SOURCE_API_VERSION, "EventSource", namespace=self._namespace)
        try:
            async for event in stream:
                self._on_event(event)
        finally:
            stream.close()

    def _on_event(self, event: WatchEvent) -> None:
        source = event.object
        name = source["metadata"]["name"]
        selector = f"{LABEL_EVENT_SOURCE}={name}"
        if event.type == "DELETED" or not self._faults.active("argo-events-crashloop", about=name):
            return
        if self._store.list("v1", "Pod", self._namespace, label_selector=selector):
            return
        pod = self._store.create(self._pod(source))
        self._store.append_pod_log(self._namespace, pod["metadata"]["name"], CONTAINER, _crash_log(name))
        pod["status"] = _crash_loop_status(pod)
        self._store.update_status(pod)

    def _pod(self, source: dict[str, Any]) -> dict[str, Any]:
        """Named like the controller's Deployment makes it: ``<es>-eventsource-<5>-<rs hash>-<5>``."""
        name = source["metadata"]["name"]
        pod_name = f"{name}-eventsource-{_random(5)}-{_random(10)}-{_random(5)}"
        labels = {"controller": "eventsource-controller", LABEL_EVENT_SOURCE: name, "owner-name": name}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": self._namespace,
                "labels": labels,
                "ownerReferences": [owner_reference(source)],
            },
            "spec": {"containers": [{"name": CONTAINER, "image": IMAGE, "args": ["eventsource-service"]}]},
        }


def _random(length: int) -> str:
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(length))


def _crash_log(event_source: str) -> str:
    """The zap lines the eventsource server prints before Go's ``log.Fatal`` (argo-events#1791)."""
    started = time.time()
    lines = [
        {"msg": "starting eventsource server", "caller": "cmd/start.go:63", "version": ARGO_EVENTS_VERSION},
        {"msg": "starting metrics server", "caller": "metrics/metrics.go:175"},
    ]
    zap = [
        json.dumps(
            {"level": "info", "ts": started, "logger": "argo-events.eventsource", **line}
            | {"eventSourceName": event_source}
        )
        for line in lines
    ]
    fatal = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(started))
    return "\n".join([*zap, f"{fatal} too many open files"]) + "\n"


def _crash_loop_status(pod: dict[str, Any]) -> dict[str, Any]:
    """Crashed once, restarted, crashed again: now backing off before the next restart."""
    metadata = pod["metadata"]
    back_off = (
        f"back-off 10s restarting failed container={CONTAINER} pod={metadata['name']}_{metadata['namespace']}"
    )
    timestamp = now()
    return {
        "phase": "Running",
        "startTime": timestamp,
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "lastProbeTime": None,
                "lastTransitionTime": timestamp,
                "reason": "ContainersNotReady",
                "message": f"containers with unready status: [{CONTAINER}]",
            }
        ],
        "containerStatuses": [
            {
                "name": CONTAINER,
                "image": IMAGE,
                "imageID": IMAGE,  # required; it has run (and crashed) before
                "ready": False,
                "started": False,
                "restartCount": 1,
                "state": {
                    "waiting": {"reason": "CrashLoopBackOff", "message": f"{back_off}({metadata['uid']})"}
                },
                "lastState": {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": timestamp,
                        "finishedAt": timestamp,
                    }
                },
            }
        ],
    }
