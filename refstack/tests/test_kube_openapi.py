"""The ``/openapi/v2`` document: content negotiation, and CRD schemas published as a 1.21 apiserver does."""

from __future__ import annotations

import pytest
from nautes_refstack.kube import openapi, openapi_proto
from nautes_refstack.kube.resource_type import ResourceType

PROTOBUF = openapi_proto.MEDIA_TYPE


@pytest.mark.parametrize(
    ("accept", "served"),
    [
        ("", "application/json"),
        ("application/json", "application/json"),
        (PROTOBUF, PROTOBUF),
        (f"application/json;q=0.5, {PROTOBUF}", PROTOBUF),
        ("text/html", None),
    ],
)
def test_negotiation(accept: str, served: str | None) -> None:
    assert openapi.negotiate(accept) == served


def _crd(schema: dict[str, object]) -> dict[str, object]:
    return {
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "served": True, "schema": {"openAPIV3Schema": schema}}],
        },
    }


WIDGET = ResourceType("example.com", "v1", "Widget", "widgets")


def test_a_crd_schema_is_published_the_way_apiextensions_does_for_v2() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["size", "note"],
                "properties": {
                    "size": {"type": "integer", "default": 1, "minimum": 0},
                    "note": {"type": "string", "nullable": True},
                    "extra": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                        "properties": {},
                    },
                    "any": {"type": "array"},
                    "choice": {"type": "string", "oneOf": [{"pattern": "a"}]},
                },
            }
        },
    }
    document = openapi.build_document([WIDGET], [_crd(schema)])
    definition = document["definitions"]["com.example.v1.Widget"]
    spec = definition["properties"]["spec"]
    assert spec["required"] == ["size"]  # nullable fields are not required in v2
    assert spec["properties"]["size"] == {"type": "integer", "minimum": 0}  # defaults stripped
    assert spec["properties"]["note"] == {}
    assert spec["properties"]["extra"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert spec["properties"]["any"] == {}
    assert spec["properties"]["choice"] == {"type": "string"}
    assert set(definition["properties"]) == {"spec", "metadata", "apiVersion", "kind"}
    assert definition["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "Widget", "version": "v1"}
    ]
    assert document["definitions"]["com.example.v1.WidgetList"]["required"] == ["items"]


def test_a_crd_keeping_unknown_fields_is_published_as_a_bare_object() -> None:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    definition = openapi.build_document([WIDGET], [_crd(schema)])["definitions"]["com.example.v1.Widget"]
    assert definition == {
        "type": "object",
        "x-kubernetes-group-version-kind": [{"group": "example.com", "kind": "Widget", "version": "v1"}],
    }


def test_patch_operations_name_the_parameters_of_a_121_server() -> None:
    document = openapi.build_document([WIDGET], [])
    patch = document["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    names = [parameter["name"] for parameter in patch["parameters"]]
    assert names == ["body", "dryRun", "fieldManager", "force"]  # no fieldValidation before 1.23
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "example.com",
        "kind": "Widget",
        "version": "v1",
    }
