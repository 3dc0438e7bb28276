"""CustomResourceDefinitions in the Kubernetes emulator: listed for what is installed, served in v1 and
v1beta1, and serving (then no longer serving) the resources they define."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nautes_refstack.kube import KubeError, ObjectStore, WatchEvent, WatchStream
from nautes_refstack.kube.discovery import api_group, api_resource_list
from nautes_refstack.kube.resources import CUSTOM_TYPES

V1 = "apiextensions.k8s.io/v1"
V1BETA1 = "apiextensions.k8s.io/v1beta1"
CRD = "CustomResourceDefinition"


def widget_crd(api_version: str = V1, scope: str = "Namespaced", **spec: Any) -> dict[str, Any]:
    names = {"plural": "widgets", "kind": "Widget"}
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    body: dict[str, Any] = {"group": "example.com", "names": names, "scope": scope}
    if api_version == V1:
        body["versions"] = [
            {"name": "v1", "served": True, "storage": True, "schema": schema, "subresources": {"status": {}}}
        ]
    else:
        body.update(version="v1", subresources={"status": {}})
    body.update(spec)
    return {"apiVersion": api_version, "kind": CRD, "metadata": {"name": "widgets.example.com"}, "spec": body}


def widget(name: str = "w1") -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"size": 3},
    }


def conditions(crd: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in crd["status"].get("conditions", [])}


@pytest.fixture
def store() -> ObjectStore:
    return ObjectStore()


def test_the_installed_components_crds_are_listed_established(store: ObjectStore) -> None:
    names = {crd["metadata"]["name"] for crd in store.list(V1, CRD)}
    installed = {
        "pipelineruns.tekton.dev",
        "resolutionrequests.resolution.tekton.dev",
        "eventsources.argoproj.io",
        "applications.argoproj.io",
        "applicationsets.argoproj.io",
        "rollouts.argoproj.io",
        "subnamespaceanchors.hnc.x-k8s.io",
        "externalsecrets.external-secrets.io",
    }
    assert installed <= names
    pipeline_runs = store.get(V1, CRD, None, "pipelineruns.tekton.dev")
    assert conditions(pipeline_runs) == {"NamesAccepted": "True", "Established": "True"}
    versions = {v["name"]: v["storage"] for v in pipeline_runs["spec"]["versions"]}
    assert versions == {"v1beta1": True, "v1alpha1": False}
    assert pipeline_runs["status"]["storedVersions"] == ["v1beta1"]


def test_the_crds_serve_exactly_the_custom_types_the_stack_knows(store: ObjectStore) -> None:
    custom = [rt for rt in store.resource_types() if not rt.builtin]
    assert sorted(map(repr, custom)) == sorted(map(repr, CUSTOM_TYPES))


def test_a_v1beta1_crd_reads_as_v1_and_back(store: ObjectStore) -> None:
    columns = [{"name": "Size", "type": "integer", "JSONPath": ".spec.size"}]
    store.create(widget_crd(V1BETA1, additionalPrinterColumns=columns))
    as_v1 = store.get(V1, CRD, None, "widgets.example.com")["spec"]
    (version,) = as_v1["versions"]
    assert version["name"] == "v1"
    assert version["served"]
    assert version["storage"]
    assert version["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"] == [
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"}
    ]
    assert "version" not in as_v1
    assert as_v1["preserveUnknownFields"] is True
    as_v1beta1 = store.get(V1BETA1, CRD, None, "widgets.example.com")["spec"]
    assert as_v1beta1["version"] == "v1"
    assert as_v1beta1["additionalPrinterColumns"] == columns
    assert as_v1beta1["names"]["listKind"] == "WidgetList"


def test_a_created_crd_is_served_until_it_is_deleted(store: ObjectStore) -> None:
    created = store.create(widget_crd())
    assert created["status"] == {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": ["v1"]}
    assert conditions(store.get(V1, CRD, None, "widgets.example.com")) == {
        "NamesAccepted": "True",
        "Established": "True",
    }
    assert api_group("example.com", store.resource_types()) is not None
    assert store.create(widget())["spec"] == {"size": 3}

    answer = store.delete(V1, CRD, None, "widgets.example.com")

    assert "deletionTimestamp" in answer["metadata"]
    assert "customresourcecleanup.apiextensions.k8s.io" in answer["metadata"]["finalizers"]
    assert conditions(answer)["Terminating"] == "True"
    with pytest.raises(KubeError) as gone:
        store.get(V1, CRD, None, "widgets.example.com")
    assert gone.value.code == 404
    assert api_resource_list("example.com", "v1", store.resource_types())["resources"] == []
    with pytest.raises(KubeError) as unserved:
        store.create(widget())
    assert unserved.value.code == 404


def test_a_recreated_crd_starts_without_the_old_resources(store: ObjectStore) -> None:
    store.create(widget_crd())
    store.create(widget())
    store.delete(V1, CRD, None, "widgets.example.com")
    store.create(widget_crd())
    assert store.list("example.com/v1", "Widget") == []


def test_a_cluster_scoped_crd_serves_cluster_scoped_resources(store: ObjectStore) -> None:
    store.create(widget_crd(scope="Cluster"))
    created = store.create({**widget(), "metadata": {"name": "w1"}})
    assert "namespace" not in created["metadata"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metadata": {"name": "gadgets.example.com"}}, "metadata.name"),
        ({"spec": {"group": "example"}}, "spec.group"),
        ({"spec": {"scope": "Global"}}, "spec.scope"),
        ({"spec": {"versions": [{"name": "v1", "served": True, "storage": False}]}}, "spec.versions"),
        (
            {"spec": {"versions": [{"name": "v1", "served": True, "storage": True}]}},
            "spec.versions[0].schema.openAPIV3Schema",
        ),
    ],
)
def test_an_invalid_crd_is_refused_naming_the_field(
    store: ObjectStore, change: dict[str, Any], field: str
) -> None:
    crd = widget_crd()
    for part, values in change.items():
        crd[part] = {**crd[part], **values}
    with pytest.raises(KubeError) as refused:
        store.create(crd)
    assert refused.value.code == 422
    assert refused.value.details is not None
    assert refused.value.details["causes"][0]["field"] == field


def test_a_v1beta1_crd_needs_no_schema(store: ObjectStore) -> None:
    assert store.create(widget_crd(V1BETA1))["metadata"]["name"] == "widgets.example.com"


def test_a_kind_another_crd_of_the_group_uses_is_not_accepted(store: ObjectStore) -> None:
    store.create(widget_crd())
    clash = widget_crd()
    clash["metadata"]["name"] = "widgetses.example.com"
    clash["spec"]["names"] = {"plural": "widgetses", "kind": "Widget"}
    store.create(clash)
    status = store.get(V1, CRD, None, "widgetses.example.com")["status"]
    assert conditions({"status": status}) == {"NamesAccepted": "False"}
    assert [rt.plural for rt in store.resource_types() if rt.group == "example.com"] == ["widgets"]


def test_adding_a_served_version_serves_it(store: ObjectStore) -> None:
    store.create(widget_crd())
    crd = store.get(V1, CRD, None, "widgets.example.com")
    extra = {**crd["spec"]["versions"][0], "name": "v2", "storage": False}
    crd["spec"]["versions"].append(extra)
    store.replace(crd)
    assert store.create({**widget(), "apiVersion": "example.com/v2"})["apiVersion"] == "example.com/v2"


def typed_widget_crd(**spec: Any) -> dict[str, Any]:
    crd = widget_crd(**spec)
    size = {"type": "integer", "minimum": 1, "default": 1}
    properties = {"size": size, "colour": {"type": "string", "enum": ["red", "blue"]}}
    crd["spec"]["versions"][0]["schema"] = {
        "openAPIV3Schema": {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "required": ["colour"], "properties": properties},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
    }
    return crd


def test_a_custom_resource_is_pruned_and_defaulted_by_its_schema(store: ObjectStore) -> None:
    store.create(typed_widget_crd())
    body = widget()
    body["spec"] = {"colour": "red", "shape": "round"}
    body["extra"] = True
    created = store.create(body)
    assert created["spec"] == {"colour": "red", "size": 1}
    assert "extra" not in created
    assert created["metadata"]["namespace"] == "default"


def test_a_custom_resource_breaking_its_schema_is_refused_naming_each_field(store: ObjectStore) -> None:
    store.create(typed_widget_crd())
    body = widget()
    body["spec"] = {"size": "three"}
    with pytest.raises(KubeError) as refused:
        store.create(body)
    assert refused.value.code == 422
    assert refused.value.message == (
        'Widget.example.com "w1" is invalid: [spec.size: Invalid value: "string": '
        'spec.size in body must be of type integer: "string", spec.colour: Required value]'
    )
    store.create({**body, "spec": {"colour": "red", "size": 2}})
    patch = {"spec": {"colour": "green"}}
    with pytest.raises(KubeError) as unsupported:
        store.patch("example.com/v1", "Widget", "default", "w1", patch)
    assert (
        'spec.colour: Unsupported value: "green": supported values: "red", "blue"'
        in unsupported.value.message
    )


def test_a_v1beta1_crd_keeps_unknown_fields(store: ObjectStore) -> None:
    crd = widget_crd(V1BETA1, validation={"openAPIV3Schema": {"type": "object", "properties": {"spec": {}}}})
    store.create(crd)
    assert store.create({**widget(), "extra": 1})["extra"] == 1


def test_a_crd_whose_resources_have_finalizers_stays_terminating_until_they_are_gone(
    store: ObjectStore,
) -> None:
    store.create(widget_crd())
    held = widget()
    held["metadata"]["finalizers"] = ["example.com/hold"]
    store.create(held)
    watch = store.watch("example.com/v1", "Widget", resource_version=str(store.resource_version))

    store.delete(V1, CRD, None, "widgets.example.com")

    assert conditions(store.get(V1, CRD, None, "widgets.example.com"))["Terminating"] == "True"
    with pytest.raises(KubeError) as refused:
        store.create(widget("w2"))
    assert refused.value.code == 405
    assert refused.value.message == "create not allowed while custom resource definition is terminating"
    store.patch("example.com/v1", "Widget", "default", "w1", {"metadata": {"finalizers": None}})
    with pytest.raises(KubeError):
        store.get(V1, CRD, None, "widgets.example.com")
    events = asyncio.run(drain(watch))
    assert [event.type for event in events] == ["MODIFIED", "DELETED"]
    assert watch.closed


async def drain(stream: WatchStream) -> list[WatchEvent]:
    events = []
    while (event := await stream.next_event(0.01)) is not None:
        events.append(event)
    return events


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda spec: spec.update(group="other.example.com"), "spec.group"),
        (lambda spec: spec.update(scope="Cluster"), "spec.scope"),
        (lambda spec: spec["names"].update(kind="Gadget"), "spec.names.kind"),
        (lambda spec: spec["versions"][0].update(name="v2"), "status.storedVersions[0]"),
    ],
)
def test_what_an_established_crd_may_not_change(store: ObjectStore, change: Any, field: str) -> None:
    store.create(widget_crd())
    crd = store.get(V1, CRD, None, "widgets.example.com")
    change(crd["spec"])
    with pytest.raises(KubeError) as refused:
        store.replace(crd)
    assert refused.value.code == 422
    assert refused.value.details is not None
    assert refused.value.details["causes"][0]["field"] == field
