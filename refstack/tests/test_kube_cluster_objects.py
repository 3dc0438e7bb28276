"""What a one-node K3s cluster shows besides the objects clients create: its Node, the ``kubernetes``
Service and Service defaulting, strategic merge patches on built-in kinds, and metadata-only reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from kubernetes import client
from nautes_refstack.kube import STRATEGIC_MERGE_PATCH, KubeError, ObjectStore
from support.kube import RunningKube, unique_name

PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"


@pytest.fixture
def store() -> ObjectStore:
    return ObjectStore()


def service(name: str, **spec: Any) -> dict[str, Any]:
    ports = [{"name": "http", "port": 80}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"ports": ports, "selector": {"app": name}, **spec},
    }


def test_the_cluster_has_one_ready_node(store: ObjectStore) -> None:
    (node,) = store.list("v1", "Node")
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert ready["Ready"] == "True"
    assert ready["MemoryPressure"] == "False"
    assert node["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == "true"
    assert {a["type"] for a in node["status"]["addresses"]} == {"InternalIP", "Hostname"}
    assert node["status"]["capacity"]["pods"] == "110"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.21.14+k3s1"
    assert "generation" not in node["metadata"]


def test_a_service_gets_a_cluster_ip_and_defaults(store: ObjectStore) -> None:
    created = store.create(service("web"))
    spec = created["spec"]
    assert spec["clusterIP"].startswith("10.43.")
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]
    assert created["status"] == {"loadBalancer": {}}
    assert store.get("v1", "Service", "default", "kubernetes")["spec"]["clusterIP"] == "10.43.0.1"


def test_a_taken_cluster_ip_is_refused(store: ObjectStore) -> None:
    with pytest.raises(KubeError) as refused:
        store.create(service("web", clusterIP="10.43.0.1"))
    assert refused.value.code == 422
    assert "provided IP is already allocated" in refused.value.message


def test_a_replace_without_the_cluster_ip_keeps_it(store: ObjectStore) -> None:
    created = store.create(service("web"))
    replaced = store.replace(service("web"))
    assert replaced["spec"]["clusterIP"] == created["spec"]["clusterIP"]


def test_a_strategic_merge_patch_merges_service_ports_by_port(store: ObjectStore) -> None:
    store.create(service("web"))
    patch = {"spec": {"ports": [{"name": "new", "port": 8080}, {"name": "renamed", "port": 80}]}}
    patched = store.patch("v1", "Service", "default", "web", patch, STRATEGIC_MERGE_PATCH)
    assert [(p["name"], p["port"]) for p in patched["spec"]["ports"]] == [("renamed", 80), ("new", 8080)]


def test_a_strategic_merge_patch_deletes_and_replaces_on_directive(store: ObjectStore) -> None:
    two_ports = service("web")
    two_ports["spec"]["ports"].append({"name": "https", "port": 443})
    store.create(two_ports)
    deleted = {"spec": {"ports": [{"port": 80, "$patch": "delete"}]}}
    patched = store.patch("v1", "Service", "default", "web", deleted, STRATEGIC_MERGE_PATCH)
    assert [port["port"] for port in patched["spec"]["ports"]] == [443]
    selector = {"spec": {"selector": {"$patch": "replace", "tier": "db"}}}
    patched = store.patch("v1", "Service", "default", "web", selector, STRATEGIC_MERGE_PATCH)
    assert patched["spec"]["selector"] == {"tier": "db"}


def test_a_strategic_merge_patch_unions_finalizers_and_replaces_other_lists(store: ObjectStore) -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}
    store.create({**config_map, "metadata": {**config_map["metadata"], "finalizers": ["a/x"]}})
    patch = {"metadata": {"finalizers": ["b/y"]}}
    patched = store.patch("v1", "ConfigMap", "default", "c", patch, STRATEGIC_MERGE_PATCH)
    assert patched["metadata"]["finalizers"] == ["a/x", "b/y"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "a", "args": ["1", "2"]}]},
    }
    store.create(pod)
    patch = {"spec": {"containers": [{"name": "main", "args": ["3"]}, {"name": "side", "image": "b"}]}}
    patched = store.patch("v1", "Pod", "default", "p", patch, STRATEGIC_MERGE_PATCH)
    containers = [
        {k: c[k] for k in ("name", "image", "args") if k in c} for c in patched["spec"]["containers"]
    ]
    assert containers == [{"name": "main", "image": "a", "args": ["3"]}, {"name": "side", "image": "b"}]


@pytest.fixture(scope="module")
def kube() -> Iterator[RunningKube]:
    with RunningKube() as running:
        yield running


def read(kube: RunningKube, path: str, accept: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {kube.admin_token}", "Accept": accept}
    return requests.get(kube.url + path, headers=headers, timeout=10)


def test_a_list_can_be_read_as_partial_object_metadata(kube: RunningKube) -> None:
    name = unique_name("cm")
    body = {"metadata": {"name": name}, "data": {"k": "v"}}
    client.CoreV1Api(kube.api_client()).create_namespaced_config_map("default", body)
    answer = read(kube, "/api/v1/namespaces/default/configmaps", f"{PARTIAL_LIST},application/json").json()
    assert answer["kind"] == "PartialObjectMetadataList"
    assert answer["apiVersion"] == "meta.k8s.io/v1"
    item = next(i for i in answer["items"] if i["metadata"]["name"] == name)
    assert item == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": item["metadata"],
    }


def test_a_single_object_asked_for_only_as_a_list_is_not_acceptable(kube: RunningKube) -> None:
    assert read(kube, "/api/v1/namespaces/default", PARTIAL_LIST).status_code == 406
    single = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
    assert read(kube, "/api/v1/namespaces/default", single).json()["kind"] == "PartialObjectMetadata"


def test_v1beta1_crds_answer_with_the_deprecation_warning(kube: RunningKube) -> None:
    path = "/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions/pipelineruns.tekton.dev"
    warning = read(kube, path, "application/json").headers["Warning"]
    assert warning == (
        '299 - "apiextensions.k8s.io/v1beta1 CustomResourceDefinition is deprecated in v1.16+, '
        'unavailable in v1.22+; use apiextensions.k8s.io/v1 CustomResourceDefinition"'
    )
    v1 = read(kube, path.replace("v1beta1", "v1"), "application/json")
    assert v1.status_code == 200
    assert "Warning" not in v1.headers


@pytest.mark.parametrize(
    ("ports", "cause"),
    [
        ([], "spec.ports: Required value"),
        (
            [{"port": 80}, {"port": 81}],
            "[spec.ports[0].name: Required value, spec.ports[1].name: Required value]",
        ),
        ([{"name": "a", "port": 80}, {"name": "a", "port": 81}], 'spec.ports[1].name: Duplicate value: "a"'),
        ([{"port": 0}], "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
        (
            [{"port": 80, "protocol": "HTTP"}],
            'spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
        ),
    ],
)
def test_an_invalid_service_is_refused_naming_the_field(
    store: ObjectStore, ports: list[dict[str, Any]], cause: str
) -> None:
    body = service("web")
    body["spec"]["ports"] = ports
    with pytest.raises(KubeError) as refused:
        store.create(body)
    assert refused.value.code == 422
    assert refused.value.message == f'Service "web" is invalid: {cause}'
