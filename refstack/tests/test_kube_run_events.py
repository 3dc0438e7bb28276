"""The scheduler's, kubelet's and Tekton's Events about a pipeline's objects, and a pod's placement."""

from __future__ import annotations

import asyncio
from typing import Any

from nautes_refstack.kube import ObjectStore
from nautes_refstack.kube.run_events import RunEvents, pod_conditions

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "run-task-pod", "namespace": "default"},
    "spec": {"containers": [{"name": "step-git", "image": "git:2"}]},
}
TASK_RUN = {
    "apiVersion": "tekton.dev/v1beta1",
    "kind": "TaskRun",
    "metadata": {"name": "run-task", "namespace": "default"},
}


def _events(store: ObjectStore) -> list[tuple[str, str, str, str]]:
    return [
        (e["involvedObject"]["kind"], e["type"], e["reason"], e["source"]["component"])
        for e in sorted(store.list("v1", "Event", "default"), key=lambda e: e["metadata"]["name"])
    ]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _condition(obj: dict[str, Any], status: str, reason: str, message: str) -> dict[str, Any]:
    obj["status"] = {
        "conditions": [{"type": "Succeeded", "status": status, "reason": reason, "message": message}]
    }
    return obj


def test_a_pod_is_scheduled_and_its_containers_started() -> None:
    async def scenario() -> tuple[ObjectStore, dict[str, Any]]:
        store = ObjectStore()
        events = RunEvents(store)
        await events.start()
        store.create(POD)
        await _settle()
        pod = store.get("v1", "Pod", "default", "run-task-pod")
        running = {"name": "step-git", "image": "git:2", "state": {"running": {}}, "ready": True}
        pod["status"] = {**pod["status"], "phase": "Running", "containerStatuses": [running]}
        store.update_status(pod)
        await _settle()
        await events.stop()
        return store, store.get("v1", "Pod", "default", "run-task-pod")

    store, pod = asyncio.run(scenario())
    node = store.list("v1", "Node")[0]["metadata"]["name"]
    assert pod["spec"]["nodeName"] == node
    assert pod["status"]["podIP"].startswith("10.42.0.")
    assert [reason for _, _, reason, _ in _events(store)] == ["Scheduled", "Pulled", "Created", "Started"]
    assert _events(store)[0][3] == "default-scheduler"
    assert {component for *_, component in _events(store)[1:]} == {"kubelet"}


def test_each_change_of_a_run_condition_is_an_event() -> None:
    async def scenario() -> ObjectStore:
        store = ObjectStore()
        events = RunEvents(store)
        await events.start()
        store.create(TASK_RUN)  # a status written with the object is dropped: it has a status subresource
        await _settle()
        changes = (
            ("Unknown", "Pending"),
            ("Unknown", "Running"),
            ("Unknown", "Running"),
            ("False", "Failed"),
        )
        for status, reason in changes:
            run = store.get("tekton.dev/v1beta1", "TaskRun", "default", "run-task")
            store.update_status(_condition(run, status, reason, f"{reason}!"))
            await _settle()
        await events.stop()
        return store

    store = asyncio.run(scenario())
    assert _events(store) == [
        ("TaskRun", "Normal", "Started", "TaskRun"),
        ("TaskRun", "Normal", "Running", "TaskRun"),
        ("TaskRun", "Warning", "Failed", "TaskRun"),
    ]


def test_a_pods_conditions_follow_its_containers() -> None:
    pod: dict[str, Any] = {"spec": {"nodeName": "n", "containers": [{"name": "step-a"}, {"name": "step-b"}]}}
    assert [c["type"] for c in pod_conditions(pod, [], "t0")] == ["PodScheduled"]
    pod["status"] = {
        "phase": "Running",
        "containerStatuses": [{"name": "step-a", "ready": True}, {"name": "step-b", "ready": False}],
    }
    running = {c["type"]: c for c in pod_conditions(pod, [], "t1")}
    assert running["Initialized"]["status"] == "True"
    assert running["Ready"] == {
        "type": "Ready",
        "status": "False",
        "lastProbeTime": None,
        "lastTransitionTime": "t1",
        "reason": "ContainersNotReady",
        "message": "containers with unready status: [step-b]",
    }
    pod["status"] = {"phase": "Succeeded", "containerStatuses": [{"name": "step-a"}, {"name": "step-b"}]}
    done = {c["type"]: c for c in pod_conditions(pod, list(running.values()), "t2")}
    assert done["ContainersReady"]["reason"] == "PodCompleted"
    assert done["ContainersReady"]["lastTransitionTime"] == "t1"  # it was False already


def test_a_condition_written_without_a_transition_time_stops_no_scheduling() -> None:
    """The store takes any status (fault argo-events-crashloop wrote a Ready condition without
    ``lastTransitionTime``): recomputing that pod's conditions once stopped the Pod follower, and with it the
    binding of every later pod of the cluster."""

    async def scenario() -> ObjectStore:
        store = ObjectStore()
        events = RunEvents(store)
        await events.start()
        store.create(POD | {"spec": {**POD["spec"], "nodeName": "elsewhere"}})
        pod = store.get("v1", "Pod", "default", "run-task-pod")
        foreign = {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}
        waiting = {"name": "step-git", "image": "git:2", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        pod["status"] |= {"phase": "Running", "conditions": [foreign], "containerStatuses": [waiting]}
        store.update_status(pod)
        await _settle()
        store.create(POD | {"metadata": {**POD["metadata"], "name": "later-pod"}})
        await _settle()
        await events.stop()
        return store

    store = asyncio.run(scenario())
    assert store.get("v1", "Pod", "default", "later-pod")["spec"].get("nodeName")
    conditions = store.get("v1", "Pod", "default", "run-task-pod")["status"]["conditions"]
    assert next(c for c in conditions if c["type"] == "Ready")["lastTransitionTime"]
