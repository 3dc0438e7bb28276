"""The Events a real runtime cluster records about a pipeline's objects, and the pods' placement.

``kubectl get events``, ``kubectl events`` and the Events section of ``kubectl describe`` are where a user
debugging a run looks first; on a real cluster they hold, for each pipeline:

* the scheduler's ``Scheduled`` (``Successfully assigned <ns>/<pod> to <node>``), which also binds the pod
  to the node (``spec.nodeName``; k8s.io/kubernetes/pkg/scheduler/schedule_one.go);
* the kubelet's ``Pulled``/``Created``/``Started`` for each container once it runs
  (k8s.io/kubernetes/pkg/kubelet/kuberuntime/kuberuntime_container.go ``startContainer``; an image already
  on the node is ``Container image "<image>" already present on machine``), and the pod's ``hostIP``/
  ``podIP`` from the node and the pod network (K3s's flannel hands out 10.42.0.0/24 on a one-node
  cluster), and the pod's conditions as the kubelet's status manager computes them
  (pkg/kubelet/status/generate.go: ``Initialized``, ``Ready``, ``ContainersReady``, and the scheduler's
  ``PodScheduled``);
* Tekton's reconcilers' events on every change of a PipelineRun's or TaskRun's ``Succeeded`` condition
  (tektoncd/pipeline v0.37 pkg/reconciler/events/event.go ``emitK8sEvents``: ``Started`` when the
  condition first appears, then the condition's reason and message, a ``Warning`` when it is ``False``),
  recorded by the components ``PipelineRun`` and ``TaskRun``.

:class:`RunEvents` watches the store and records them; the Tekton emulation itself runs the pods.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from datetime import UTC, datetime
from typing import Any

from nautes_refstack.kube.errors import KubeError
from nautes_refstack.kube.events import record_event
from nautes_refstack.kube.followers import StreamFollowers
from nautes_refstack.kube.store import ObjectStore
from nautes_refstack.kube.watch import WatchStream

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
TEKTON_API = "tekton.dev/v1beta1"
POD_NETWORK = ipaddress.ip_network("10.42.0.0/24")
_CONTAINER_STATUSES = ("initContainerStatuses", "containerStatuses")


def _succeeded(obj: JsonObject) -> tuple[str, str, str] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Succeeded":
            return (
                str(condition.get("status")),
                str(condition.get("reason", "")),
                str(condition.get("message", "")),
            )
    return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(
    kind: str, ready: bool, reason: str, message: str, previous: list[JsonObject], at: str
) -> JsonObject:
    status = "True" if ready else "False"
    before = next((c for c in previous if c.get("type") == kind), None)
    # The kubelet always writes a transition time; one written by another hand may lack it (the store takes
    # any status): the condition then starts now rather than stopping every pod's scheduling and reports.
    kept = before.get("lastTransitionTime") if before and before.get("status") == status else None
    since = kept or at
    condition: JsonObject = {
        "type": kind,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": since,
    }
    if not ready and reason:
        condition["reason"] = reason
        if message:
            condition["message"] = message
    return condition


def pod_conditions(pod: JsonObject, previous: list[JsonObject], at: str) -> list[JsonObject]:
    """generate.go ``GeneratePodInitializedCondition``, ``GenerateContainersReadyCondition`` and
    ``GeneratePodReadyCondition`` (readiness gates aside), in the kubelet's order, after ``PodScheduled``
    once the pod has a node and before the kubelet has reported any container."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if not spec.get("nodeName"):
        return previous
    scheduled = _condition("PodScheduled", True, "", "", previous, at)
    init_statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or []}
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    if not statuses and not init_statuses:
        return [scheduled]
    unfinished = [
        str(c.get("name"))
        for c in spec.get("initContainers") or []
        if ((init_statuses.get(c.get("name")) or {}).get("state") or {}).get("terminated", {}).get("exitCode")
        != 0
    ]
    initialized = _condition(
        "Initialized",
        not unfinished,
        "ContainersNotInitialized",
        f"containers with incomplete status: [{' '.join(unfinished)}]",
        previous,
        at,
    )
    unready = [
        str(c.get("name"))
        for c in spec.get("containers") or []
        if not (statuses.get(c.get("name")) or {}).get("ready")
    ]
    completed = status.get("phase") == "Succeeded"
    reason = "PodCompleted" if completed else "ContainersNotReady"
    message = "" if completed else f"containers with unready status: [{' '.join(unready)}]"
    containers_ready = _condition("ContainersReady", not unready, reason, message, previous, at)
    ready = _condition("Ready", not unready, reason, message, previous, at)
    return [initialized, ready, containers_ready, scheduled]


