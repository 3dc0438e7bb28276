"""The Kubernetes REST API over HTTP: URL parsing, verbs, list/watch wire formats, on top of the store.

Everything a client can observe is shaped like kube-apiserver: ``201`` on create, ``<Kind>List`` with
``metadata.resourceVersion`` on list, newline-delimited ``{"type", "object"}`` watch events (``ERROR`` with
a 410 ``Expired`` Status when a watch resumes from a forgotten resourceVersion, ``BOOKMARK`` events when
asked for, ``timeoutSeconds`` honoured), ``Status`` bodies for errors, ``text/plain`` pod logs.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.kube import (
    discovery,
    errors,
    openapi,
    openapi_proto,
    pod_logs,
    protobuf_bodies,
    scale,
    tables,
)
from nautes_refstack.kube.auth import Authenticator, bearer_token_middleware
from nautes_refstack.kube.deprecation import deprecation_warning
from nautes_refstack.kube.errors import JsonObject, KubeError
from nautes_refstack.kube.partial_metadata import partial_metadata_middleware
from nautes_refstack.kube.patches import PATCH_TYPES
from nautes_refstack.kube.resource_type import SUBRESOURCE_VERBS, ResourceType
from nautes_refstack.kube.store import ObjectStore
from nautes_refstack.kube.watch import WatchStream

# kube-apiserver picks a random watch lifetime between --min-request-timeout (1800 s) and twice that.
DEFAULT_WATCH_TIMEOUT_S = 1800.0
BOOKMARK_INTERVAL_S = 60.0
BOOKMARK_BEFORE_DEADLINE_S = 2.0
# How often an idle watch checks whether its client went away.
LIVENESS_CHECK_S = 1.0
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
# The bodies kube-apiserver reads for objects: JSON (the kubernetes Python client, ``kubectl create/apply
# -f``), YAML, and protobuf (kubectl's generators: ``kubectl create namespace x``) for built-in kinds only
# (k8s.io/apiextensions-apiserver: custom resources have no protobuf encoding). The protobuf bodies read here
# are those of the kinds kubectl's generators create (:mod:`.protobuf_bodies`).
_BODY_TYPES = ("application/json", "application/yaml", protobuf_bodies.MEDIA_TYPE)
_CUSTOM_BODY_TYPES = ("application/json", "application/yaml")
# The writes that take ``dryRun``, and the options kind naming it in a validation error.
_DRY_RUN_OPTIONS = {
    "create": "CreateOptions",
    "update": "UpdateOptions",
    "patch": "PatchOptions",
    "delete": "DeleteOptions",
    "deletecollection": "DeleteOptions",
}


@dataclass(frozen=True)
class Target:
    """What a resource URL names: a collection, an object, or one of its subresources."""

    resource_type: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def resolve(store: ObjectStore, group: str, version: str, tail: str) -> Target:
    """Parse ``[namespaces/{ns}/]{plural}[/{name}[/{subresource}]]`` below a group version."""
    parts = [part for part in tail.split("/") if part]
    namespace = None
    if len(parts) >= 3 and parts[0] == "namespaces":
        try:
            if store.resource_type_for_path(group, version, parts[2]).namespaced:
                namespace, parts = parts[1], parts[2:]
        except KubeError:
            pass  # "namespaces/{name}/{subresource}": the Namespace object itself
    if not 1 <= len(parts) <= 3:
        raise errors.resource_not_found()
    rt = store.resource_type_for_path(group, version, parts[0])
    name = parts[1] if len(parts) > 1 else None
    subresource = parts[2] if len(parts) > 2 else None
    misplaced = (namespace is not None and not rt.namespaced) or (
        rt.namespaced and name and namespace is None
    )
    if misplaced or (subresource is not None and subresource not in rt.subresources):
        raise errors.resource_not_found()
    return Target(rt, namespace, name, subresource)


def _json(body: JsonObject, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status=status, content_type="application/json"
    )


def _error(error: KubeError) -> web.Response:
    return _json(error.status(), error.code)


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "") in _TRUE


def _content_type(request: web.Request) -> str:
    """The body's media type; like the apiserver, a request without one is taken to be JSON."""
    return request.content_type if "Content-Type" in request.headers else "application/json"


