"""A runtime cluster through the official kubernetes client, for any kind the cluster serves.

Kinds are resolved by API discovery (``/api/v1``, ``/apis/<group>/<version>``), as kubectl resolves them, so
Tekton and Argo Events resources need no generated models: objects come back as the JSON the API server
sent. Watches use ``kubernetes.watch.Watch`` and continue from the last ``resourceVersion`` seen; when the
server answers 410 Gone the collection is listed again and the differences are reported as events.
"""

from __future__ import annotations

import builtins
import json
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import config, watch
from kubernetes.client.exceptions import ApiException

from nautes_e2e.clients.errors import ServiceUnreachable, no_reply_reason
from nautes_e2e.secrets import redact

WATCH_REQUEST_S = 60  # one watch request's server-side timeout; the stream is resumed after it
REQUEST_TIMEOUT_S = 30.0
_GONE = 410
TLS_HINT = (
    "the kubeconfig's certificate-authority(-data) must hold the CA that signed the API server's certificate"
)


class KubeError(Exception):
    """The API server refused a request; ``message`` is the ``Status`` message (redacted). An API server
    that does not answer raises :class:`~nautes_e2e.clients.errors.ServiceUnreachable`."""

    def __init__(self, what: str, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        self.message = redact(message)
        detail = f"{status} {reason}".strip() + (f": {message}" if message else "")
        super().__init__(redact(f"{what}: {detail}"))


@dataclass(frozen=True)
class ResourceType:
    """What discovery says about a kind: the path segment (plural) and whether it lives in namespaces."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def base(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"

    def collection(self, namespace: str | None) -> str:
        if self.namespaced and namespace:
            return f"{self.base}/namespaces/{namespace}/{self.plural}"
        return f"{self.base}/{self.plural}"

    def item(self, name: str, namespace: str | None) -> str:
        if self.namespaced and not namespace:
            raise ValueError(f"{self.kind} is namespaced: give a namespace to address {name}")
        return f"{self.collection(namespace)}/{name}"


class KubeClient:
    """One cluster, addressed by a kubeconfig file (its current context)."""

    def __init__(self, kubeconfig: Path) -> None:
        self._api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), persist_config=False
        )
        #: The API server's URL, as the kubeconfig's current context names it.
        self.endpoint = str(self._api.configuration.host)
        self._types: dict[tuple[str, str], ResourceType] = {}

    def close(self) -> None:
        self._api.close()

    def version(self) -> dict[str, Any]:
        """``GET /version`` (``gitVersion``, ``major``, ``minor``, …)."""
        return self._json("GET", "/version")

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The object, or None when the API server says 404."""
        path = self.resource_type(api_version, kind).item(name, namespace)
        try:
            return self._json("GET", path)
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """A collection's items (every namespace when ``namespace`` is None), with kind and apiVersion."""
        return self._list(self.resource_type(api_version, kind), namespace, label_selector)[0]

    def apply_configmap(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        """Create the ConfigMap, or replace it when it exists (``kubectl create configmap`` + re-runs)."""
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
        body["data"] = dict(data)
        configmaps = self.resource_type("v1", "ConfigMap")
        try:
            self._json("POST", configmaps.collection(namespace), body=body)
        except KubeError as error:
            if error.status != 409:
                raise
            self._json("PUT", configmaps.item(name, namespace), body=body)

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        timeout_s: float,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Current objects as ``ADDED``, then every change, until ``timeout_s`` has passed.

        The watch is resumed from the last ``resourceVersion`` whenever the server ends a request; after
        410 Gone the collection is listed again: objects that changed meanwhile are yielded ``MODIFIED``
        (``ADDED`` if new) and objects that vanished ``DELETED``. Stop iterating to stop watching.
        """
        resource = self.resource_type(api_version, kind)
        deadline = time.monotonic() + timeout_s
        items, resource_version = self._list(resource, namespace, label_selector)
        known = {_key(item): item for item in items}
        for item in items:
            yield "ADDED", item
        while (remaining := deadline - time.monotonic()) > 0:
            stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                self._watch_request,
                resource.collection(namespace),
                label_selector=label_selector,
                resource_version=resource_version,
                timeout_seconds=max(1, math.ceil(min(remaining, WATCH_REQUEST_S))),
                allow_watch_bookmarks=True,
            )
            try:
                for event in stream:
                    kind_of_event, obj = str(event["type"]), event["raw_object"]
                    resource_version = str(obj.get("metadata", {}).get("resourceVersion") or resource_version)
                    if kind_of_event == "BOOKMARK":
                        continue
                    if kind_of_event == "DELETED":
                        known.pop(_key(obj), None)
                    else:
                        known[_key(obj)] = obj
                    yield kind_of_event, obj
                    if time.monotonic() >= deadline:
                        return
            except ApiException as error:
                if error.status != _GONE:
                    what = f"watch {resource.collection(namespace)}"
                    raise KubeError(
                        what, error.status or 0, str(error.reason or ""), str(error.body or "")
                    ) from None
                items, resource_version = self._list(resource, namespace, label_selector)
                yield from _resync(known, items)
            except (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ProtocolError):
                pass  # the server went quiet past its own timeout: resume from the last resourceVersion
            finally:
                stream.close()

    def pod_log(self, namespace: str, pod: str, container: str | None = None) -> str:
        query = {"container": container} if container else {}
        response = self._call(
            "GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query=query, accept="*/*"
        )
        return bytes(response.data).decode(errors="replace")

    def events(self, namespace: str) -> builtins.list[dict[str, Any]]:
        return self.list("v1", "Event", namespace)

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        """Discovery for ``api_version``, cached per client."""
        if (api_version, kind) not in self._types:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            for resource in self._json("GET", base).get("resources", []):
                if "/" not in resource["name"]:  # skip subresources such as pods/log
                    found = ResourceType(
                        api_version, resource["kind"], resource["name"], resource["namespaced"]
                    )
                    self._types.setdefault((api_version, found.kind), found)
        try:
            return self._types[(api_version, kind)]
        except KeyError:
            raise KubeError(f"discovery of {api_version}", 404, "NotFound", f"no kind {kind}") from None

    # -- requests ---------------------------------------------------------------------------------------

    def _list(
        self, resource: ResourceType, namespace: str | None, label_selector: str | None
    ) -> tuple[builtins.list[dict[str, Any]], str]:
        query = {"labelSelector": label_selector} if label_selector else {}
        reply = self._json("GET", resource.collection(namespace), query=query)
        items = [
            {"apiVersion": resource.api_version, "kind": resource.kind, **item} for item in reply["items"]
        ]
        return items, str((reply.get("metadata") or {}).get("resourceVersion") or "")

    def _watch_request(
        self,
        path: str,
        *,
        watch: bool,
        _preload_content: bool,
        resource_version: str,
        timeout_seconds: int,
        label_selector: str | None,
        allow_watch_bookmarks: bool,
    ) -> Any:
        """What ``watch.Watch().stream`` calls: one watch request, returning the unread HTTP response."""
        query = {
            "watch": "true" if watch else "false",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
            "allowWatchBookmarks": "true" if allow_watch_bookmarks else "false",
            **({"labelSelector": label_selector} if label_selector else {}),
        }
        response = self._call(
            "GET", path, query=query, timeout=(10, timeout_seconds + 10), read=_preload_content
        )
        if not 200 <= response.status <= 299:
            raise ApiException(status=response.status, reason=response.reason)
        return response.response

    def _json(
        self, method: str, path: str, *, query: Mapping[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        response = self._call(method, path, query=query, body=body)
        reply = _json_object(bytes(response.data))
        if reply is None:
            raise KubeError(
                f"{method} {path}", response.status, "InvalidReply", "the reply is not a JSON object"
            )
        return reply

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        accept: str = "application/json",
        timeout: float | tuple[float, float] = REQUEST_TIMEOUT_S,
        read: bool = True,
    ) -> Any:
        headers = {"Accept": accept, **({"Content-Type": "application/json"} if body is not None else {})}
        request = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(*request, _request_timeout=timeout)
        except urllib3.exceptions.HTTPError as error:
            connect_s = timeout[0] if isinstance(timeout, tuple) else timeout
            reason = no_reply_reason(error, timeout_s=connect_s, tls_hint=TLS_HINT)
            raise ServiceUnreachable("Kubernetes API", self.endpoint, f"{method} {path}", reason) from None
        if not read:
            return response
        response.read()
        if not 200 <= response.status <= 299:
            status_body = _json_object(bytes(response.data or b"")) or {}
            message = str(status_body.get("message") or bytes(response.data or b"").decode(errors="replace"))
            raise KubeError(
                f"{method} {path}", response.status, str(status_body.get("reason") or ""), message
            )
        return response


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(data)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def _resync(
    known: dict[tuple[str, str], dict[str, Any]], items: list[dict[str, Any]]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Events that bring ``known`` in line with a fresh listing (after the watch history expired)."""
    current = {_key(item): item for item in items}
    for key, obj in list(known.items()):
        if key not in current:
            del known[key]
            yield "DELETED", obj
    for key, item in current.items():
        previous = known.get(key)
        known[key] = item
        if previous is None:
            yield "ADDED", item
        elif previous.get("metadata", {}).get("resourceVersion") != item.get("metadata", {}).get(
            "resourceVersion"
        ):
            yield "MODIFIED", item