class RunEvents:
    """``await start()`` begins watching Pods, PipelineRuns and TaskRuns; ``await stop()`` ends it."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._followers = StreamFollowers()
        self._conditions: dict[str, tuple[str, str, str]] = {}
        self._started: set[tuple[str, str]] = set()
        self._addresses: dict[str, str] = {}

    async def start(self) -> None:
        for api_version, kind in (("v1", "Pod"), (TEKTON_API, "PipelineRun"), (TEKTON_API, "TaskRun")):
            self._followers.follow(self._store.watch(api_version, kind), self._follow, f"{kind} events")

    async def stop(self) -> None:
        await self._followers.stop()

    async def _follow(self, stream: WatchStream) -> None:
        async for event in stream:
            with contextlib.suppress(KubeError):  # the object went away meanwhile
                if event.type == "DELETED":
                    self._forget(event.object)
                elif event.object.get("kind") == "Pod":
                    self._pod_changed(event.object)
                else:
                    self._run_changed(event.object)

    # -- Tekton ---------------------------------------------------------------------------------------

    def _run_changed(self, run: JsonObject) -> None:
        uid = run["metadata"]["uid"]
        after = _succeeded(run)
        before = self._conditions.get(uid)
        if after is None or after == before:
            return
        self._conditions[uid] = after
        status, reason, message = after
        if status == "Unknown" and before is None:
            reason, message = "Started", ""
        event_type = "Warning" if status == "False" else "Normal"
        record_event(self._store, run, event_type, reason, message, component=str(run["kind"]))

    # -- scheduler and kubelet ------------------------------------------------------------------------

    def _pod_changed(self, pod: JsonObject) -> None:
        metadata = pod["metadata"]
        node = self._node()
        if node is None or metadata.get("deletionTimestamp"):
            return
        if not (pod.get("spec") or {}).get("nodeName"):
            pod = self._store.patch(
                "v1",
                "Pod",
                metadata["namespace"],
                metadata["name"],
                {"spec": {"nodeName": node["metadata"]["name"]}},
            )
            where = f"{metadata['namespace']}/{metadata['name']} to {node['metadata']['name']}"
            message = f"Successfully assigned {where}"
            record_event(self._store, pod, "Normal", "Scheduled", message, component="default-scheduler")
        status = pod.get("status") or {}
        for container, image in self._newly_started(pod):
            for reason, message in (
                ("Pulled", f'Container image "{image}" already present on machine'),
                ("Created", f"Created container {container}"),
                ("Started", f"Started container {container}"),
            ):
                record_event(self._store, pod, "Normal", reason, message, component="kubelet")
        if status.get("phase") in ("Running", "Succeeded", "Failed") and not status.get("podIP"):
            self._give_address(pod, node)
            pod = self._store.get("v1", "Pod", metadata["namespace"], metadata["name"])
        self._update_conditions(pod)

    def _update_conditions(self, pod: JsonObject) -> None:
        status = pod.get("status") or {}
        conditions = pod_conditions(pod, status.get("conditions") or [], _now())
        if conditions != (status.get("conditions") or []):
            pod["status"] = {**status, "conditions": conditions}
            self._store.update_status(pod)

    def _newly_started(self, pod: JsonObject) -> list[tuple[str, str]]:
        uid = pod["metadata"]["uid"]
        started = []
        for field in _CONTAINER_STATUSES:
            for container in (pod.get("status") or {}).get(field) or []:
                state = container.get("state") or {}
                key = (uid, str(container.get("name")))
                if ("running" in state or "terminated" in state) and key not in self._started:
                    self._started.add(key)
                    started.append((str(container.get("name")), str(container.get("image"))))
        return started

    def _give_address(self, pod: JsonObject, node: JsonObject) -> None:
        uid = pod["metadata"]["uid"]
        if uid not in self._addresses:
            taken = set(self._addresses.values())
            free = (str(ip) for ip in list(POD_NETWORK.hosts())[1:] if str(ip) not in taken)
            self._addresses[uid] = next(free, str(POD_NETWORK.network_address))
        host_ip = next(
            (
                a["address"]
                for a in (node.get("status") or {}).get("addresses") or []
                if a.get("type") == "InternalIP"
            ),
            "",
        )
        pod_ip = self._addresses[uid]
        pod["status"] = {**pod["status"], "hostIP": host_ip, "podIP": pod_ip, "podIPs": [{"ip": pod_ip}]}
        self._store.update_status(pod)

    def _node(self) -> JsonObject | None:
        nodes = self._store.list("v1", "Node")
        return nodes[0] if nodes else None

    def _forget(self, obj: JsonObject) -> None:
        uid = obj["metadata"]["uid"]
        self._conditions.pop(uid, None)
        self._addresses.pop(uid, None)
        self._started = {key for key in self._started if key[0] != uid}
