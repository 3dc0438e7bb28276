"""The Argo Events controllers' part in readiness: the ``status.conditions`` of EventSources and Sensors.

Argo Events v1.7.1 (``pkg/apis/common/status_types.go``, ``pkg/apis/{eventsource,sensor}/v1alpha1/
types.go``): an EventSource has ``SourcesProvided`` and ``Deployed``, a Sensor ``DependenciesProvided``,
``TriggersProvided`` and ``Deployed``; each ``{type, status, lastTransitionTime}``, sorted by type, and
the object is ready when all are ``True`` (``Status.IsReady``). The controllers mark ``Deployed`` once
they have created the object's Deployment (``controllers/sensor/resource.go`` ``Reconcile``); its pod then
still has to start before it serves webhooks (event source) or receives events from the EventBus
(sensor). Here ``Deployed`` turns ``True`` when that pod runs, so that it is the one signal a client waits
on: under the ``real`` pace after :data:`EVENT_SOURCE_POD_SECONDS` / :data:`SENSOR_POD_SECONDS`, at once
under ``instant``. Until then an event source registers no GitLab hook and a Sensor misses every event
(it is not subscribed yet). Under fault ``sensors-never-ready`` no Sensor pod ever runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.kube import KubeError, ObjectStore, WatchEvent
from nautes_refstack.pace import INSTANT, Pace
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


def is_ready(resource: dict[str, Any]) -> bool:
    """``Status.IsReady``: there are conditions and every one is ``True``."""
    conditions = (resource.get("status") or {}).get("conditions") or []
    return bool(conditions) and all(condition.get("status") == "True" for condition in conditions)


class ArgoEventsController:
    """Marks the EventSources and Sensors of ``namespace`` deployed once their pods would run."""

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
            return
        generation = event.object["metadata"].get("generation")
        if self._handled.get(key) == generation:
            return  # our own status update, or a change that is not a new spec
        # A new spec: the controller rolls the Deployment, the pod (re)starts.
        self._handled[key] = generation
        self._set(kind, name, generation, deployed=False)
        self._starting[key] = asyncio.create_task(self._start_pod(kind, name, generation))

    async def _start_pod(self, kind: str, name: str, generation: Any) -> None:
        await self._pace.wait(POD_SECONDS[kind])
        if kind == "Sensor" and self._faults.active("sensors-never-ready"):
            return  # fault: the sensor pod never runs, the Sensor is never ready
        self._starting.pop((kind, name), None)
        self._set(kind, name, generation, deployed=True)
        log.info("%s %s/%s is deployed", kind, self._namespace, name)

    def _set(self, kind: str, name: str, generation: Any, *, deployed: bool) -> None:
        try:
            current = self._store.get(API_VERSION, kind, self._namespace, name)
        except KubeError:
            return
        if current["metadata"].get("generation") != generation:
            return  # changed meanwhile: the newer event decides
        previous = {c.get("type"): c for c in (current.get("status") or {}).get("conditions") or []}
        wanted = {condition: "True" for condition in PROVIDED[kind]}
        wanted[DEPLOYED] = "True" if deployed else "Unknown"
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
