"""The pod of one TaskRun as the kubelet would report it: phase, container states, logs.

Nothing runs in it -- the steps run on the host -- but ``kubectl get pods``/``describe``/``logs`` and the
kubernetes client see the pod Tekton would have created, with one ``step-<name>`` container per step, the
``vault-agent-init`` init container when the vault injector would add one, and states that follow the run.
"""

from __future__ import annotations

import logging
from typing import Any

from nautes_refstack.kube import KubeError, ObjectStore
from nautes_refstack.kube.events import record_event
from nautes_refstack.tekton.objects import now, owner_reference
from nautes_refstack.tekton.task_api import StepState
from nautes_refstack.tekton.vault_agent import AGENT_IMAGE, INIT_CONTAINER

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
TEKTON_RELEASE = "v0.37.5"


class TaskPod:
    def __init__(self, store: ObjectStore, namespace: str, name: str, steps: dict[str, StepState]) -> None:
        self._store = store
        self.namespace = namespace
        self.name = name
        self._steps = steps
        self.created = False

    def create(self, task_run: JsonObject, workspaces: list[JsonObject], *, vault_agent: bool) -> None:
        """Create the pod object (the store makes it ``Pending``), owned by the TaskRun."""
        metadata = task_run["metadata"]
        spec: JsonObject = {
            "serviceAccountName": task_run["spec"]["serviceAccountName"],
            "restartPolicy": "Never",
            "containers": [{"name": state.container, "image": state.image} for state in self._steps.values()],
            "volumes": [
                {key: value for key, value in binding.items() if key != "subPath"}
                | {"name": f"ws-{binding['name']}"}
                for binding in workspaces
            ],
        }
        if vault_agent:
            spec["initContainers"] = [{"name": INIT_CONTAINER, "image": AGENT_IMAGE}]
        self._store.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": self.name,
                    "namespace": self.namespace,
                    "labels": {**metadata["labels"], "tekton.dev/taskRun": metadata["name"]},
                    "annotations": {**metadata["annotations"], "pipeline.tekton.dev/release": TEKTON_RELEASE},
                    "ownerReferences": [owner_reference(task_run)],
                },
                "spec": spec,
            }
        )
        self.created = True

    async def wait_until_bound(self) -> None:
        """Until the scheduler has bound the pod to a node (``spec.nodeName``): only the kubelet of that
        node reports its containers (k8s.io/kubernetes/pkg/kubelet/status/status_manager.go), so a real
        cluster never shows a pod with container states and no node. A pod deleted meanwhile ends the wait
        (the run is being cancelled)."""
        selector = f"metadata.name={self.name}"
        stream = self._store.watch("v1", "Pod", self.namespace, field_selector=selector)
        try:
            while (event := await stream.next_event()) is not None and event.type != "DELETED":
                if (event.object.get("spec") or {}).get("nodeName"):
                    return
        finally:
            stream.close()

    def log(self, container: str, text: str) -> None:
        self._store.append_pod_log(self.namespace, self.name, container, text)

    def show_steps(self, phase: str, start_time: str) -> None:
        """``Running``/``Succeeded``/``Failed`` with every step container's current state."""
        statuses = [
            _container_status(
                state.container,
                state.image,
                ready=phase == "Running" and state.exit_code is None,
                state={key: value for key, value in state.to_status().items() if key in _CONTAINER_STATES},
            )
            for state in self._steps.values()
        ]
        self._update({"phase": phase, "startTime": start_time, "containerStatuses": statuses})

    def show_config_error(self, message: str) -> None:
        """The kubelet cannot build the containers' config: the pod stays ``Pending``."""
        waiting = {"waiting": {"reason": "CreateContainerConfigError", "message": message}}
        statuses = [
            _container_status(state.container, state.image, ready=False, state=waiting)
            for state in self._steps.values()
        ]
        self._update({"phase": "Pending", "containerStatuses": statuses})

    def show_initializing(self) -> None:
        """The kubelet's status while a volume cannot be mounted: ``Pending``, every container (init or
        not) waiting ``PodInitializing`` without a message -- the reason is in the pod's Events."""
        waiting = {"waiting": {"reason": "PodInitializing"}}
        init_status = _container_status(INIT_CONTAINER, AGENT_IMAGE, ready=False, state=waiting)
        statuses = [
            _container_status(state.container, state.image, ready=False, state=waiting)
            for state in self._steps.values()
        ]
        self._update(
            {"phase": "Pending", "initContainerStatuses": [init_status], "containerStatuses": statuses}
        )

    def warn(self, reason: str, message: str) -> None:
        """Record a kubelet Warning Event about this pod (a repeat counts on the same Event)."""
        try:
            pod = self._store.get("v1", "Pod", self.namespace, self.name)
        except KubeError:
            return
        record_event(self._store, pod, "Warning", reason, message, component="kubelet")

    def show_init_failure(self) -> None:
        """The vault-agent init container exited 1: with ``restartPolicy: Never`` the pod is ``Failed``."""
        terminated = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now()}}
        init_status = _container_status(INIT_CONTAINER, AGENT_IMAGE, ready=False, state=terminated)
        self._update({"phase": "Failed", "initContainerStatuses": [init_status]})

    def phase(self) -> str:
        try:
            pod = self._store.get("v1", "Pod", self.namespace, self.name)
        except KubeError:
            return ""
        return str((pod.get("status") or {}).get("phase", ""))

    def _update(self, status: JsonObject) -> None:
        if not self.created:
            return
        try:
            pod = self._store.get("v1", "Pod", self.namespace, self.name)
            pod["status"] = {**(pod.get("status") or {}), **status}
            self._store.update_status(pod)
        except KubeError:
            log.debug("pod %s/%s is gone; status not updated", self.namespace, self.name)


_CONTAINER_STATES = ("running", "terminated", "waiting")


def _container_status(name: str, image: str, *, ready: bool, state: JsonObject) -> JsonObject:
    """A ``ContainerStatus``. ``imageID`` is required by the API (typed clients refuse a status without
    it): empty until the container has started, then the image it ran -- the emulation pulls nothing, so
    the reference stands for the digest the runtime would report (as in the TaskRun's step states)."""
    started = "waiting" not in state
    return {
        "name": name,
        "image": image,
        "imageID": image if started else "",
        "ready": ready,
        "restartCount": 0,
        "state": state,
    }
