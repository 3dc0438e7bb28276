"""The Argo Events controllers: each EventSource and Sensor gets its Deployment and ``status.conditions``.

Argo Events v1.7.1 (``pkg/apis/common/status_types.go``, ``pkg/apis/{eventsource,sensor}/v1alpha1/
types.go``): an EventSource has ``SourcesProvided`` and ``Deployed``, a Sensor ``DependenciesProvided``,
``TriggersProvided`` and ``Deployed``; each ``{type, status, lastTransitionTime}``, sorted by type, and
the object is ready when all are ``True`` (``Status.IsReady``). The controllers mark ``Deployed`` as soon as
they have created the object's Deployment (``controllers/{sensor,eventsource}/resource.go``
``Reconcile``), named ``<name>-sensor-<random>`` / ``<name>-eventsource-<random>`` and labelled
``controller``, ``sensor-name``/``eventsource-name`` and ``owner-name`` (``controllers/*/controller.go``,
``common/common.go``). Its pod then still has to start before it serves webhooks (event source) or
receives events from the EventBus (sensor): ``Deployed`` says nothing about that, the Deployment's
``status.availableReplicas`` does. Under the ``real`` pace the pod runs after
:data:`EVENT_SOURCE_POD_SECONDS` / :data:`SENSOR_POD_SECONDS`, at once under ``instant``. Until then an
event source registers no GitLab hook and a Sensor misses every event (it is not subscribed yet). Under
fault ``sensors-never-ready`` no Sensor pod ever runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.kube import KubeError, ObjectStore, WatchEvent
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.supervision import start_supervised
from nautes_refstack.tekton.objects import now

log = logging.getLogger(__name__)

API_VERSION = "argoproj.io/v1alpha1"
DEPLOYED = "Deployed"
PROVIDED = {"EventSource": ("SourcesProvided",), "Sensor": ("DependenciesProvided", "TriggersProvided")}
# Scheduling, pulling quay.io/argoproj/argo-events:v1.7.1 and starting the event-source server
# **(inferred: seconds on a node that has the image, more on a fresh one)**.
EVENT_SOURCE_POD_SECONDS = 10.0
# The same for the sensor pod, plus its subscription to the EventBus (NATS) before it receives events
# **(inferred)**; the operator creates Sensors after the EventSource, so they are ready later.
SENSOR_POD_SECONDS = 20.0
POD_SECONDS = {"EventSource": EVENT_SOURCE_POD_SECONDS, "Sensor": SENSOR_POD_SECONDS}
#: The ``controller`` label and the name label of each kind's Deployment (``controllers/*/controller.go``).
DEPLOYMENT_LABELS = {
    "EventSource": ("eventsource-controller", "eventsource-name"),
    "Sensor": ("sensor-controller", "sensor-name"),
}
APPS = "apps/v1"
IMAGE = "quay.io/argoproj/argo-events:v1.7.1"


def deployment_of(store: ObjectStore, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """The Deployment the controller made for EventSource or Sensor ``name`` (found by its labels)."""
    _, name_label = DEPLOYMENT_LABELS[kind]
    found = store.list(APPS, "Deployment", namespace, label_selector=f"{name_label}={name}")
    return found[0] if found else None


class ArgoEventsController:
    """Deploys the EventSources and Sensors of ``namespace``: a Deployment each, ``Deployed`` at once, and
    the Deployment available once its pod would run."""

    def __init__(
        self, store: ObjectStore, namespace: str, pace: Pace = INSTANT, faults: Faults = NO_FAULTS
    ) -> None:
        self._store = store
        self._namespace = namespace
        self._pace = pace
        self._faults = faults
        self._starting: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._handled: dict[tuple[str, str], Any] = {}  # the generation each object's pod runs (or starts)

    async def run(self) -> None:
        """Follow both kinds until cancelled."""
        try:
            async with asyncio.TaskGroup() as group:
                for kind in PROVIDED:
                    group.create_task(self._follow(kind), name=f"argo-events-{kind.lower()}-controller")
        finally:
            for task in self._starting.values():
                task.cancel()

    async def _follow(self, kind: str) -> None:
        stream = self._store.watch(API_VERSION, kind, namespace=self._namespace)
        try:
            async for event in stream:
                self._on_event(kind, event)
        finally:
            stream.close()

    def _on_event(self, kind: str, event: WatchEvent) -> None:
        name = event.object["metadata"]["name"]
        key = (kind, name)
        if key in self._starting and (
            event.type == "DELETED" or self._handled.get(key) != event.object["metadata"].get("generation")
        ):
            self._starting.pop(key).cancel()
        if event.type == "DELETED":
            self._handled.pop(key, None)
            self._undeploy(kind, name)
            return
        generation = event.object["metadata"].get("generation")
        if self._handled.get(key) == generation:
            return  # our own status update, or a change that is not a new spec
        # A new spec: the controller rolls the Deployment (marked deployed at once), the pod (re)starts.
        self._handled[key] = generation
        self._deploy(kind, name)
        self._set(kind, name, generation)
        self._starting[key] = start_supervised(self._start_pod(kind, name), f"{kind} {name} pod start")

    def serving(self, resource: dict[str, Any]) -> bool:
        """Whether the pod of an EventSource or Sensor runs: its Deployment has an available replica."""
        metadata = resource["metadata"]
        deployment = deployment_of(self._store, resource["kind"], self._namespace, metadata["name"])
        return deployment is not None and (deployment.get("status") or {}).get("availableReplicas", 0) >= 1

    async def _start_pod(self, kind: str, name: str) -> None:
        await self._pace.wait(POD_SECONDS[kind])
        if kind == "Sensor" and self._faults.active("sensors-never-ready", about=name):
            return  # fault: the sensor pod never runs, the Sensor never receives an event
        self._starting.pop((kind, name), None)
        self._set_available(kind, name, available=True)
        log.info("%s %s/%s runs", kind, self._namespace, name)

    def _deploy(self, kind: str, name: str) -> None:
        """Create the Deployment, or roll it (no replica available until the new pod runs)."""
        controller, name_label = DEPLOYMENT_LABELS[kind]
        if deployment_of(self._store, kind, self._namespace, name) is None:
            suffix = "sensor" if kind == "Sensor" else "eventsource"
            labels = {"controller": controller, name_label: name, "owner-name": name}
            with contextlib.suppress(KubeError):
                self._store.create(
                    {
                        "apiVersion": APPS,
                        "kind": "Deployment",
                        "metadata": {
                            "generateName": f"{name}-{suffix}-",
                            "namespace": self._namespace,
                            "labels": labels,
                        },
                        "spec": {
                            "replicas": 1,
                            "selector": {"matchLabels": labels},
                            # One container "main" running the kind's service (controllers/*/resource.go
                            # buildDeploymentSpec); the image is the one the v1.7.1 manifests install.
                            "template": {
                                "metadata": {"labels": labels},
                                "spec": {
                                    "containers": [
                                        {
                                            "name": "main",
                                            "image": IMAGE,
                                            "args": [f"{suffix}-service"],
                                        }
                                    ]
                                },
                            },
                        },
                    }
                )
        self._set_available(kind, name, available=False)

    def _undeploy(self, kind: str, name: str) -> None:
        """The Deployment goes with its owner (Kubernetes garbage collection of the owner reference the
        controller sets, ``controllers/common.SetObjectMeta``)."""
        deployment = deployment_of(self._store, kind, self._namespace, name)
        if deployment is not None:
            with contextlib.suppress(KubeError):
                self._store.delete(APPS, "Deployment", self._namespace, deployment["metadata"]["name"])

    def _set_available(self, kind: str, name: str, *, available: bool) -> None:
        deployment = deployment_of(self._store, kind, self._namespace, name)
        if deployment is None:
            return
        ready = 1 if available else 0
        deployment["status"] = {
            "replicas": 1,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": 1 - ready,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if available else "False",
                    "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                    "lastTransitionTime": now(),
                }
            ],
        }
        with contextlib.suppress(KubeError):
            self._store.update_status(deployment)

    def _set(self, kind: str, name: str, generation: Any) -> None:
        try:
            current = self._store.get(API_VERSION, kind, self._namespace, name)
        except KubeError:
            return
        if current["metadata"].get("generation") != generation:
            return  # changed meanwhile: the newer event decides
        previous = {c.get("type"): c for c in (current.get("status") or {}).get("conditions") or []}
        wanted = {condition: "True" for condition in (*PROVIDED[kind], DEPLOYED)}
        conditions = []
        for condition_type in sorted(wanted):
            old = previous.get(condition_type) or {}
            changed = old.get("status") != wanted[condition_type]
            conditions.append(
                {
                    "type": condition_type,
                    "status": wanted[condition_type],
                    "lastTransitionTime": now() if changed else old.get("lastTransitionTime", now()),
                }
            )
        current["status"] = {**(current.get("status") or {}), "conditions": conditions}
        with contextlib.suppress(KubeError):
            self._store.update_status(current)
