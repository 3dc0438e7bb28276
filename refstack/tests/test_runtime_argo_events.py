"""Argo Events emulation: the webhook receiver and the Sensors, fed GitLab push events over real HTTP.

The EventSource, token Secrets and Sensor are the objects the runtime operator writes (built by the same
code), stored in a real ObjectStore; events are POSTed the way GitLab delivers project hooks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from kubernetes import client as kube_client
from nautes_refstack.faults import parse_faults
from nautes_refstack.http import RunningSite, serve
from nautes_refstack.kube import ObjectStore
from nautes_refstack.runtime import event_objects
from nautes_refstack.runtime.argoevents.crashloop import CrashLoopingEventSources
from nautes_refstack.runtime.argoevents.sensor import SensorRunner
from nautes_refstack.runtime.argoevents.webhook import WebhookReceiver
from nautes_refstack.runtime.hooks_pipeline import HooksContext, build_hooks
from nautes_refstack.runtime.resources import Pipeline, PipelineTrigger
from support.loop import BackgroundLoop
from support.wait import wait_for

EVENTS = "argo-events"
PRODUCT, RUNTIME, NAMESPACE, ACCOUNT = "product-42", "pr-demo", "pr-demo-ns", "pr-demo"
UID = f"{PRODUCT}-{RUNTIME}"
REPO = "repo-57"
SECRET_TOKEN = "0b5a3f4e-secret-token"
PIPELINE_URL = "ssh://git@127.0.0.1:2222/demo/coderepo-sc-demo.git"


class Receiver:
    def __init__(self, loop: BackgroundLoop, store: ObjectStore, site: RunningSite) -> None:
        self.loop, self.store, self.site = loop, store, site

    def post(
        self, ref: str, *, token: str = SECRET_TOKEN, event: str = "Push Hook", path: str = ""
    ) -> requests.Response:
        body = {"object_kind": "push", "ref": ref, "after": "a" * 40, "project": {"id": 57}}
        headers = {"X-Gitlab-Event": event, "X-Gitlab-Token": token}
        return requests.post(
            f"{self.site.url}{path or f'/{UID}/{REPO}'}", json=body, headers=headers, timeout=5
        )

    def runs(self) -> list[dict[str, Any]]:
        return self.loop.call(self.store.list, "tekton.dev/v1alpha1", "PipelineRun", NAMESPACE)


def _objects() -> list[dict[str, Any]]:
    hooks = build_hooks(
        HooksContext(
            namespace=NAMESPACE,
            account=ACCOUNT,
            pipeline_repo_url=PIPELINE_URL,
            pipeline=Pipeline("pipeline-dev-demo", "main", "pipelines/main.yaml"),
            trigger=PipelineTrigger("webhook", "pipeline-dev-demo", "", ()),
            event_type="push_events",
            builtin_vars={},
        )
    )
    consumer = event_objects.Consumer(REPO, ("push_events",), "main", hooks.pipeline_run, hooks.parameters)
    source = event_objects.GitlabHookSource(REPO, "57", ("push_events",), "http://127.0.0.1:1")
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": EVENTS}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        event_objects.token_secret(event_objects.secret_token_secret(UID, REPO), EVENTS, SECRET_TOKEN),
        event_objects.event_source(UID, EVENTS, "http://127.0.0.1:1", [source]),
        event_objects.sensor(PRODUCT, RUNTIME, 0, UID, EVENTS, consumer),
    ]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with BackgroundLoop() as loop:
        store = ObjectStore()
        for obj in _objects():
            loop.call(store.create, obj)
        app = WebhookReceiver(store, EVENTS, SensorRunner(store, EVENTS).dispatch).app()
        site = loop.run(serve(app))
        yield Receiver(loop, store, site)
        loop.run(site.stop())


def _settle(receiver: Receiver) -> None:
    """The sensors run right after the reply, on the server's loop: one round trip through it is enough."""
    receiver.loop.call(lambda: None)


