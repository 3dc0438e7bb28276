"""A runtime cluster through the official kubernetes client, for any kind the cluster serves.

Kinds are resolved by API discovery (``/api/v1``, ``/apis/<group>/<version>``), as kubectl resolves them, so
Tekton and Argo Events resources need no generated models: objects come back as the JSON the API server
sent. Watches use ``kubernetes.watch.Watch`` and continue from the last ``resourceVersion`` seen; when the
server answers 410 Gone the collection is listed again and the differences are reported as events.

:class:`ClusterClaim` is a run's claim on a runtime cluster (a Lease), for runs that share one world.
"""

from __future__ import annotations

import builtins
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import config, watch
from kubernetes.client.exceptions import ApiException

from nautes_e2e.clients.errors import ServiceUnreachable, no_reply_reason
from nautes_e2e.clients.transient import SAFE_METHODS, RetryLog, RetryPolicy, call_with_retries
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
    """One cluster, addressed by a kubeconfig file (its current context).

    A GET (watches too) answered 502/503/504 or reset is sent again (:mod:`~nautes_e2e.clients.transient`),
    each resend told to ``retries``; writes never are: a create could be made twice, and a replace or a
    delete naming a ``resourceVersion`` that landed would come back as a false 409 Conflict."""

    def __init__(self, kubeconfig: Path, retries: RetryLog | None = None) -> None:
        self.retries = RetryLog() if retries is None else retries
        self._transient = RetryPolicy()
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

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``obj`` (with apiVersion, kind and metadata) to its collection; the object as created. An
        object of that name already there raises :class:`KubeError` 409 (``AlreadyExists``)."""
        metadata = obj.get("metadata") or {}
        resource = self.resource_type(str(obj["apiVersion"]), str(obj["kind"]))
        return self._json("POST", resource.collection(metadata.get("namespace")), body=dict(obj))

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT ``obj`` over the object of its name; the object as stored. With ``metadata.resourceVersion``
        the API server refuses (:class:`KubeError` 409 ``Conflict``) if the object changed since that
        version was read: optimistic concurrency, so that of two writers one wins and the other learns."""
        metadata = obj.get("metadata") or {}
        resource = self.resource_type(str(obj["apiVersion"]), str(obj["kind"]))
        path = resource.item(str(metadata["name"]), metadata.get("namespace"))
        return self._json("PUT", path, body=dict(obj))

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
    ) -> bool:
        """Delete the object; False if it was not there (404). With ``resource_version`` only that version
        is deleted: if it changed since, the API server refuses (:class:`KubeError` 409 ``Conflict``)."""
        path = self.resource_type(api_version, kind).item(name, namespace)
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if resource_version is not None:
            options["preconditions"] = {"resourceVersion": resource_version}
        try:
            self._call("DELETE", path, body=options)
        except KubeError as error:
            if error.status == 404:
                return False
            raise
        return True

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

        def send_once() -> Any:
            response = self._api.call_api(*request, _request_timeout=timeout)
            if read:
                response.read()
            return response

        try:
            if method not in SAFE_METHODS:
                response = send_once()
            else:
                response = call_with_retries(
                    self._transient,
                    self.retries,
                    send_once,
                    status_of=lambda response: int(response.status),
                    release=lambda response: response.response.release_conn(),
                    service="Kubernetes API",
                    method=method,
                    path=path,
                )
        except urllib3.exceptions.HTTPError as error:
            connect_s = timeout[0] if isinstance(timeout, tuple) else timeout
            reason = no_reply_reason(error, timeout_s=connect_s, tls_hint=TLS_HINT)
            raise ServiceUnreachable("Kubernetes API", self.endpoint, f"{method} {path}", reason) from None
        if not read:
            return response
        if not 200 <= response.status <= 299:
            status_body = _json_object(bytes(response.data or b"")) or {}
            message = str(status_body.get("message") or bytes(response.data or b"").decode(errors="replace"))
            raise KubeError(
                f"{method} {path}", response.status, str(status_body.get("reason") or ""), message
            )
        return response


