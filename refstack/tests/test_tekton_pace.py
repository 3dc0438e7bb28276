"""The Tekton executor under the ``real`` pace, watched with the kubernetes client: pods take time to start
and steps to run (:mod:`nautes_refstack.tekton.durations`), and a pod whose vault-agent TLS Secret is
missing waits like on a real node, with the kubelet's ``FailedMount`` Events
(:mod:`nautes_refstack.tekton.secret_volume`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from kubernetes import client
from nautes_refstack.http import RunningSite, serve
from nautes_refstack.pace import Pace
from nautes_refstack.tekton import StepFailed, TaskContext, TaskOutcome, TektonController, install_tekton
from nautes_refstack.tekton.durations import DEFAULT_STEP_SECONDS, POD_START_SECONDS
from nautes_refstack.tekton.task_api import register_cluster_task
from nautes_refstack.tekton.vault_agent import INJECTOR_AUTH_PATH_ENV, INJECTOR_NAME
from support.kube import RunningKube, unique_name
from support.tekton import controller_running
from support.wait import wait_for

SCALE = 0.01  # a pod starts in 0.08 s, a step runs 0.02 s, the kubelet's retries stop growing at 1.22 s
TEKTON = ("tekton.dev", "v1beta1")
PROBE_TASK = "pace-probe"
STEPS = ("first", "second")


async def _probe(ctx: TaskContext) -> TaskOutcome:
    """A ClusterTask whose steps do nothing but last their (default) real duration."""
    for name in STEPS:
        async with ctx.step(name) as step:
            step.log(f"{name} done")
    return TaskOutcome()


async def _vault_refusing_every_login(request: web.Request) -> web.Response:
    """Vault answering the agent's login: proves the agent ran once its TLS volume was mounted."""
    return web.json_response({"errors": ["permission denied"]}, status=403)


@pytest.fixture(scope="module")
def kube() -> Iterator[RunningKube]:
    register_cluster_task(PROBE_TASK, _probe)
    with RunningKube() as running:
        vault_app = web.Application()
        vault_app.router.add_post("/v1/{path:.*}", _vault_refusing_every_login)
        vault: RunningSite = running.run(serve(vault_app))
        controller = TektonController(running.store, vault.url, pace=Pace(True, SCALE))

        def install() -> None:
            install_tekton(running.store)
            running.store.create(_cluster_task())
            running.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vault"}})
            running.store.create(_injector())

        try:
            with controller_running(running, controller, install):
                yield running
        finally:
            running.run(vault.stop())


def _cluster_task() -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "ClusterTask",
        "metadata": {"name": PROBE_TASK},
        "spec": {"steps": [{"name": name, "image": "docker.io/library/bash:5.1.4"} for name in STEPS]},
    }


