"""A TaskRun's pod is reported by the kubelet of the node it is bound to, so not before the scheduler has
bound it: on a real cluster a pod never shows container states without a node
(k8s.io/kubernetes/pkg/kubelet/status/status_manager.go; the scheduler binds, pkg/scheduler/schedule_one.go).

Here nothing schedules (no control plane runs), so the test binds the pod itself, as the scheduler would,
and sees the run wait for it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from nautes_refstack.tekton import TaskContext, TaskOutcome, TektonController, install_tekton
from nautes_refstack.tekton.task_api import register_cluster_task
from support.kube import RunningKube, unique_name
from support.tekton import controller_running
from support.wait import wait_for

TEKTON = ("tekton.dev", "v1beta1")
PROBE_TASK = "scheduling-probe"
UNBOUND_S = 0.5  # how long the test watches the unbound pod stay unreported


async def _probe(ctx: TaskContext) -> TaskOutcome:
    async with ctx.step("only") as step:
        step.log("ran")
    return TaskOutcome()


@pytest.fixture(scope="module")
def kube() -> Iterator[RunningKube]:
    register_cluster_task(PROBE_TASK, _probe)
    with RunningKube() as running:
        # No Vault is asked: the probe's pod has no vault-agent annotations.
        controller = TektonController(running.store, "http://127.0.0.1:9", scheduler=True)

        def install() -> None:
            install_tekton(running.store)
            steps = [{"name": "only", "image": "docker.io/library/bash:5.1.4"}]
            metadata = {"name": PROBE_TASK}
            task = {"apiVersion": "tekton.dev/v1beta1", "kind": "ClusterTask", "metadata": metadata}
            running.store.create({**task, "spec": {"steps": steps}})

        with controller_running(running, controller, install):
            yield running


def _start_run(kube: RunningKube) -> tuple[str, str]:
    namespace = unique_name("sched")
    client.CoreV1Api(kube.api_client()).create_namespace({"metadata": {"name": namespace}})
    task = {"name": "probe", "taskRef": {"name": PROBE_TASK, "kind": "ClusterTask"}}
    run = {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "PipelineRun",
        "metadata": {"name": unique_name("run"), "namespace": namespace},
        "spec": {"pipelineSpec": {"tasks": [task]}},
    }
    client.CustomObjectsApi(kube.api_client()).create_namespaced_custom_object(
        *TEKTON, namespace, "pipelineruns", run
    )
    return namespace, run["metadata"]["name"]


def _pods(kube: RunningKube, namespace: str) -> list[Any]:
    return list(client.CoreV1Api(kube.api_client()).list_namespaced_pod(namespace).items)


def _succeeded(kube: RunningKube, namespace: str, name: str) -> str:
    run: dict[str, Any] = client.CustomObjectsApi(kube.api_client()).get_namespaced_custom_object(
        *TEKTON, namespace, "pipelineruns", name
    )  # type: ignore[assignment]
    return str(((run.get("status") or {}).get("conditions") or [{}])[0].get("reason", ""))


def test_the_pod_is_reported_only_once_bound_to_a_node(kube: RunningKube) -> None:
    namespace, name = _start_run(kube)
    pod = wait_for(lambda: next(iter(_pods(kube, namespace)), None))
    time.sleep(UNBOUND_S)
    unbound = _pods(kube, namespace)[0]
    assert unbound.spec.node_name is None
    assert (unbound.status.phase, unbound.status.container_statuses) == ("Pending", None)
    assert _succeeded(kube, namespace, name) not in ("Succeeded", "Failed")

    node = kube.call(kube.store.list, "v1", "Node")[0]["metadata"]["name"]
    binding = {"spec": {"nodeName": node}}
    kube.call(kube.store.patch, "v1", "Pod", namespace, pod.metadata.name, binding)
    wait_for(lambda: _succeeded(kube, namespace, name) == "Succeeded")
    [reported] = _pods(kube, namespace)
    assert reported.spec.node_name == node
    assert [status.name for status in reported.status.container_statuses] == ["step-only"]
