"""The OpenAPI v2 document a Kubernetes 1.21 apiserver publishes at ``/openapi/v2``.

kubectl downloads it for client-side validation (``kubectl apply/create -f`` without ``--validate=false``),
for ``kubectl explain``, and to learn which query parameters a resource's PATCH accepts (``dryRun``,
``fieldValidation``: k8s.io/cli-runtime/pkg/resource/query_param_verifier.go). A 1.21 server has no
``/openapi/v3`` (that came in 1.23 as alpha); kubectl 1.32 falls back to this document.

* Built-in kinds: their definitions are Kubernetes v1.21.0's own (``k8s-1.21-definitions.json``, extracted
  by ``refstack/tools/k8s_definitions.py``), published for the kinds the emulation serves with every
  definition they refer to.
* Custom resources: one definition per served version, built from the CRD's ``openAPIV3Schema`` the way
  apiextensions-apiserver 1.21 does for v2 (k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder/
  builder.go ``BuildSwagger`` with ``V2: true, StripDefaults: true``, then ``v2/conversion.go``
  ``ToStructuralOpenAPIV2``): defaults dropped, ``allOf/oneOf/anyOf/not`` dropped, a nullable or
  ``x-kubernetes-preserve-unknown-fields`` node loses ``properties``/``items`` (a nullable one its type too),
  an array without items its type, and a root that preserves unknown fields (or no schema at all) is
  published as a bare ``{"type": "object"}``. Named ``<reversed group>.<version>.<Kind>``.
* Paths: each served resource's operations, with the ``x-kubernetes-action`` and
  ``x-kubernetes-group-version-kind`` extensions and the query parameters a 1.21 server accepts (``dryRun``,
  ``fieldManager`` and, on PATCH, ``force``; no ``fieldValidation``, which 1.23 added), so kubectl validates
  on the client side as it does against a real 1.21 server.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from nautes_refstack.kube import openapi_proto
from nautes_refstack.kube.discovery import SERVER_VERSION
from nautes_refstack.kube.errors import JsonObject
from nautes_refstack.kube.resource_type import ResourceType

DEFINITIONS_FILE = Path(__file__).with_name("k8s-1.21-definitions.json")
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_GVK = "x-kubernetes-group-version-kind"
# builder.go swaggerPartialObjectMetadataDescriptions / addTypeMetaProperties.
_METADATA_DESCRIPTION = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_API_VERSION_DESCRIPTION = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
_KIND_DESCRIPTION = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer this "
    "from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
_VALUE_COMBINATORS = ("allOf", "oneOf", "anyOf", "not")
# What the scale subresource of a workload reads and writes.
SCALE = "io.k8s.api.autoscaling.v1.Scale"
SCALE_GVK: JsonObject = {"group": "autoscaling", "kind": "Scale", "version": "v1"}


@cache
def builtin_definitions() -> dict[str, JsonObject]:
    """Kubernetes v1.21.0's definitions of the built-in kinds served (read once)."""
    definitions: dict[str, JsonObject] = json.loads(DEFINITIONS_FILE.read_text())
    return definitions


def _definitions_by_gvk(definitions: dict[str, JsonObject]) -> dict[tuple[str, str, str], str]:
    return {
        (gvk["group"], gvk["version"], gvk["kind"]): name
        for name, definition in definitions.items()
        for gvk in definition.get(_GVK, [])
    }