LEASE_API_VERSION = "coordination.k8s.io/v1"
#: Where a run's claim on a cluster lives: one Lease per cluster, so that one run at a time holds it.
CLAIM_NAMESPACE = "default"
CLAIM_LEASE = "nautes-e2e-runtime-claim"
#: How long a claim lasts unless renewed: a run killed outright (SIGKILL) holds the cluster no longer.
CLAIM_DURATION_S = 60
#: How often a live run renews its claim: a quarter of its duration, so three renewals in a row may fail
#: (an API server restarting) before the claim lapses.
CLAIM_RENEW_S = CLAIM_DURATION_S / 4


class NoFreeCluster(Exception):
    """No runtime cluster of the target could be claimed for the run: the text names each cluster, what
    keeps it from this run (another run's registration or live claim) and the remedy."""


@dataclass(frozen=True)
class ClaimHolder:
    """Who holds a claim (the Lease's ``holderIdentity``) and until when, unless renewed: ``renewTime``
    (else ``acquireTime``, else the Lease's creation) plus ``leaseDurationSeconds``."""

    identity: str
    expires: datetime | None  # None: the Lease says neither when it was renewed nor for how long

    def expired(self, now: datetime) -> bool:
        return self.expires is None or self.expires <= now

    def __str__(self) -> str:
        until = f"until {self.expires:%Y-%m-%dT%H:%M:%SZ}" if self.expires else "with no expiry recorded"
        return f"{self.identity} ({until} unless renewed)"


