"""Metadata-only reads: ``Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1``.

Clients that need only names, labels and owners (client-go's metadata client, controller-runtime's
metadata-only watches, the kubernetes client's ``test_node_apis_partial_object_metadata``) ask for objects
as ``PartialObjectMetadata`` (a get) or ``PartialObjectMetadataList`` (a list) of ``meta.k8s.io`` ``v1`` or
``v1beta1``. As kube-apiserver does (k8s.io/apiserver pkg/endpoints/handlers/response.go
``transformObject``/``asPartialObjectMetadata*``, negotiation in handlers/rest.go): the Accept clauses are
tried in order, the first one the answer can take wins (a plain ``application/json`` takes anything), and
when none can the answer is 406 ``NotAcceptable``. Each item keeps only its ``metadata``, typed
``PartialObjectMetadata``. Only requests naming one of these forms are touched; watches are not transformed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from nautes_refstack.kube.errors import JsonObject

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_GROUP = "meta.k8s.io"
_VERSIONS = ("v1", "v1beta1")
_FORMS = ("PartialObjectMetadata", "PartialObjectMetadataList")
_ANY_JSON = ("application/json", "application/*", "*/*")
_NOT_ACCEPTABLE: JsonObject = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "only the following media types are accepted: application/json, application/yaml, "
    "application/vnd.kubernetes.protobuf",
    "reason": "NotAcceptable",
    "code": 406,
}


def _clauses(accept: str) -> list[tuple[str, dict[str, str]]]:
    clauses = []
    for clause in accept.split(","):
        media_type, *parameters = (part.strip() for part in clause.split(";"))
        values = dict(p.split("=", 1) for p in parameters if "=" in p)
        clauses.append(
            (media_type.lower(), {key.strip().lower(): value.strip() for key, value in values.items()})
        )
    return clauses


def _asks_for_partial(clauses: list[tuple[str, dict[str, str]]]) -> bool:
    return any(parameters.get("as") in _FORMS for _, parameters in clauses)


def _transformed(body: JsonObject, clauses: list[tuple[str, dict[str, str]]]) -> JsonObject | None:
    """The body in the first form the Accept clauses name that it can take (None: none can)."""
    is_list = isinstance(body.get("items"), list)
    for media_type, parameters in clauses:
        form = parameters.get("as")
        if form is None and media_type in _ANY_JSON:
            return body
        if media_type != "application/json" or parameters.get("g") != _GROUP:
            continue
        version = parameters.get("v")
        if version not in _VERSIONS or form != (
            "PartialObjectMetadataList" if is_list else "PartialObjectMetadata"
        ):
            continue
        api_version = f"{_GROUP}/{version}"
        if not is_list:
            return {
                "kind": "PartialObjectMetadata",
                "apiVersion": api_version,
                "metadata": body.get("metadata", {}),
            }
        items = [
            {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": item.get("metadata", {})}
            for item in body["items"]
        ]
        return {
            "kind": "PartialObjectMetadataList",
            "apiVersion": api_version,
            "metadata": body.get("metadata", {}),
            "items": items,
        }
    return None


@web.middleware
async def partial_metadata_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Serve gets and lists of resources as partial object metadata where the Accept header asks for it."""
    clauses = _clauses(request.headers.get("Accept", ""))
    response = await handler(request)
    if (
        request.method != "GET"
        or not _asks_for_partial(clauses)
        or not isinstance(response, web.Response)
        or response.status != 200
        or response.content_type != "application/json"
        or not isinstance(response.body, bytes)
    ):
        return response
    body = json.loads(response.body)
    if not isinstance(body, dict) or body.get("kind") in ("APIResourceList", "APIGroupList", "APIGroup"):
        return response
    transformed = _transformed(body, clauses)
    if transformed is None:
        return web.json_response(_NOT_ACCEPTABLE, status=406)
    return web.json_response(transformed, dumps=lambda value: json.dumps(value, separators=(",", ":")))