def _injector() -> dict[str, Any]:
    container = {
        "name": "sidecar-injector",
        "env": [{"name": INJECTOR_AUTH_PATH_ENV, "value": "auth/runtime"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": INJECTOR_NAME, "namespace": "vault"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


def _pipeline_run(namespace: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "PipelineRun",
        "metadata": {"name": unique_name("run"), "namespace": namespace, "annotations": annotations or {}},
        "spec": {
            "pipelineSpec": {
                "tasks": [{"name": "probe", "taskRef": {"name": PROBE_TASK, "kind": "ClusterTask"}}]
            }
        },
    }


def _start(kube: RunningKube, annotations: dict[str, str] | None = None) -> tuple[str, str]:
    namespace = unique_name("pace")
    core = client.CoreV1Api(kube.api_client())
    core.create_namespace({"metadata": {"name": namespace}})
    run = _pipeline_run(namespace, annotations)
    client.CustomObjectsApi(kube.api_client()).create_namespaced_custom_object(
        *TEKTON, namespace, "pipelineruns", run
    )
    return namespace, run["metadata"]["name"]


def _succeeded(kube: RunningKube, namespace: str, name: str) -> dict[str, Any]:
    run: dict[str, Any] = client.CustomObjectsApi(kube.api_client()).get_namespaced_custom_object(
        *TEKTON, namespace, "pipelineruns", name
    )  # type: ignore[assignment]
    conditions = (run.get("status") or {}).get("conditions") or [{}]
    return dict(conditions[0])


def test_a_pod_takes_time_to_start_and_each_step_its_duration(kube: RunningKube) -> None:
    started = time.monotonic()
    namespace, name = _start(kube)
    wait_for(lambda: _succeeded(kube, namespace, name).get("status") in ("True", "False"), 10)
    elapsed = time.monotonic() - started
    assert _succeeded(kube, namespace, name)["reason"] == "Succeeded"
    assert elapsed >= (POD_START_SECONDS + len(STEPS) * DEFAULT_STEP_SECONDS) * SCALE


def _pod(core: client.CoreV1Api, namespace: str) -> Any:
    pods = core.list_namespaced_pod(namespace).items
    return pods[0] if pods else None


def _failed_mounts(core: client.CoreV1Api, namespace: str, pod: str) -> list[Any]:
    events = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={pod}").items
    return [event for event in events if event.reason == "FailedMount"]


def test_a_missing_tls_secret_keeps_the_pod_initializing_with_failed_mount_events(kube: RunningKube) -> None:
    """vault-k8s mounts ``tls-secret`` as volume ``vault-tls-secrets``; the kubelet's mount fails with
    ``pkg/volume/secret`` NotFound and retries with backoff, counting on one Warning Event."""
    prefix = "vault.hashicorp.com/"
    annotations = {prefix + "agent-inject": "true", prefix + "role": "default", prefix + "tls-secret": "ca"}
    namespace, name = _start(kube, annotations)
    core = client.CoreV1Api(kube.api_client())
    pod = wait_for(lambda: _pod(core, namespace), 5)

    events = wait_for(
        lambda: [e for e in _failed_mounts(core, namespace, pod.metadata.name) if e.count >= 3], 5
    )
    assert len(events) == 1
    event = events[0]
    assert (event.type, event.message) == (
        "Warning",
        'MountVolume.SetUp failed for volume "vault-tls-secrets" : secret "ca" not found',
    )
    assert (event.involved_object.kind, event.involved_object.uid) == ("Pod", pod.metadata.uid)
    assert event.source.component == "kubelet"

    pending = core.read_namespaced_pod(pod.metadata.name, namespace)
    assert pending.status.phase == "Pending"
    waiting = [
        (status.name, status.state.waiting.reason, status.state.waiting.message)
        for status in [*pending.status.init_container_statuses, *pending.status.container_statuses]
    ]
    assert waiting == [
        ("vault-agent-init", "PodInitializing", None),
        ("step-first", "PodInitializing", None),
        ("step-second", "PodInitializing", None),
    ]
    assert _succeeded(kube, namespace, name)["reason"] == "Running"

    core.create_namespaced_secret(namespace, {"metadata": {"name": "ca"}, "data": {}})
    # The next retry mounts it (at most 122 s later, scaled) and the agent runs: this Vault refuses it.
    wait_for(lambda: _succeeded(kube, namespace, name).get("status") == "False", 5)
    task_runs = client.CustomObjectsApi(kube.api_client()).list_namespaced_custom_object(
        *TEKTON, namespace, "taskruns"
    )
    message = task_runs["items"][0]["status"]["conditions"][0]["message"]
    assert message.startswith('init container failed, "vault-agent-init" exited with code 1')


def test_a_step_that_fails_still_takes_its_time(kube: RunningKube) -> None:
    """``async with ctx.step`` waits before the body: a failing step has run for its duration."""

    async def fails(ctx: TaskContext) -> TaskOutcome:
        async with ctx.step(STEPS[0]):
            raise StepFailed(2, "boom")

    register_cluster_task(PROBE_TASK, fails)
    try:
        started = time.monotonic()
        namespace, name = _start(kube)
        wait_for(lambda: _succeeded(kube, namespace, name).get("status") in ("True", "False"), 10)
        assert _succeeded(kube, namespace, name)["reason"] == "Failed"
        assert time.monotonic() - started >= (POD_START_SECONDS + DEFAULT_STEP_SECONDS) * SCALE
    finally:
        register_cluster_task(PROBE_TASK, _probe)