class ClusterClaim:
    """A run's claim on a runtime cluster: a ``coordination.k8s.io/v1`` Lease in the cluster itself.

    Runs that share a world must not share a runtime cluster (Nautes v0.4.x lets one Kubernetes cluster
    carry one registration), and they may start at the same moment: the Lease makes the choice atomic. Its
    create succeeds for one run only (409 ``AlreadyExists`` for the others), and it is taken over only
    through a replace that names the ``resourceVersion`` read (409 ``Conflict`` for the slower of two), the
    way client-go's leader election uses a Lease (``k8s.io/client-go/tools/leaderelection``,
    ``resourcelock/leaselock.go``). The holder renews it in the background while the run lives
    (:meth:`renew_in_background`); one that stopped renewing (a run killed outright) has let it expire, and
    the next run takes it over. Expiry is judged from ``renewTime`` as the holder wrote it: the runs' clocks
    must agree within a few seconds, far less than :data:`CLAIM_DURATION_S` (as NTP keeps them).

    ``kube`` is the claim's own client: the renewal thread uses it, nothing else should.
    """

    def __init__(
        self,
        kube: KubeClient,
        holder: str,
        *,
        lease: str = CLAIM_LEASE,
        namespace: str = CLAIM_NAMESPACE,
        duration_s: int = CLAIM_DURATION_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.holder = holder
        self.duration_s = duration_s
        #: What went wrong while renewing (one line each, redacted), for the run to report.
        self.problems: list[str] = []
        self._kube = kube
        self._lease = lease
        self._namespace = namespace
        self._clock = clock
        self._stop = threading.Event()
        self._renewing: threading.Thread | None = None

    @property
    def where(self) -> str:
        """``Lease <namespace>/<name> at <API server>``."""
        return f"Lease {self._namespace}/{self._lease} at {self._kube.endpoint}"

    def take(self) -> ClaimHolder | None:
        """Claim the cluster: ``None`` once this run holds the Lease (created; or renewed, as it was this
        holder's already; or taken over from a holder that let it expire or released it), else who holds
        it. Of runs taking it at the same moment, exactly one gets ``None``."""
        holder: ClaimHolder | None = None
        for _ in range(3):  # a Lease deleted or taken over between two requests: look again
            now = self._clock()
            try:
                self._kube.create(self._lease_object(now, now, transitions=0))
                return None
            except KubeError as error:
                if error.status != 409:
                    raise
            current = self.get_lease()
            if current is None:
                continue
            holder = _claim_holder(current)
            if holder.identity not in ("", self.holder) and not holder.expired(now):
                return holder
            if self._replace(current, now):
                return None
        return holder or ClaimHolder("another run (the Lease changed under every read)", None)

    def renew_in_background(self, every_s: float = CLAIM_RENEW_S) -> None:
        """Renew the claim every ``every_s`` until :meth:`release` or :meth:`abandon` (a daemon thread: a
        run that ends without either stops renewing with its process, and the claim expires)."""
        if self._renewing is not None:
            return
        self._renewing = threading.Thread(target=self._renew_until_stopped, args=(every_s,), daemon=True)
        self._renewing.name = f"renew {self.where}"
        self._renewing.start()

    def release(self) -> None:
        """Stop renewing and delete the Lease if this run still holds it; a Lease changed meanwhile (taken
        over: this run let it expire) is left to its new holder."""
        self.abandon()
        current = self.get_lease()
        if current is None or _claim_holder(current).identity != self.holder:
            return
        version = str(current["metadata"].get("resourceVersion") or "") or None
        try:
            self._kube.delete(
                LEASE_API_VERSION, "Lease", self._lease, self._namespace, resource_version=version
            )
        except KubeError as error:
            if error.status != 409:
                raise

    def abandon(self) -> None:
        """Stop renewing and leave the Lease to expire (a run that keeps its environment: what it left,
        its registration above all, keeps the cluster from the next runs, not the claim)."""
        self._stop.set()
        if self._renewing is not None:
            self._renewing.join(REQUEST_TIMEOUT_S)  # a renewal under way ends with its request
            self._renewing = None

    def get_lease(self) -> dict[str, Any] | None:
        """The Lease as the API server has it, or None."""
        return self._kube.get(LEASE_API_VERSION, "Lease", self._lease, self._namespace)

    # -- internals --------------------------------------------------------------------------------------

    def _renew_until_stopped(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                if not self._renew():
                    return
            except Exception as error:  # kept for the report; the next renewal may succeed
                self.problems.append(redact(f"could not renew the claim ({self.where}): {error}"))

    def _renew(self) -> bool:
        """One renewal; False once the Lease is no longer this run's (nothing left to renew)."""
        current = self.get_lease()
        if current is None or (holder := _claim_holder(current)).identity != self.holder:
            taken = "deleted" if current is None else f"taken by {holder}"
            self.problems.append(f"the claim ({self.where}) was {taken} while the run used the cluster")
            return False
        self._replace(current, self._clock(), keep_acquired=True)  # a lost race is renewed next time
        return True

    def _replace(self, current: Mapping[str, Any], now: datetime, *, keep_acquired: bool = False) -> bool:
        """Write this run's claim over ``current``; False if the Lease changed since it was read."""
        spec = current.get("spec") or {}
        transitions = int(spec.get("leaseTransitions") or 0)
        if keep_acquired:
            acquired = _parse_time(spec.get("acquireTime")) or now
        else:  # a new holder: client-go counts the transitions from one holder to another
            acquired = now
            transitions += 1 if spec.get("holderIdentity") not in (None, "", self.holder) else 0
        obj = self._lease_object(acquired, now, transitions=transitions)
        obj["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
        try:
            self._kube.replace(obj)
        except KubeError as error:
            if error.status == 409:
                return False
            raise
        return True

    def _lease_object(self, acquired: datetime, renewed: datetime, *, transitions: int) -> dict[str, Any]:
        return {
            "apiVersion": LEASE_API_VERSION,
            "kind": "Lease",
            "metadata": {"name": self._lease, "namespace": self._namespace},
            "spec": {
                "holderIdentity": self.holder,
                "leaseDurationSeconds": self.duration_s,
                "acquireTime": _micro_time(acquired),
                "renewTime": _micro_time(renewed),
                "leaseTransitions": transitions,
            },
        }


def _claim_holder(lease: Mapping[str, Any]) -> ClaimHolder:
    spec = lease.get("spec") or {}
    renewed = (
        _parse_time(spec.get("renewTime"))
        or _parse_time(spec.get("acquireTime"))
        or _parse_time((lease.get("metadata") or {}).get("creationTimestamp"))
    )
    duration = spec.get("leaseDurationSeconds")
    expires = renewed + timedelta(seconds=duration) if renewed and isinstance(duration, int) else None
    return ClaimHolder(str(spec.get("holderIdentity") or ""), expires)


def _micro_time(moment: datetime) -> str:
    """A ``metav1.MicroTime`` as the API server writes one (RFC 3339, microseconds, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