def _references(schema: Any) -> Iterable[str]:
    if isinstance(schema, dict):
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/definitions/"):
            yield reference.removeprefix("#/definitions/")
        for value in schema.values():
            yield from _references(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _references(value)


def _closure(names: Iterable[str], definitions: dict[str, JsonObject]) -> dict[str, JsonObject]:
    kept: dict[str, JsonObject] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in kept and name in definitions:
            kept[name] = definitions[name]
            todo.extend(_references(definitions[name]))
    return kept


# -- custom resources ------------------------------------------------------------------------------


def custom_definition_name(group: str, version: str, kind: str) -> str:
    """``tekton.dev/v1beta1 PipelineRun`` -> ``dev.tekton.v1beta1.PipelineRun`` (builder.go)."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _to_v2(schema: JsonObject) -> JsonObject:
    """``StripDefaults`` then ``ToStructuralOpenAPIV2`` on one node and, recursively, its children."""
    node = {key: value for key, value in schema.items() if key not in ("default", *_VALUE_COMBINATORS)}
    if node.pop("nullable", False):
        for key in ("type", "items", "properties"):
            node.pop(key, None)
    if node.get("x-kubernetes-preserve-unknown-fields"):
        node.pop("items", None)
        node.pop("properties", None)
    if isinstance(node.get("properties"), dict):
        properties = node["properties"]
        node["properties"] = {name: _to_v2(child) for name, child in properties.items()}
        nullable = {name for name, child in properties.items() if child.get("nullable")}
        if nullable and isinstance(node.get("required"), list):
            node["required"] = [name for name in node["required"] if name not in nullable]
    if isinstance(node.get("items"), dict):
        node["items"] = _to_v2(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _to_v2(node["additionalProperties"])
    if node.get("type") == "array" and "items" not in node:
        del node["type"]
    return node


def _custom_kind_definition(schema: JsonObject | None, group: str, version: str, kind: str) -> JsonObject:
    """builder.go ``buildKubeNative``: the object schema with TypeMeta and ObjectMeta, and its GVK."""
    if schema is None or schema.get("x-kubernetes-preserve-unknown-fields"):
        # builder.go: kubectl would forbid every field but apiVersion, kind and metadata otherwise.
        definition: JsonObject = {"type": "object"}
    else:
        definition = _to_v2(schema)
        properties = definition.setdefault("properties", {})
        properties["metadata"] = {
            "$ref": f"#/definitions/{_META}ObjectMeta",
            "description": _METADATA_DESCRIPTION,
        }
        properties["apiVersion"] = {"type": "string", "description": _API_VERSION_DESCRIPTION}
        properties["kind"] = {"type": "string", "description": _KIND_DESCRIPTION}
    definition[_GVK] = [{"group": group, "kind": kind, "version": version}]
    return definition


def _custom_list_definition(item: str, rt: ResourceType) -> JsonObject:
    """builder.go ``buildListSchema``."""
    return {
        "description": f"{rt.list_kind_name} is a list of {rt.kind}",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": _API_VERSION_DESCRIPTION},
            "items": {
                "type": "array",
                "description": f"List of {rt.plural}. More info: "
                "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md",
                "items": {"$ref": f"#/definitions/{item}"},
            },
            "kind": {"type": "string", "description": _KIND_DESCRIPTION},
            "metadata": {"$ref": f"#/definitions/{_META}ListMeta", "description": _METADATA_DESCRIPTION},
        },
        "type": "object",
        _GVK: [{"group": rt.group, "kind": rt.list_kind_name, "version": rt.version}],
    }


def crd_schemas(crds: Iterable[JsonObject]) -> dict[tuple[str, str, str], JsonObject | None]:
    """``(group, version, kind)`` -> the ``openAPIV3Schema`` of each served version of each CRD."""
    schemas: dict[tuple[str, str, str], JsonObject | None] = {}
    for crd in crds:
        spec = crd.get("spec", {})
        group, kind = spec.get("group", ""), spec.get("names", {}).get("kind", "")
        for version in spec.get("versions", []):
            if version.get("served", True):
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                schemas[(group, version.get("name", ""), kind)] = schema
    return schemas


# -- paths -------------------------------------------------------------------------------------------


def _query(name: str, kind: str, description: str) -> JsonObject:
    return {"uniqueItems": True, "type": kind, "description": description, "name": name, "in": "query"}


_PRETTY = _query("pretty", "string", "If 'true', then the output is pretty printed.")
_DRY_RUN = _query(
    "dryRun",
    "string",
    "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun "
    "directive will result in an error response and no further processing of the request. Valid values "
    "are: - All: all dry run stages will be processed",
)
_FIELD_MANAGER = _query(
    "fieldManager",
    "string",
    "fieldManager is a name associated with the actor or entity that is making these changes. The value "
    "must be less than or 128 characters long, and only contain printable characters, as defined by "
    "https://golang.org/pkg/unicode/#IsPrint.",
)
_FORCE = _query(
    "force",
    "boolean",
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by '
    "other people. Force flag must be unset for non-apply patch requests.",
)
_LIST_PARAMETERS = [
    _query("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type BOOKMARK."),
    _query("continue", "string", "The continue option should be set when retrieving more results."),
    _query("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields."),
    _query("labelSelector", "string", "A selector to restrict the list of returned objects by their labels."),
    _query("limit", "integer", "limit is a maximum number of responses to return for a list call."),
    _query("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a "),
    _query(
        "resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied"
    ),
    _query("timeoutSeconds", "integer", "Timeout for the list/watch call."),
    _query("watch", "boolean", "Watch for changes to the described resources and return them as a stream."),
]
_DELETE_PARAMETERS = [
    _DRY_RUN,
    _query("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted."),
    _query("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy."),
    _query("propagationPolicy", "string", "Whether and how garbage collection will be performed."),
]
_MEDIA = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
_PATCH_MEDIA = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
]


def _path(name: str, description: str) -> JsonObject:
    return {
        "uniqueItems": True,
        "type": "string",
        "description": description,
        "name": name,
        "in": "path",
        "required": True,
    }


def _body(reference: str | None) -> JsonObject:
    schema = {"$ref": f"#/definitions/{reference}"} if reference else {"type": "object"}
    return {"name": "body", "in": "body", "required": True, "schema": schema}


def _camel(group: str) -> str:
    """``rbac.authorization.k8s.io`` -> ``RbacAuthorization``; ``tekton.dev`` -> ``TektonDev`` (the
    apiserver's operation-id and tag naming, k8s.io/apiserver/pkg/endpoints/openapi)."""
    words = group.removesuffix(".k8s.io").replace("-", ".").split(".") if group else ["core"]
    return "".join(word[:1].upper() + word[1:] for word in words)


class _PathBuilder:
    def __init__(self, rt: ResourceType, kind_definition: str | None) -> None:
        self.rt = rt
        self.kind_definition = kind_definition
        self.prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else "/api/v1"
        group_id = _camel(rt.group)
        self.id_suffix = f"{group_id}{rt.version[:1].upper()}{rt.version[1:]}"
        self.tag = f"{group_id[:1].lower()}{group_id[1:]}_{rt.version}"

    def operation(
        self,
        verb: str,
        action: str,
        kind: str,
        parameters: list[JsonObject],
        response: str | None,
        gvk: JsonObject | None = None,
    ) -> JsonObject:
        rt = self.rt
        scope = "Namespaced" if rt.namespaced and not kind.startswith("ForAll") else ""
        kind_part = kind.removeprefix("ForAll")
        operation: JsonObject = {
            "description": f"{verb} {kind_part}",
            "consumes": _PATCH_MEDIA if action == "patch" else ["*/*"],
            "produces": _MEDIA,
            "schemes": ["https"],
            "tags": [self.tag],
            "operationId": f"{verb}{self.id_suffix}{scope}{kind_part}",
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    **({"schema": {"$ref": f"#/definitions/{response}"}} if response else {}),
                },
                "401": {"description": "Unauthorized"},
            },
            "x-kubernetes-action": action,
            _GVK: gvk or {"group": rt.group, "kind": rt.kind, "version": rt.version},
        }
        return operation

    def items(self) -> dict[str, JsonObject]:
        rt, kind = self.rt, self.rt.kind
        paths: dict[str, JsonObject] = {}
        namespace = "namespaces/{namespace}/" if rt.namespaced else ""
        shared = (
            [_path("namespace", "object name and auth scope, such as for teams and projects")]
            if rt.namespaced
            else []
        )
        collection: JsonObject = {"parameters": [*shared, _PRETTY]}
        if "list" in rt.verbs:
            collection["get"] = self.operation(
                "list", "list", kind, _LIST_PARAMETERS, self._list_definition()
            )
        if "create" in rt.verbs:
            collection["post"] = self.operation(
                "create",
                "post",
                kind,
                [_body(self.kind_definition), _DRY_RUN, _FIELD_MANAGER],
                self.kind_definition,
            )
        if "deletecollection" in rt.verbs:
            collection["delete"] = self.operation(
                "deletecollection",
                "deletecollection",
                kind,
                [*_DELETE_PARAMETERS, *_LIST_PARAMETERS],
                f"{_META}Status",
            )
        paths[f"{self.prefix}/{namespace}{rt.plural}"] = collection
        item: JsonObject = {"parameters": [_path("name", f"name of the {kind}"), *shared, _PRETTY]}
        self._item_operations(item, kind)
        if len(item) > 1:
            paths[f"{self.prefix}/{namespace}{rt.plural}/{{name}}"] = item
        for subresource in rt.subresources:
            sub: JsonObject = {"parameters": [_path("name", f"name of the {kind}"), *shared, _PRETTY]}
            if subresource == "status":
                self._item_operations(sub, f"{kind}Status", status=True)
            elif subresource == "scale":
                self._scale_operations(sub, kind)
            elif subresource == "log":
                sub["get"] = self.operation("read", "get", f"{kind}Log", [], None)
            paths[f"{self.prefix}/{namespace}{rt.plural}/{{name}}/{subresource}"] = sub
        if rt.namespaced and "list" in rt.verbs:
            everywhere = {
                "parameters": [_PRETTY],
                "get": self.operation(
                    "list", "list", f"ForAll{kind}ForAllNamespaces", _LIST_PARAMETERS, self._list_definition()
                ),
            }
            paths[f"{self.prefix}/{rt.plural}"] = everywhere
        return paths

    def _item_operations(self, item: JsonObject, kind: str, *, status: bool = False) -> None:
        verbs = ("get", "update", "patch") if status else self.rt.verbs
        definition = self.kind_definition
        if "get" in verbs:
            item["get"] = self.operation("read", "get", kind, [], definition)
        if "update" in verbs:
            item["put"] = self.operation(
                "replace", "put", kind, [_body(definition), _DRY_RUN, _FIELD_MANAGER], definition
            )
        if "patch" in verbs:
            patch_body = _body(f"{_META}Patch")
            item["patch"] = self.operation(
                "patch", "patch", kind, [patch_body, _DRY_RUN, _FIELD_MANAGER, _FORCE], definition
            )
        if "delete" in verbs and not status:
            body = _body(f"{_META}DeleteOptions") | {"required": False}
            item["delete"] = self.operation(
                "delete", "delete", kind, [body, *_DELETE_PARAMETERS], f"{_META}Status"
            )

    def _scale_operations(self, item: JsonObject, kind: str) -> None:
        """``{plural}/{name}/scale``: an autoscaling/v1 Scale (read, replace, patch)."""
        writes = [_DRY_RUN, _FIELD_MANAGER]
        item["get"] = self.operation("read", "get", f"{kind}Scale", [], SCALE, SCALE_GVK)
        item["put"] = self.operation(
            "replace", "put", f"{kind}Scale", [_body(SCALE), *writes], SCALE, SCALE_GVK
        )
        patch = [_body(f"{_META}Patch"), *writes, _FORCE]
        item["patch"] = self.operation("patch", "patch", f"{kind}Scale", patch, SCALE, SCALE_GVK)

    def _list_definition(self) -> str | None:
        return None if self.kind_definition is None else f"{self.kind_definition}List"