def test_push_with_the_secret_token_creates_the_hooks_pipeline_run(receiver: Receiver) -> None:
    before = {run["metadata"]["name"] for run in receiver.runs()}
    started = time.perf_counter()

    reply = receiver.post("refs/heads/main")
    created = wait_for(lambda: [r for r in receiver.runs() if r["metadata"]["name"] not in before])
    latency = time.perf_counter() - started

    assert (reply.status_code, reply.text) == (200, "success")
    [run] = created
    assert run["apiVersion"] == "tekton.dev/v1alpha1"
    assert run["metadata"]["name"].startswith("hooks-")
    assert run["metadata"]["generateName"] == "hooks-"
    assert run["spec"]["serviceAccountName"] == ACCOUNT
    assert run["spec"]["params"] == [
        {"name": "Revision", "value": "refs/heads/main"},
        {"name": "PipelineRevision", "value": "refs/heads/main"},
        {"name": "PipelineFile", "value": "pipelines/main.yaml"},
    ]
    clone, pipeline_run = run["spec"]["pipelineSpec"]["tasks"]
    assert clone["taskRef"] == {"name": "git-clone", "kind": "ClusterTask"}
    assert clone["params"] == [
        {"name": "url", "value": PIPELINE_URL},
        {"name": "revision", "value": "$(params.PipelineRevision)"},
    ]
    assert pipeline_run["taskRef"] == {"name": "kubernetes-actions", "kind": "ClusterTask"}
    assert "kubectl -n pr-demo-ns create -f -" in pipeline_run["params"][1]["value"]
    workspaces = {w["name"]: w for w in run["spec"]["workspaces"]}
    assert workspaces["ssh-creds"]["secret"] == {"secretName": "pipeline-readonly-ssh-key"}
    assert "volumeClaimTemplate" in workspaces["pipelines"]
    assert latency < 1.0, f"webhook → hooks PipelineRun took {latency:.3f}s"


@pytest.mark.parametrize(
    ("kwargs", "status", "text"),
    [
        ({"ref": "refs/heads/main", "token": "wrong"}, 400, "token mismatch"),
        ({"ref": "refs/heads/main", "token": ""}, 400, "token mismatch"),
        ({"ref": "refs/heads/feature"}, 200, "success"),
        ({"ref": "refs/heads/main", "event": "Merge Request Hook"}, 200, "success"),
        ({"ref": "refs/heads/main", "path": f"/{UID}/repo-58"}, 404, "404 page not found\n"),
    ],
    ids=["wrong-token", "no-token", "other-branch", "other-event", "unknown-endpoint"],
)
def test_events_the_sensor_must_not_turn_into_runs(
    receiver: Receiver, kwargs: dict[str, str], status: int, text: str
) -> None:
    before = len(receiver.runs())

    reply = receiver.post(**kwargs)
    _settle(receiver)

    assert (reply.status_code, reply.text) == (status, text)
    assert len(receiver.runs()) == before


def test_health_and_malformed_bodies(receiver: Receiver) -> None:
    assert requests.get(f"{receiver.site.url}/health", timeout=5).text == "OK"
    reply = requests.post(
        f"{receiver.site.url}/{UID}/{REPO}",
        data=b"not json",
        headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET_TOKEN},
        timeout=5,
    )
    assert (reply.status_code, reply.text) == (400, "invalid event")


def test_crash_looping_event_source_pod_reads_as_a_typed_pod() -> None:
    """Fault ``argo-events-crashloop``: the pod's status carries every field the typed API requires."""
    store = ObjectStore()
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": EVENTS}})
    source = {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource", "metadata": {"name": UID}}

    async def crash_loop() -> dict[str, Any]:
        faults = parse_faults(["argo-events-crashloop"])
        faults.arm()
        task = asyncio.create_task(CrashLoopingEventSources(store, EVENTS, faults).run())
        try:
            store.create(source | {"metadata": {"name": UID, "namespace": EVENTS}})
            while not (pods := store.list("v1", "Pod", EVENTS)) or "status" not in pods[0]:
                await asyncio.sleep(0.01)
            return pods[0]
        finally:
            task.cancel()

    pod = kube_client.V1Pod.from_dict(asyncio.run(asyncio.wait_for(crash_loop(), timeout=10)))
    assert pod is not None
    assert pod.status is not None
    (status,) = pod.status.container_statuses or []
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.image_id == status.image
