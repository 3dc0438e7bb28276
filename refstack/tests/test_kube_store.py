"""The in-process seam of the Kubernetes emulator: ObjectStore semantics other components rely on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nautes_refstack.kube import (
    JSON_PATCH,
    STRATEGIC_MERGE_PATCH,
    KubeError,
    ObjectStore,
    WatchEvent,
    WatchStream,
)


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def run(name: str, ns: str = "ci", version: str = "v1beta1", **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"tekton.dev/{version}",
        "kind": "PipelineRun",
        "metadata": {"name": name, "namespace": ns, **metadata},
        "spec": {"params": []},
    }


@pytest.fixture
def store() -> ObjectStore:
    fresh = ObjectStore()
    fresh.create(namespace("ci"))
    return fresh


def drain(stream: WatchStream) -> list[tuple[str, str]]:
    """The events queued so far, as (type, name) pairs."""

    async def collect() -> list[WatchEvent]:
        events = []
        while (event := await stream.next_event(0.01)) is not None:
            events.append(event)
        return events

    return [(event.type, event.object["metadata"]["name"]) for event in asyncio.run(collect())]


def test_create_fills_server_fields_and_generates_names(store: ObjectStore) -> None:
    created = store.create(run("", generateName="hooks-"))
    metadata = created["metadata"]
    assert metadata["name"].startswith("hooks-")
    assert len(metadata["name"]) == len("hooks-") + 5
    assert metadata["uid"]
    assert metadata["creationTimestamp"].endswith("Z")
    assert metadata["generation"] == 1
    assert int(metadata["resourceVersion"]) == store.resource_version
    assert store.get("v1", "ServiceAccount", "ci", "default")["metadata"]["namespace"] == "ci"


@pytest.mark.parametrize(
    ("obj", "code", "message"),
    [
        (run("a", ns="missing"), 404, 'namespaces "missing" not found'),
        (run(""), 422, 'PipelineRun.tekton.dev "" is invalid: metadata.name: Required value'),
        (
            run("Not_Valid"),
            422,
            'PipelineRun.tekton.dev "Not_Valid" is invalid: metadata.name: Invalid value',
        ),
    ],
)
def test_create_rejects_like_the_apiserver(
    store: ObjectStore, obj: dict[str, Any], code: int, message: str
) -> None:
    with pytest.raises(KubeError) as rejected:
        store.create(obj)
    assert rejected.value.code == code
    assert rejected.value.message.startswith(message)


def test_versions_share_objects(store: ObjectStore) -> None:
    store.create(run("shared", version="v1alpha1"))
    assert (
        store.get("tekton.dev/v1beta1", "PipelineRun", "ci", "shared")["apiVersion"] == "tekton.dev/v1beta1"
    )
    with pytest.raises(KubeError) as duplicate:
        store.create(run("shared", version="v1beta1"))
    assert duplicate.value.reason == "AlreadyExists"


def test_status_subresource_rules(store: ObjectStore) -> None:
    created = store.create({**run("r"), "status": {"phase": "ignored on create"}})
    assert "status" not in created

    with_status = store.update_status({**created, "spec": {"params": ["ignored"]}, "status": {"done": True}})
    assert with_status["status"] == {"done": True}
    assert with_status["spec"] == {"params": []}
    assert with_status["metadata"]["generation"] == 1

    replaced = store.replace({**with_status, "spec": {"params": [1]}, "status": {"done": False}})
    assert replaced["status"] == {"done": True}, "writes to the main resource ignore .status"
    assert replaced["metadata"]["generation"] == 2


def test_no_op_write_keeps_the_resource_version(store: ObjectStore) -> None:
    created = store.create(run("same"))
    stream = store.watch(
        "tekton.dev/v1beta1", "PipelineRun", "ci", resource_version=created["metadata"]["resourceVersion"]
    )
    again = store.replace(created)
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert drain(stream) == []


def test_stale_replace_is_a_conflict(store: ObjectStore) -> None:
    created = store.create(run("r"))
    store.patch("tekton.dev/v1beta1", "PipelineRun", "ci", "r", {"metadata": {"labels": {"a": "b"}}})
    with pytest.raises(KubeError) as stale:
        store.replace(created)
    assert (stale.value.code, stale.value.reason) == (409, "Conflict")


def test_patch_flavours(store: ObjectStore) -> None:
    store.create(run("p", labels={"keep": "1", "drop": "1"}))
    merged = store.patch(
        "tekton.dev/v1beta1", "PipelineRun", "ci", "p", {"metadata": {"labels": {"drop": None}}}
    )
    assert merged["metadata"]["labels"] == {"keep": "1"}

    operations = [{"op": "add", "path": "/spec/params/-", "value": {"name": "Revision"}}]
    patched = store.patch("tekton.dev/v1beta1", "PipelineRun", "ci", "p", operations, JSON_PATCH)
    assert patched["spec"]["params"] == [{"name": "Revision"}]

    failing_test = [{"op": "test", "path": "/spec/params/0/name", "value": "other"}]
    with pytest.raises(KubeError) as failed:
        store.patch("tekton.dev/v1beta1", "PipelineRun", "ci", "p", failing_test, JSON_PATCH)
    assert failed.value.code == 422

    with pytest.raises(KubeError) as strategic:
        store.patch("tekton.dev/v1beta1", "PipelineRun", "ci", "p", {"spec": {}}, STRATEGIC_MERGE_PATCH)
    assert strategic.value.code == 415, "custom resources do not accept strategic merge patches"


def test_finalizers_hold_deletion_until_removed(store: ObjectStore) -> None:
    store.create(run("held", finalizers=["example.com/cleanup"]))
    pending = store.delete("tekton.dev/v1beta1", "PipelineRun", "ci", "held")
    assert pending["metadata"]["deletionTimestamp"]
    assert store.get("tekton.dev/v1beta1", "PipelineRun", "ci", "held")["metadata"]["generation"] == 2

    store.patch("tekton.dev/v1beta1", "PipelineRun", "ci", "held", {"metadata": {"finalizers": None}})
    with pytest.raises(KubeError):
        store.get("tekton.dev/v1beta1", "PipelineRun", "ci", "held")


def test_namespace_deletion_waits_for_finalized_content(store: ObjectStore) -> None:
    store.create(run("held", finalizers=["example.com/cleanup"]))
    store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ci"}})

    assert store.delete("v1", "Namespace", None, "ci")["status"]["phase"] == "Terminating"
    assert store.list("v1", "ConfigMap", "ci") == []
    with pytest.raises(KubeError) as refused:
        store.create(run("late"))
    assert refused.value.code == 403

    store.patch("tekton.dev/v1beta1", "PipelineRun", "ci", "held", {"metadata": {"finalizers": []}})
    with pytest.raises(KubeError):
        store.get("v1", "Namespace", None, "ci")


def test_owned_objects_are_garbage_collected(store: ObjectStore) -> None:
    owner = store.create(run("owner"))
    reference = {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "PipelineRun",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    store.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "pod", "namespace": "ci", "ownerReferences": [reference]},
        }
    )
    store.delete("tekton.dev/v1beta1", "PipelineRun", "ci", "owner")
    assert store.list("v1", "Pod", "ci") == []


def test_watch_follows_selector_membership(store: ObjectStore) -> None:
    stream = store.watch("tekton.dev/v1beta1", "PipelineRun", "ci", label_selector="branch=main")
    store.create(run("a", labels={"branch": "dev"}))
    store.patch("tekton.dev/v1beta1", "PipelineRun", "ci", "a", {"metadata": {"labels": {"branch": "main"}}})
    store.patch("tekton.dev/v1beta1", "PipelineRun", "ci", "a", {"spec": {"timeout": "1h"}})
    store.patch("tekton.dev/v1beta1", "PipelineRun", "ci", "a", {"metadata": {"labels": {"branch": "dev"}}})
    membership = [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    assert drain(stream) == membership
    replay = store.watch(
        "tekton.dev/v1beta1", "PipelineRun", "ci", resource_version="1", label_selector="branch=main"
    )
    assert drain(replay) == membership, "a replay from history filters the same way"

    stream.close()
    store.create(run("b", labels={"branch": "main"}))
    assert drain(stream) == [], "a closed stream receives nothing"


def test_watch_history_is_bounded() -> None:
    small = ObjectStore(history_limit=2)
    small.create(namespace("a"))
    with pytest.raises(KubeError) as expired:
        small.watch("v1", "Namespace", resource_version="1")
    assert (expired.value.code, expired.value.reason) == (410, "Expired")


def test_pod_logs(store: ObjectStore) -> None:
    containers = [{"name": "clone"}, {"name": "build"}]
    store.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ci"},
            "spec": {"containers": containers},
        }
    )
    store.append_pod_log("ci", "p", "build", "compiling\n")
    assert store.pod_log("ci", "p", "build") == "compiling\n"
    with pytest.raises(KubeError) as ambiguous:
        store.pod_log("ci", "p")
    assert (
        ambiguous.value.message
        == "a container name must be specified for pod p, choose one of: [clone build]"
    )
    with pytest.raises(KubeError) as unknown:
        store.append_pod_log("ci", "p", "deploy", "x")
    assert unknown.value.code == 400


def test_selectors_reject_what_the_apiserver_rejects(store: ObjectStore) -> None:
    with pytest.raises(KubeError) as bad_labels:
        store.list("v1", "ConfigMap", label_selector="a in b")
    assert bad_labels.value.code == 400
    with pytest.raises(KubeError) as bad_field:
        store.list("v1", "ConfigMap", field_selector="spec.x=1")
    assert bad_field.value.message == "field label not supported: spec.x"
    names = [
        ns["metadata"]["name"] for ns in store.list("v1", "Namespace", field_selector="metadata.name!=ci")
    ]
    assert "ci" not in names
    assert "default" in names