# -- the document ------------------------------------------------------------------------------------


def build_document(resource_types: Iterable[ResourceType], crds: Iterable[JsonObject]) -> JsonObject:
    """The ``/openapi/v2`` document for these served resources and the CRDs behind the custom ones."""
    builtin = builtin_definitions()
    by_gvk = _definitions_by_gvk(builtin)
    schemas = crd_schemas(crds)
    roots = [f"{_META}Status", f"{_META}Patch", f"{_META}DeleteOptions", f"{_META}WatchEvent"]
    custom: dict[str, JsonObject] = {}
    paths: dict[str, JsonObject] = {}
    for rt in resource_types:
        gvk = (rt.group, rt.version, rt.kind)
        if rt.builtin:
            definition = by_gvk.get(gvk)
            if definition is not None:
                roots.append(definition)
                roots.append(by_gvk.get((rt.group, rt.version, rt.list_kind_name), definition))
        else:
            definition = custom_definition_name(*gvk)
            custom[definition] = _custom_kind_definition(copy.deepcopy(schemas.get(gvk)), *gvk)
            custom[f"{definition}List"] = _custom_list_definition(definition, rt)
        paths.update(_PathBuilder(rt, definition).items())
        if "scale" in rt.subresources:
            roots.append(SCALE)
    definitions = _closure(roots, builtin) | _closure(custom, custom | builtin)
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(definitions.items())),
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
            }
        },
        "security": [{"BearerToken": []}],
    }


