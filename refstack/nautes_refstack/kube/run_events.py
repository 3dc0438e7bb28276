"""The Events a real runtime cluster records about a pipeline's objects, and the pods' placement.

``kubectl get events``, ``kubectl events`` and the Events section of ``kubectl describe`` are where a user
debugging a run looks first; on a real cluster they hold, for each pipeline:

* the scheduler's ``Scheduled`` (``Successfully assigned <ns>/<pod> to <node>``), which also binds the pod
  to the node (``spec.nodeName``; k8s.io/kubernetes/pkg/scheduler/schedule_one.go);
* the kubelet's ``Pulled``/``Created``/``Started`` for each container once it runs
  (k8s.io/kubernetes/pkg/kubelet/kuberuntime/kuberuntime_container.go ``startContainer``; an image already
  on the node is ``Container image "<image>" already present on machine``), and the pod's ``hostIP``/
  ``podIP`` from the node and the pod network (K3s's flannel hands out 10.42.0.0/24 on a one-node
  cluster);
* Tekton's reconcilers' events on every change of a PipelineRun's or TaskRun's ``Succeeded`` condition
  (tektoncd/pipeline v0.37 pkg/reconciler/events/event.go ``emitK8sEvents``: ``Started`` when the
  condition first appears, then the condition's reason and message, a ``Warning`` when it is ``False``),
  recorded by the components ``PipelineRun`` and ``TaskRun``.

:class:`RunEvents` watches the store and records them; the Tekton emulation itself runs the pods.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from typing import Any

from nautes_refstack.kube.errors import KubeError
from nautes_refstack.kube.events import record_event
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


class RunEvents:
    """``await start()`` begins watching Pods, PipelineRuns and TaskRuns; ``await stop()`` ends it."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._streams: list[WatchStream] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._conditions: dict[str, tuple[str, str, str]] = {}
        self._started: set[tuple[str, str]] = set()
        self._addresses: dict[str, str] = {}

    async def start(self) -> None:
        for api_version, kind in (("v1", "Pod"), (TEKTON_API, "PipelineRun"), (TEKTON_API, "TaskRun")):
            stream = self._store.watch(api_version, kind)
            self._streams.append(stream)
            self._tasks.append(asyncio.create_task(self._follow(stream), name=f"{kind} events"))

    async def stop(self) -> None:
        for stream in self._streams:
            stream.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._streams, self._tasks = [], []

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