async def _read_json(request: web.Request, *, builtin: bool = True) -> Any:
    content_type = _content_type(request)
    accepted = _BODY_TYPES if builtin else _CUSTOM_BODY_TYPES
    if content_type == protobuf_bodies.MEDIA_TYPE and builtin:
        try:
            return protobuf_bodies.decode(await request.read())
        except protobuf_bodies.UnreadableKind:
            raise errors.unsupported_media_type(_CUSTOM_BODY_TYPES) from None
    if content_type == "application/yaml":
        try:
            return yaml.safe_load(await request.read() or b"null")
        except yaml.YAMLError as problem:
            raise errors.bad_request(f"yaml parse error: {problem}") from None
    if content_type not in ("application/json", *PATCH_TYPES):
        raise errors.unsupported_media_type(accepted)
    try:
        return json.loads(await request.read() or b"null")
    except ValueError as problem:
        raise errors.bad_request(f"json parse error: {problem}") from None


async def _read_object(request: web.Request, *, builtin: bool = True) -> JsonObject:
    body = await _read_json(request, builtin=builtin)
    if not isinstance(body, dict):
        raise errors.bad_request("Object 'Kind' is missing in the request body")
    return body


def _success_status(rt: ResourceType, deleted: JsonObject) -> JsonObject:
    details: JsonObject = {"name": deleted["metadata"]["name"]}
    if rt.group:
        details["group"] = rt.group
    details.update(kind=rt.plural, uid=deleted["metadata"]["uid"])
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def _watch_timeout(request: web.Request) -> float:
    """``timeoutSeconds``, where a missing or zero value means the server's default, as in the apiserver."""
    value = request.query.get("timeoutSeconds", "0")
    if not value.isdigit():
        raise errors.bad_request(f'invalid value for timeoutSeconds: "{value}"')
    return float(value) or DEFAULT_WATCH_TIMEOUT_S


def _next_bookmark(now: float, deadline: float) -> float:
    """Bookmarks go out every minute and once just before the watch times out, as the apiserver does."""
    before_deadline = deadline - BOOKMARK_BEFORE_DEADLINE_S
    return min(now + BOOKMARK_INTERVAL_S, before_deadline) if now < before_deadline else math.inf