class PublishedSpec:
    """The document as served, rebuilt only when the served resources or a CRD changed (as the apiserver's
    OpenAPI aggregator republishes on a CRD change), in JSON and in protobuf, each with its ETag."""

    def __init__(self) -> None:
        self._key: object = None
        self._forms: dict[str, tuple[bytes, str]] = {}

    def render(
        self, resource_types: Iterable[ResourceType], crds: list[JsonObject], media_type: str
    ) -> tuple[bytes, str]:
        """The body for ``media_type`` (``application/json`` or :data:`openapi_proto.MEDIA_TYPE`) and its
        ETag."""
        served = tuple(resource_types)
        key = (
            served,
            tuple((crd["metadata"]["name"], crd["metadata"].get("resourceVersion")) for crd in crds),
        )
        if key != self._key:
            self._key, self._forms = key, {}
        if media_type not in self._forms:
            document = build_document(served, crds)
            if media_type == openapi_proto.MEDIA_TYPE:
                body = openapi_proto.document(document)
            else:
                body = json.dumps(document, separators=(",", ":")).encode()
            # handler.go computeETag: the hex SHA-512 of the body, quoted.
            self._forms[media_type] = (body, f'"{hashlib.sha512(body).hexdigest().upper()}"')
        return self._forms[media_type]


def negotiate(accept: str) -> str | None:
    """The media type to serve for an ``Accept`` header (empty: ``*/*``), or None for a 406: clauses by
    descending quality, the first matching JSON or the protobuf form wins (goautoneg, as handler.go)."""
    clauses = []
    for position, clause in enumerate((accept or "*/*").split(",")):
        media, *parameters = (part.strip() for part in clause.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        clauses.append((-quality, position, media))
    for _, _, media in sorted(clauses):
        kind, _, sub = media.partition("/")
        for offered in ("application/json", openapi_proto.MEDIA_TYPE):
            offered_kind, _, offered_sub = offered.partition("/")
            if kind in (offered_kind, "*") and sub in (offered_sub, "*"):
                return offered
    return None
