"""The Kubernetes emulator driven by the real kubernetes Python client (37.x), built from its kubeconfig."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from kubernetes import client, watch
from support.kube import RunningKube, unique_name

PIPELINERUNS = ("tekton.dev", "v1beta1")


@pytest.fixture(scope="module")
def kube() -> Iterator[RunningKube]:
    with RunningKube() as running:
        yield running


@pytest.fixture(scope="module")
def api(kube: RunningKube) -> client.ApiClient:
    return kube.api_client()


@pytest.fixture
def namespace(api: client.ApiClient) -> str:
    name = unique_name("ns")
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def pipeline_run(name: str, branch: str = "main") -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "PipelineRun",
        "metadata": {"name": name, "labels": {"branch": branch}},
        "spec": {"params": [{"name": "Revision", "value": "refs/heads/main"}]},
    }


def create_run(api: client.ApiClient, namespace: str, name: str, branch: str = "main") -> dict[str, Any]:
    objects = client.CustomObjectsApi(api)
    created: dict[str, Any] = objects.create_namespaced_custom_object(
        *PIPELINERUNS, namespace, "pipelineruns", pipeline_run(name, branch)
    )
    return created


def status_body(error: client.ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body)
    return body


def test_namespace_and_configmap_round_trip(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    name = unique_name("ns")
    created_namespace = core.create_namespace({"metadata": {"name": name}})
    assert created_namespace.metadata.uid
    assert created_namespace.status.phase == "Active"

    created = core.create_namespaced_config_map(name, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    assert created.metadata.namespace == name
    assert created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    assert int(created.metadata.resource_version) > int(created_namespace.metadata.resource_version)

    read = core.read_namespaced_config_map("settings", name)
    assert (read.data, read.metadata.uid) == ({"a": "1"}, created.metadata.uid)
    listed = core.list_namespaced_config_map(name)
    assert [item.metadata.name for item in listed.items] == ["settings"]
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)
    assert name in [item.metadata.name for item in core.list_namespace().items]

    core.delete_namespaced_config_map("settings", name)
    with pytest.raises(client.ApiException) as missing:
        core.read_namespaced_config_map("settings", name)
    assert missing.value.status == 404


def test_custom_object_create_returns_the_object_in_every_served_version(
    api: client.ApiClient, namespace: str
) -> None:
    created = create_run(api, namespace, "build-1")
    assert created["metadata"]["name"] == "build-1"
    assert created["metadata"]["uid"]
    assert created["metadata"]["generation"] == 1

    objects = client.CustomObjectsApi(api)
    as_alpha = objects.get_namespaced_custom_object(
        "tekton.dev", "v1alpha1", namespace, "pipelineruns", "build-1"
    )
    assert as_alpha["apiVersion"] == "tekton.dev/v1alpha1"
    assert as_alpha["metadata"]["uid"] == created["metadata"]["uid"]


def test_list_filters_by_label_selector(api: client.ApiClient, namespace: str) -> None:
    create_run(api, namespace, "on-main", branch="main")
    create_run(api, namespace, "on-dev", branch="dev")
    objects = client.CustomObjectsApi(api)

    def names(selector: str) -> list[str]:
        listed = objects.list_namespaced_custom_object(
            *PIPELINERUNS, namespace, "pipelineruns", label_selector=selector
        )
        assert listed["kind"] == "PipelineRunList"
        return [item["metadata"]["name"] for item in listed["items"]]

    assert names("branch=main") == ["on-main"]
    assert names("branch!=main") == ["on-dev"]
    assert names("branch in (dev,main)") == ["on-dev", "on-main"]
    assert names("!branch") == []


def test_watch_sees_added_then_modified_and_ends_by_itself(api: client.ApiClient, namespace: str) -> None:
    create_run(api, namespace, "watched")
    objects = client.CustomObjectsApi(api)
    seen: list[tuple[str, Any]] = []
    started = time.monotonic()
    stream = watch.Watch().stream(
        objects.list_namespaced_custom_object,
        *PIPELINERUNS,
        namespace,
        "pipelineruns",
        timeout_seconds=3,
        allow_watch_bookmarks=True,
    )
    for event in stream:
        seen.append((event["type"], event["raw_object"]))
        if event["type"] == "ADDED":
            objects.patch_namespaced_custom_object_status(
                *PIPELINERUNS,
                namespace,
                "pipelineruns",
                "watched",
                {"status": {"conditions": [{"type": "Succeeded"}]}},
            )
    elapsed = time.monotonic() - started

    assert [kind for kind, _ in seen] == ["ADDED", "MODIFIED", "BOOKMARK"]
    assert seen[1][1]["status"] == {"conditions": [{"type": "Succeeded"}]}
    assert seen[1][1]["metadata"]["generation"] == 1, "a status change does not bump the generation"
    assert int(seen[2][1]["metadata"]["resourceVersion"]) >= int(seen[1][1]["metadata"]["resourceVersion"])
    assert 2.5 < elapsed < 5


def test_watch_resumes_after_a_resource_version(api: client.ApiClient, namespace: str) -> None:
    first = create_run(api, namespace, "first")
    objects = client.CustomObjectsApi(api)
    objects.patch_namespaced_custom_object(
        *PIPELINERUNS, namespace, "pipelineruns", "first", {"metadata": {"labels": {"stage": "2"}}}
    )
    create_run(api, namespace, "second")

    watcher = watch.Watch()
    seen = []
    for event in watcher.stream(
        objects.list_namespaced_custom_object,
        *PIPELINERUNS,
        namespace,
        "pipelineruns",
        resource_version=first["metadata"]["resourceVersion"],
        timeout_seconds=5,
    ):
        seen.append((event["type"], event["raw_object"]["metadata"]["name"]))
        if len(seen) == 2:
            watcher.stop()
    assert seen == [("MODIFIED", "first"), ("ADDED", "second")]


def test_watch_from_a_forgotten_resource_version_is_410() -> None:
    with RunningKube(history_limit=3) as small:
        api = small.api_client()
        core = client.CoreV1Api(api)
        early = core.create_namespace({"metadata": {"name": "early"}})
        for index in range(3):
            core.create_namespaced_config_map("early", {"metadata": {"name": f"cm-{index}"}})
        with pytest.raises(client.ApiException) as gone:
            for _ in watch.Watch().stream(
                core.list_namespaced_config_map,
                "early",
                resource_version=early.metadata.resource_version,
                timeout_seconds=2,
            ):
                pass
    assert gone.value.status == 410
    assert "Expired: too old resource version" in str(gone.value.reason)


def test_stopping_the_server_ends_open_watches() -> None:
    opened, ended = threading.Event(), threading.Event()

    def follow(core: client.CoreV1Api) -> None:
        for _ in watch.Watch().stream(core.list_namespace, timeout_seconds=60):
            opened.set()
        ended.set()  # the stream ended cleanly, not with a broken connection

    with RunningKube() as running:
        thread = threading.Thread(target=follow, args=(client.CoreV1Api(running.api_client()),), daemon=True)
        thread.start()
        assert opened.wait(5)
        started = time.monotonic()
        running.run(running.server.stop())
        stopping_took = time.monotonic() - started
        assert ended.wait(2)
    assert stopping_took < 1


def test_errors_are_kubernetes_status_bodies(api: client.ApiClient, namespace: str) -> None:
    objects = client.CustomObjectsApi(api)
    with pytest.raises(client.ApiException) as missing:
        objects.get_namespaced_custom_object(*PIPELINERUNS, namespace, "pipelineruns", "x")
    assert missing.value.status == 404
    assert status_body(missing.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pipelineruns.tekton.dev "x" not found',
        "reason": "NotFound",
        "details": {"name": "x", "group": "tekton.dev", "kind": "pipelineruns"},
        "code": 404,
    }

    create_run(api, namespace, "twice")
    with pytest.raises(client.ApiException) as duplicate:
        create_run(api, namespace, "twice")
    assert duplicate.value.status == 409
    assert status_body(duplicate.value)["reason"] == "AlreadyExists"
    assert status_body(duplicate.value)["message"] == 'pipelineruns.tekton.dev "twice" already exists'

    with pytest.raises(client.ApiException) as no_namespace:
        client.CoreV1Api(api).create_namespaced_config_map("nowhere", {"metadata": {"name": "c"}})
    assert no_namespace.value.status == 404
    assert status_body(no_namespace.value)["message"] == 'namespaces "nowhere" not found'


def test_requests_without_a_valid_token_are_401(kube: RunningKube) -> None:
    with pytest.raises(client.ApiException) as wrong_token:
        client.CoreV1Api(kube.api_client(token="not-a-token")).list_namespace()
    assert wrong_token.value.status == 401
    assert status_body(wrong_token.value)["reason"] == "Unauthorized"

    anonymous = requests.get(f"{kube.url}/api/v1/namespaces", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "Unauthorized"
    assert requests.get(f"{kube.url}/version", timeout=5).json()["gitVersion"] == "v1.21.14+k3s1"


def test_replace_with_a_stale_resource_version_is_a_conflict(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    original = core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}, "data": {"v": "1"}})
    original.data = {"v": "2"}
    updated = core.replace_namespaced_config_map("cm", namespace, original)
    assert int(updated.metadata.resource_version) > int(original.metadata.resource_version)

    original.data = {"v": "3"}
    with pytest.raises(client.ApiException) as stale:
        core.replace_namespaced_config_map("cm", namespace, original)
    assert stale.value.status == 409
    assert status_body(stale.value)["message"] == (
        'Operation cannot be fulfilled on configmaps "cm": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert core.read_namespaced_config_map("cm", namespace).data == {"v": "2"}


def test_deleting_a_namespace_deletes_its_objects(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}})
    create_run(api, namespace, "doomed")

    deleted = core.delete_namespace(namespace)
    assert deleted["status"]["phase"] == "Terminating"
    assert core.list_namespaced_config_map(namespace).items == []
    listed = client.CustomObjectsApi(api).list_cluster_custom_object(*PIPELINERUNS, "pipelineruns")
    assert namespace not in [item["metadata"]["namespace"] for item in listed["items"]]
    with pytest.raises(client.ApiException) as gone:
        core.read_namespace(namespace)
    assert gone.value.status == 404


def test_token_review_follows_the_service_account(
    kube: RunningKube, api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "builder"}})
    token = kube.call(kube.store.issue_service_account_token, namespace, "builder")
    reviews = client.AuthenticationV1Api(api)

    review = reviews.create_token_review({"spec": {"token": token}})
    assert review.status.authenticated is True
    assert review.status.user.username == f"system:serviceaccount:{namespace}:builder"
    assert f"system:serviceaccounts:{namespace}" in review.status.user.groups
    assert client.CoreV1Api(kube.api_client(token=token)).list_namespace().items, (
        "SA tokens authenticate API calls"
    )

    core.delete_namespaced_service_account("builder", namespace)
    after = reviews.create_token_review({"spec": {"token": token}})
    assert not after.status.authenticated
    assert "invalid bearer token" in after.status.error


def test_token_request_mints_a_usable_token(kube: RunningKube, api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "runner"}})
    answer = core.create_namespaced_service_account_token(
        "runner", namespace, {"spec": {"expirationSeconds": 600}}
    )
    assert answer.status.expiration_timestamp is not None
    as_runner = client.CoreV1Api(kube.api_client(token=answer.status.token))
    assert as_runner.read_namespaced_service_account("runner", namespace).metadata.name == "runner"


def test_pod_logs_are_served_as_text(kube: RunningKube, api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    spec = {"nodeName": "k3s-server-0", "containers": [{"name": "main", "image": "busybox"}]}
    assert (
        core.create_namespaced_pod(namespace, {"metadata": {"name": "step"}, "spec": spec}).status.phase
        == "Pending"
    )
    started = api.sanitize_for_serialization(core.read_namespaced_pod("step", namespace))
    started["status"] = {
        "phase": "Running",
        "containerStatuses": [{"name": "main", "state": {"running": {}}}],
    }
    kube.call(kube.store.update_status, started)  # the kubelet has no log of a container before it starts
    kube.call(kube.store.append_pod_log, namespace, "step", "main", "cloning...\n")
    kube.call(kube.store.append_pod_log, namespace, "step", "main", "done\n")

    assert core.read_namespaced_pod_log("step", namespace) == "cloning...\ndone\n"
    assert core.read_namespaced_pod_log("step", namespace, container="main", tail_lines=1) == "done\n"


def test_discovery_documents_are_shaped_like_the_apiservers(kube: RunningKube) -> None:
    headers = {"Authorization": f"Bearer {kube.admin_token}"}
    core = requests.get(f"{kube.url}/api/v1", headers=headers, timeout=5).json()
    assert core["groupVersion"] == "v1"
    configmaps = next(entry for entry in core["resources"] if entry["name"] == "configmaps")
    assert configmaps["shortNames"] == ["cm"]
    assert configmaps["namespaced"] is True
    assert {
        "name": "pods/log",
        "singularName": "",
        "namespaced": True,
        "kind": "Pod",
        "verbs": ["get"],
    } in core["resources"]

    groups = requests.get(f"{kube.url}/apis", headers=headers, timeout=5).json()
    tekton = next(group for group in groups["groups"] if group["name"] == "tekton.dev")
    assert tekton["preferredVersion"] == {"groupVersion": "tekton.dev/v1beta1", "version": "v1beta1"}
    assert [v["version"] for v in tekton["versions"]] == ["v1beta1", "v1alpha1"]

    unknown = requests.get(f"{kube.url}/apis/tekton.dev/v1beta1/nothings", headers=headers, timeout=5)
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "the server could not find the requested resource"


def test_https_server_is_trusted_through_the_kubeconfig_ca() -> None:
    with RunningKube(tls=True) as secure:
        assert secure.url.startswith("https://127.0.0.1:")
        names = [item.metadata.name for item in client.CoreV1Api(secure.api_client()).list_namespace().items]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]


def test_a_lease_is_held_by_one_holder_at_a_time(api: client.ApiClient, namespace: str) -> None:
    """Leases, as a run claims a runtime cluster with one: a second create is 409, and a renewal from a
    stale copy (another holder renewed meanwhile) is a conflict too."""
    leases = client.CoordinationV1Api(api)
    body = {
        "metadata": {"name": "claim"},
        "spec": {"holderIdentity": "run-a", "leaseDurationSeconds": 30},
    }
    held = leases.create_namespaced_lease(namespace, body)
    assert held.spec.holder_identity == "run-a"
    with pytest.raises(client.ApiException) as taken:
        leases.create_namespaced_lease(namespace, {**body, "spec": {"holderIdentity": "run-b"}})
    assert taken.value.status == 409
    assert status_body(taken.value)["reason"] == "AlreadyExists"
    held.spec.lease_transitions = 1
    leases.replace_namespaced_lease("claim", namespace, held)
    with pytest.raises(client.ApiException) as stale:
        leases.replace_namespaced_lease("claim", namespace, held)
    assert stale.value.status == 409
    leases.delete_namespaced_lease("claim", namespace)
    assert leases.list_namespaced_lease(namespace).items == []