class KubeApi:
    """The aiohttp application serving one :class:`ObjectStore` (with the stack's ``faults``)."""

    def __init__(self, store: ObjectStore, authenticator: Authenticator, faults: Faults = NO_FAULTS) -> None:
        self._store = store
        self._authenticator = authenticator
        self._faults = faults
        self._open_watches: set[WatchStream] = set()
        self._openapi = openapi.PublishedSpec()

    def application(self) -> web.Application:
        app = web.Application(
            middlewares=[bearer_token_middleware(self._authenticator), partial_metadata_middleware]
        )
        app.on_response_prepare.append(deprecation_warning)
        add = app.router.add_route
        add("GET", "/version", self._version)
        for probe in ("/healthz", "/livez", "/readyz"):
            add("GET", probe, self._ok)
        add("GET", "/api", self._core_versions)
        add("GET", "/api/v1", self._core_resources)
        add("GET", "/apis", self._groups)
        add("GET", "/apis/{group}", self._group)
        add("GET", "/apis/{group}/{version}", self._group_resources)
        add("GET", "/openapi/v2", self._openapi_v2)
        add("*", "/api/v1/{tail:.+}", self._resource)
        add("*", "/apis/{group}/{version}/{tail:.+}", self._resource)
        return app

    def close_watches(self) -> None:
        """End every open watch stream now (the server is stopping)."""
        for stream in list(self._open_watches):
            stream.close()

    # -- discovery ------------------------------------------------------------------------------------

    async def _version(self, request: web.Request) -> web.Response:
        """k8s.io/apiserver/pkg/server/routes/version.go: the server's version.Info."""
        return _json(discovery.SERVER_VERSION)

    async def _ok(self, request: web.Request) -> web.Response:
        """k8s.io/apiserver/pkg/server/healthz/healthz.go: ``ok`` while every check passes."""
        return web.Response(text="ok")

    async def _core_versions(self, request: web.Request) -> web.Response:
        """k8s.io/apiserver/pkg/endpoints/discovery/legacy.go: the legacy ``/api`` APIVersions."""
        return _json(discovery.core_api_versions(request.host))

    async def _core_resources(self, request: web.Request) -> web.Response:
        """k8s.io/apiserver/pkg/endpoints/discovery/version.go: the core APIResourceList."""
        return _json(discovery.api_resource_list("", "v1", self._store.resource_types()))

    async def _groups(self, request: web.Request) -> web.Response:
        """k8s.io/apiserver/pkg/endpoints/discovery/root.go: every named group's APIGroup."""
        return _json(discovery.api_group_list(self._store.resource_types()))

    async def _group(self, request: web.Request) -> web.Response:
        """k8s.io/apiserver/pkg/endpoints/discovery/group.go: one APIGroup, 404 for a group nobody serves."""
        group = discovery.api_group(request.match_info["group"], self._store.resource_types())
        return _error(errors.resource_not_found()) if group is None else _json(group)

    async def _group_resources(self, request: web.Request) -> web.Response:
        """k8s.io/apiserver/pkg/endpoints/discovery/version.go: one group version's resources."""
        group, version = request.match_info["group"], request.match_info["version"]
        resources = discovery.api_resource_list(group, version, self._store.resource_types())
        return _json(resources) if resources["resources"] else _error(errors.resource_not_found())

    async def _openapi_v2(self, request: web.Request) -> web.Response:
        """kube-openapi 1.21 pkg/handler/handler.go: the first Accept clause (by quality) naming JSON or the
        protobuf form wins, else 406; the body goes out through Go's ``http.ServeContent``, which honours
        ``If-None-Match`` and, the path having no extension, sniffs the Content-Type (``text/plain`` for the
        JSON, ``application/octet-stream`` for the protobuf)."""
        media_type = openapi.negotiate(request.headers.get("Accept", ""))
        if media_type is None:
            return web.Response(status=406, headers={"Vary": "Accept"})
        body, etag = self._openapi.render(self._store.resource_types(), self._crds(), media_type)
        headers = {"Vary": "Accept", "Etag": etag}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        sniffed = "application/octet-stream" if media_type == openapi_proto.MEDIA_TYPE else "text/plain"
        return web.Response(
            body=body,
            headers=headers,
            content_type=sniffed,
            charset="utf-8" if sniffed == "text/plain" else None,
        )

    def _crds(self) -> list[JsonObject]:
        try:
            return self._store.list("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, None, None)
        except KubeError:
            return []  # a store serving no CustomResourceDefinitions

    def _maybe_table(
        self, request: web.Request, rt: ResourceType, objects: list[JsonObject], rv: str
    ) -> JsonObject | None:
        """The objects as a ``Table`` when the client asked for one (``kubectl get``), else None."""
        version = tables.table_version(request.headers.get("Accept", ""))
        if version is None:
            return None
        return tables.table(version, tables.columns_for(rt, self._crds()), objects, rv)

    # -- resources ------------------------------------------------------------------------------------

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        group = request.match_info.get("group", "")
        version = request.match_info.get("version", "v1")
        try:
            target = resolve(self._store, group, version, request.match_info["tail"])
            verb = self._verb(request, target)
            allowed = (
                SUBRESOURCE_VERBS[target.subresource] if target.subresource else target.resource_type.verbs
            )
            if verb not in allowed:
                raise errors.method_not_allowed()
            return await self._dispatch(request, target, verb)
        except KubeError as error:
            return _error(error)

    @staticmethod
    def _verb(request: web.Request, target: Target) -> str:
        collection = target.name is None
        if request.method == "GET":
            return ("watch" if _flag(request, "watch") else "list") if collection else "get"
        if request.method == "POST" and (collection or target.subresource is not None):
            return "create"
        if request.method in ("PUT", "PATCH") and not collection:
            return "update" if request.method == "PUT" else "patch"
        if request.method == "DELETE" and target.subresource is None:
            return "deletecollection" if collection else "delete"
        raise errors.method_not_allowed()

    async def _dispatch(self, request: web.Request, target: Target, verb: str) -> web.StreamResponse:
        dry_run = request.query.getall("dryRun", [])
        if verb in ("delete", "deletecollection"):  # kubectl sends it in the DeleteOptions body
            dry_run = (await self._delete_options(request)).get("dryRun") or dry_run
        if dry_run and verb in _DRY_RUN_OPTIONS:
            return await self._dry_run(request, target, verb, dry_run)
        return await self._handle(request, target, verb)

    async def _dry_run(
        self, request: web.Request, target: Target, verb: str, values: list[str]
    ) -> web.StreamResponse:
        """``dryRun=All``: the write is defaulted, admitted and validated and answered, then forgotten
        (k8s.io/apiserver/pkg/registry/generic/registry/dryrun.go). The answer carries what etcd would
        not have assigned: no resourceVersion for a create, the current one for an update or delete."""
        if any(value != "All" for value in values):
            # k8s.io/apimachinery/pkg/apis/meta/v1/validation ValidateDryRun
            given = "[]string{" + ", ".join(json.dumps(value) for value in values) + "}"
            options = _DRY_RUN_OPTIONS[verb]
            raise errors.invalid(
                "meta.k8s.io", options, "", "dryRun", f"Unsupported value: {given}", 'supported values: "All"'
            )
        rt = target.resource_type
        current_version = None
        if target.name is not None:
            try:
                current = self._store.get(rt.api_version, rt.kind, target.namespace, target.name)
                current_version = current["metadata"].get("resourceVersion")
            except KubeError:
                pass  # the handler answers the NotFound
        await request.read()  # now, so that nothing else runs on the loop until forget() is called
        forget = self._store.begin_dry_run()
        try:
            response = await self._handle(request, target, verb)
        finally:
            forget()
        if not isinstance(response, web.Response) or response.content_type != "application/json":
            return response
        answer = json.loads(response.body)  # type: ignore[arg-type]
        metadata = answer.get("metadata") if answer.get("kind") != "Status" else None
        if isinstance(metadata, dict) and "resourceVersion" in metadata:
            if current_version is None:
                del metadata["resourceVersion"]
            else:
                metadata["resourceVersion"] = current_version
        return _json(answer, response.status)

    async def _handle(self, request: web.Request, target: Target, verb: str) -> web.StreamResponse:
        handlers = {
            "get": self._get,
            "list": self._list,
            "watch": self._watch,
            "create": self._create,
            "update": self._update,
            "patch": self._patch,
            "delete": self._delete,
            "deletecollection": self._delete_collection,
        }
        return await handlers[verb](request, target)

    async def _get(self, request: web.Request, target: Target) -> web.StreamResponse:
        """k8s.io/apiserver/pkg/endpoints/handlers/get.go ``GetResource`` (a Table when asked for one:
        handlers/response.go), or a pod's log (:meth:`_log`)."""
        rt, name = target.resource_type, str(target.name)
        if target.subresource == "log":
            return await self._log(request, str(target.namespace), name)
        if target.subresource == "scale":
            return _json(scale.scale_of(self._store.get(rt.api_version, rt.kind, target.namespace, name)))
        obj = self._store.get(rt.api_version, rt.kind, target.namespace, name)
        as_table = self._maybe_table(request, rt, [obj], str(obj["metadata"].get("resourceVersion", "")))
        return _json(obj if as_table is None else as_table)

    async def _log(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        """A container's log (:mod:`.pod_logs`): refused before it starts, followed with ``follow=true``."""
        pod = self._store.get("v1", "Pod", namespace, name)
        container = pod_logs.container_name(pod, request.query.get("container"))
        text = self._store.pod_log(namespace, name, container or None)
        if not pod_logs.scheduled(pod):
            return web.Response(text="", content_type="text/plain")
        pod_logs.check_started(pod, container)
        shown = pod_logs.tail(text, request.query.get("tailLines"))
        if not _flag(request, "follow"):
            return web.Response(text=shown, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            await response.write(shown.encode())
            async for more in pod_logs.follow(self._store, namespace, name, container, len(text)):
                await response.write(more.encode())
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away
        return response

    async def _list(self, request: web.Request, target: Target) -> web.StreamResponse:
        """k8s.io/apiserver/pkg/endpoints/handlers/get.go ``ListResource``: a ``<Kind>List`` at the current
        resourceVersion, or a Table (handlers/response.go)."""
        rt = target.resource_type
        items = self._store.list(
            rt.api_version,
            rt.kind,
            target.namespace,
            request.query.get("labelSelector"),
            request.query.get("fieldSelector"),
        )
        resource_version = str(self._store.resource_version)
        as_table = self._maybe_table(request, rt, items, resource_version)
        if as_table is not None:
            return _json(as_table)
        if rt.builtin:  # typed lists of built-in resources leave out each item's apiVersion and kind
            items = [{k: v for k, v in item.items() if k not in ("apiVersion", "kind")} for item in items]
        return _json(
            {
                "kind": rt.list_kind_name,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": resource_version},
                "items": items,
            }
        )

    async def _create(self, request: web.Request, target: Target) -> web.StreamResponse:
        """k8s.io/apiserver/pkg/endpoints/handlers/create.go: 201 with the stored object (a TokenRequest or
        TokenReview is answered, not stored)."""
        rt = target.resource_type
        body = await _read_object(request, builtin=rt.builtin)
        if target.subresource == "token":
            answer = self._authenticator.request_token(str(target.namespace), str(target.name), body)
            return _json(answer, 201)
        if rt.plural == "tokenreviews":
            return _json(self._authenticator.review(body), 201)
        self._check_body(target, body)
        if (
            rt.api_version == "v1"
            and rt.kind == "ConfigMap"
            and str(target.namespace).startswith("pr-")
            and self._faults.active("configmap-data-dropped", about=str(target.namespace))
        ):
            body.pop("data", None)  # fault: a mutating admission policy strips the data
        return _json(self._store.create(body), 201)

    def _check_body(self, target: Target, body: JsonObject) -> None:
        """Fill in and cross-check what the URL says about the object, as the apiserver does."""
        rt = target.resource_type
        body.setdefault("apiVersion", rt.api_version)
        body.setdefault("kind", rt.kind)
        if body["apiVersion"] != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({body['apiVersion']}) does not match the expected API version "
                f"({rt.api_version})"
            )
        if body["kind"] != rt.kind:
            raise errors.bad_request(
                f"the kind in the data ({body['kind']}) does not match the expected kind ({rt.kind})"
            )
        metadata = body.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise errors.bad_request("metadata must be an object")
        if (
            target.namespace is not None
            and metadata.setdefault("namespace", target.namespace) != target.namespace
        ):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        if target.name is not None and metadata.setdefault("name", target.name) != target.name:
            given = metadata["name"]
            raise errors.bad_request(
                f"the name of the object ({given}) does not match the name on the URL ({target.name})"
            )

    async def _update(self, request: web.Request, target: Target) -> web.StreamResponse:
        """k8s.io/apiserver/pkg/endpoints/handlers/update.go: PUT of the object or of its status."""
        body = await _read_object(request, builtin=target.resource_type.builtin)
        if target.subresource == "scale":
            rt = target.resource_type
            return _json(scale.rescale(self._store, rt, target.namespace, str(target.name), body, None))
        self._check_body(target, body)
        if target.subresource == "status":
            return _json(self._store.update_status(body))
        return _json(self._store.replace(body))

    async def _patch(self, request: web.Request, target: Target) -> web.StreamResponse:
        """k8s.io/apiserver/pkg/endpoints/handlers/patch.go: JSON, merge and (built-in kinds) strategic merge
        patches; other media types are a 415."""
        rt = target.resource_type
        if _content_type(request) not in PATCH_TYPES:
            raise errors.unsupported_media_type(PATCH_TYPES)
        patch = await _read_json(request)
        if target.subresource == "scale":
            patch_type = _content_type(request)
            return _json(
                scale.rescale(self._store, rt, target.namespace, str(target.name), patch, patch_type)
            )
        patched = self._store.patch(
            rt.api_version,
            rt.kind,
            target.namespace,
            str(target.name),
            patch,
            _content_type(request),
            subresource=target.subresource,
        )
        return _json(patched)

    async def _delete_options(self, request: web.Request) -> JsonObject:
        options = await _read_json(request) if request.body_exists else None
        options = options if isinstance(options, dict) else {}
        if "propagationPolicy" in request.query:
            options["propagationPolicy"] = request.query["propagationPolicy"]
        return options

    async def _delete(self, request: web.Request, target: Target) -> web.StreamResponse:
        """k8s.io/apiserver/pkg/endpoints/handlers/delete.go ``DeleteResource``: the object (or a Status for
        the kinds that answer one), with deletionTimestamp while finalizers hold it."""
        rt = target.resource_type
        options = await self._delete_options(request)
        deleted = self._store.delete(
            rt.api_version,
            rt.kind,
            target.namespace,
            str(target.name),
            orphan_dependents=options.get("propagationPolicy") == "Orphan",
            preconditions=options.get("preconditions"),
        )
        pending = "deletionTimestamp" in deleted["metadata"]
        return _json(deleted if pending or rt.delete_returns_object else _success_status(rt, deleted))

    async def _delete_collection(self, request: web.Request, target: Target) -> web.StreamResponse:
        """k8s.io/apiserver/pkg/endpoints/handlers/delete.go ``DeleteCollection``: the deleted objects."""
        rt = target.resource_type
        deleted = self._store.delete_collection(
            rt.api_version,
            rt.kind,
            target.namespace,
            request.query.get("labelSelector"),
            request.query.get("fieldSelector"),
        )
        metadata = {"resourceVersion": str(self._store.resource_version)}
        return _json(
            {"kind": rt.list_kind_name, "apiVersion": rt.api_version, "metadata": metadata, "items": deleted}
        )

    # -- watch ----------------------------------------------------------------------------------------

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        """k8s.io/apiserver/pkg/endpoints/handlers/watch.go: newline-delimited events until the timeout."""
        rt = target.resource_type
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
        )
        response.enable_chunked_encoding()
        timeout = _watch_timeout(request)
        try:
            stream = self._store.watch(
                rt.api_version,
                rt.kind,
                target.namespace,
                request.query.get("resourceVersion"),
                request.query.get("labelSelector"),
                request.query.get("fieldSelector"),
            )
        except KubeError as error:
            if error.code != 410:
                raise
            await response.prepare(request)  # the apiserver reports an expired resourceVersion in-stream
            await response.write(json.dumps({"type": "ERROR", "object": error.status()}).encode() + b"\n")
            await response.write_eof()
            return response
        self._open_watches.add(stream)
        try:
            await response.prepare(request)
            render = self._watch_rendering(request, rt)
            await self._pump(
                request, response, stream, timeout, _flag(request, "allowWatchBookmarks"), render
            )
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away
        finally:
            stream.close()
            self._open_watches.discard(stream)
        return response

    def _watch_rendering(
        self, request: web.Request, rt: ResourceType
    ) -> Callable[[str, JsonObject], JsonObject]:
        """How each event's object goes out: as is, or (``kubectl get -w``) as a one-row Table, the column
        definitions in the first event only (k8s.io/apiserver/pkg/endpoints/handlers/watch.go with
        ``tableOptions.NoHeaders`` set after it)."""
        version = tables.table_version(request.headers.get("Accept", ""))
        if version is None:
            return lambda event_type, obj: obj
        columns = tables.columns_for(rt, self._crds())
        headers_sent = False

        def as_table(event_type: str, obj: JsonObject) -> JsonObject:
            nonlocal headers_sent
            if event_type not in ("ADDED", "MODIFIED", "DELETED"):
                return obj
            rendered = tables.table(version, columns, [obj], str(obj["metadata"].get("resourceVersion", "")))
            if headers_sent:
                rendered["columnDefinitions"] = None
            headers_sent = True
            return rendered

        return as_table

    async def _pump(
        self,
        request: web.Request,
        response: web.StreamResponse,
        stream: WatchStream,
        timeout: float,
        bookmarks: bool,
        render: Callable[[str, JsonObject], JsonObject],
    ) -> None:
        """Copy events to the client until the timeout, the client leaving, or the stream closing."""
        clock = asyncio.get_running_loop().time
        deadline = clock() + timeout
        next_bookmark = _next_bookmark(clock(), deadline) if bookmarks else math.inf
        while not stream.closed:
            now = clock()
            if now >= deadline or request.transport is None or request.transport.is_closing():
                return
            if now >= next_bookmark:
                stream.bookmark()
                next_bookmark = _next_bookmark(now, deadline)
            event = await stream.next_event(min(deadline, next_bookmark, now + LIVENESS_CHECK_S) - now)
            if event is not None:
                rendered = {"type": event.type, "object": render(event.type, event.object)}
                line = json.dumps(rendered, separators=(",", ":"))
                await response.write(line.encode() + b"\n")
