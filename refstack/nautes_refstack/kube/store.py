"""The object store behind one emulated cluster: etcd plus the apiserver's registry logic, in memory.

Other components of the reference stack (controllers, the pipeline executor) call it directly on the
stack's asyncio loop; the HTTP layer (:mod:`.api`) is a thin translation onto the same methods, so both
see the same objects, resourceVersions and watch events.

The store is synchronous and not thread-safe: call it from the loop that serves it. Objects go in and come
out as deep copies. One global counter provides ``resourceVersion`` for every mutation, and every mutation
is recorded in a bounded history that watches can resume from. Objects are keyed by
``(group, plural, namespace, name)``, so every served version of a resource sees the same objects, each
returned with the ``apiVersion`` that was asked for.

Behaviour copied from kube-apiserver, because controllers and clients depend on it:

* a write that changes nothing keeps the resourceVersion and emits no event;
* for resources with a ``status`` subresource, writes to the main resource ignore ``.status`` and
  :meth:`ObjectStore.update_status` changes nothing but ``.status``; ``metadata.generation`` counts changes
  outside ``metadata`` and (for those resources) ``status``;
* deleting an object with finalizers only sets ``deletionTimestamp``; the object goes away when an update
  empties ``metadata.finalizers``;
* deleting a Namespace marks it ``Terminating``, deletes everything in it, and removes it once empty;
* removing an object garbage-collects the objects whose ``ownerReferences`` all point at removed owners
  (synchronously, where the real garbage collector runs a moment later);
* every new Namespace gets a ``default`` ServiceAccount, as the service-account controller does;
* the cluster has one Ready Node (:mod:`.nodes`), and its custom resources are defined by
  CustomResourceDefinition objects: creating one serves its resources, deleting one deletes them
  (:mod:`.crds`).
"""

from __future__ import annotations

import builtins
import secrets
import string
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from nautes_refstack.kube import crd_schema, crds, errors, field_errors
from nautes_refstack.kube.admission import prepare_for_create, prepare_for_update, validate_name
from nautes_refstack.kube.crd_versions import convert, with_defaults
from nautes_refstack.kube.errors import JsonObject
from nautes_refstack.kube.json_copy import deep_copy
from nautes_refstack.kube.nodes import DEFAULT_NODE_NAME, node_manifest
from nautes_refstack.kube.patches import MERGE_PATCH, STRATEGIC_MERGE_PATCH, apply_patch
from nautes_refstack.kube.resource_type import ResourceType, split_api_version
from nautes_refstack.kube.resources import DEFAULT_RESOURCE_TYPES, INITIAL_NAMESPACES
from nautes_refstack.kube.selectors import FieldSelector, LabelSelector
from nautes_refstack.kube.services import (
    default_service,
    default_service_update,
    kubernetes_service,
    service_problems,
)
from nautes_refstack.kube.tokens import TokenSigner, service_account_claims
from nautes_refstack.kube.watch import (
    Change,
    WatchEvent,
    WatchFilter,
    WatchStream,
    served_view,
    stamp,
    with_resource_version,
)

DEFAULT_HISTORY_LIMIT = 10_000
_GENERATE_NAME_ALPHABET = string.ascii_lowercase + string.digits
_CUSTOM_RESOURCE_PATCH_TYPES = ("application/json-patch+json", MERGE_PATCH, "application/apply-patch+yaml")
_NAMESPACE_KEY = ("", "namespaces")
_SERVICE_KEY = ("", "services")
ObjectKey = tuple[str, str]  # (namespace or "", name)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata(obj: JsonObject) -> JsonObject:
    metadata = obj.get("metadata")
    if metadata is None:
        metadata = obj["metadata"] = {}
    if not isinstance(metadata, dict):
        raise errors.bad_request("metadata must be an object")
    return metadata


def _with_status(obj: JsonObject, status: Any) -> JsonObject:
    """``obj`` with ``status`` as its status (none at all for None), as a status write leaves it."""
    obj.pop("status", None)
    if status is not None:
        obj["status"] = deep_copy(status)
    return obj


def _owned_by(obj: JsonObject, uid: str) -> bool:
    """Whether one of ``obj``'s ``ownerReferences`` (it has some) names ``uid``."""
    return any(ref.get("uid") == uid for ref in obj["metadata"]["ownerReferences"])


def _content_without(obj: JsonObject, *ignored: str) -> JsonObject:
    return {
        key: value for key, value in obj.items() if key not in ("apiVersion", "kind", "metadata", *ignored)
    }


class ObjectStore:
    """All objects of one emulated cluster; see the module docstring for the semantics."""

    def __init__(
        self,
        resource_types: Iterable[ResourceType] = DEFAULT_RESOURCE_TYPES,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        node_name: str = DEFAULT_NODE_NAME,
    ) -> None:
        self._types_by_kind: dict[tuple[str, str, str], ResourceType] = {}
        self._types_by_plural: dict[tuple[str, str, str], ResourceType] = {}
        self._objects: dict[tuple[str, str], dict[ObjectKey, JsonObject]] = {}
        self._resource_version = 0
        self._history: deque[Change] = deque(maxlen=history_limit)
        self._forgotten_up_to = 0
        self._watchers: set[WatchStream] = set()
        self._pod_logs: dict[tuple[str, str], str] = {}
        self.token_signer = TokenSigner()
        for resource_type in resource_types:
            self.register(resource_type)
        for namespace in INITIAL_NAMESPACES:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        # The kubelet registers its Node, then posts its status (kubelet_node_status.go).
        node = node_manifest(node_name, _now())
        self.create({key: value for key, value in node.items() if key != "status"})
        self.update_status(node)
        self.create(kubernetes_service())
        for crd in crds.manifests_for(self.resource_types()):
            self.create(crd)

    # -- resource types -------------------------------------------------------------------------------

    def register(self, resource_type: ResourceType) -> None:
        """Serve a resource (again, for another version of it); its objects are shared across versions."""
        group, version = resource_type.group_version
        self._types_by_kind[(group, version, resource_type.kind)] = resource_type
        self._types_by_plural[(group, version, resource_type.plural)] = resource_type
        self._objects.setdefault(resource_type.storage_key, {})

    def unregister(self, resource_type: ResourceType) -> None:
        """Stop serving one version of a resource (its CRD is gone or no longer serves it)."""
        group, version = resource_type.group_version
        self._types_by_kind.pop((group, version, resource_type.kind), None)
        self._types_by_plural.pop((group, version, resource_type.plural), None)

    def resource_types(self) -> builtins.list[ResourceType]:
        """Every registered resource, in registration order (discovery lists them this way)."""
        return list(self._types_by_kind.values())

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        group, version = split_api_version(api_version)
        found = self._types_by_kind.get((group, version, kind))
        if found is None:
            raise errors.resource_not_found()
        return found

    def resource_type_for_path(self, group: str, version: str, plural: str) -> ResourceType:
        found = self._types_by_plural.get((group, version, plural))
        if found is None:
            raise errors.resource_not_found()
        return found

    @property
    def resource_version(self) -> int:
        """The newest resourceVersion handed out (what a List reports in ``metadata.resourceVersion``)."""
        return self._resource_version

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> JsonObject:
        rt = self.resource_type(api_version, kind)
        return stamp(rt, self._require(rt, namespace, name))

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[JsonObject]:
        """Objects of one kind sorted by namespace and name, as etcd orders keys (None: all namespaces)."""
        rt = self.resource_type(api_version, kind)
        watch_filter = self._filter(rt, namespace, label_selector, field_selector)
        return [stamp(rt, obj) for obj in self._scan(rt, watch_filter.namespace) if watch_filter.matches(obj)]

    def _filter(
        self, rt: ResourceType, namespace: str | None, label_selector: str | None, field_selector: str | None
    ) -> WatchFilter:
        return WatchFilter(
            rt,
            namespace if rt.namespaced else None,
            LabelSelector.parse(label_selector),
            FieldSelector.parse(field_selector, rt.field_labels),
        )

    def _scan(self, rt: ResourceType, namespace: str | None) -> Iterator[JsonObject]:
        objects = self._objects[rt.storage_key]
        for key in sorted(key for key in objects if namespace is None or key[0] == namespace):
            yield objects[key]

    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> ObjectKey:
        return ((namespace or "") if rt.namespaced else "", name)

    def _require(self, rt: ResourceType, namespace: str | None, name: str) -> JsonObject:
        found = self._objects[rt.storage_key].get(self._key(rt, namespace, name))
        if found is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return found

    # -- create ---------------------------------------------------------------------------------------

    def create(self, obj: JsonObject) -> JsonObject:
        """Store a new object; the server fills uid, resourceVersion, creationTimestamp and generation."""
        rt = self.resource_type(obj.get("apiVersion", ""), obj.get("kind", ""))
        new = deep_copy(obj)
        metadata = _metadata(new)
        namespace = self._namespace_for_create(rt, metadata)
        name = self._name_for_create(rt, metadata, namespace)
        for server_field in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            metadata.pop(server_field, None)
        metadata.update(uid=str(uuid.uuid4()), creationTimestamp=_now())
        if rt.has_generation:
            metadata["generation"] = 1
        prepare_for_create(rt, new)
        if rt.storage_key == _SERVICE_KEY:
            taken = {s.get("spec", {}).get("clusterIP") for s in self._objects[_SERVICE_KEY].values()}
            default_service(new, {ip for ip in taken if isinstance(ip, str)})
            self._refuse(rt, new, service_problems(new))
        if not rt.builtin:
            new = self._admit_custom_resource(rt, new)
            if self._terminating_crd(rt) is not None:
                # apiextensions-apiserver pkg/apiserver/customresource_handler.go serveResource
                message = "create not allowed while custom resource definition is terminating"
                raise errors.KubeError(
                    405, "MethodNotAllowed", message, {"group": rt.group, "kind": rt.plural}
                )
        if rt.storage_key == crds.STORAGE_KEY:
            new = self._admit_crd(rt, new)
            new["status"] = crds.initial_status(convert(new, "v1"))
        created = self._commit(rt, (namespace, name), new, None)
        if rt.storage_key == crds.STORAGE_KEY:
            self._run_crd_controllers(name)
        if rt.storage_key == _NAMESPACE_KEY:
            self.create(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "default", "namespace": name},
                }
            )
        return created

    def _namespace_for_create(self, rt: ResourceType, metadata: JsonObject) -> str:
        if not rt.namespaced:
            metadata.pop("namespace", None)
            return ""
        namespace = metadata.get("namespace") or ""
        if not namespace:
            raise errors.invalid(
                rt.group,
                rt.kind,
                metadata.get("name", ""),
                "metadata.namespace",
                "Required value",
                "namespace is required",
            )
        owner = self._objects[_NAMESPACE_KEY].get(("", namespace))
        if owner is None:
            raise errors.not_found("", "namespaces", namespace)
        if "deletionTimestamp" in owner["metadata"]:
            why = f"unable to create new content in namespace {namespace} because it is being terminated"
            raise errors.forbidden(rt.group, rt.plural, metadata.get("name", ""), why)
        return str(namespace)

    def _name_for_create(self, rt: ResourceType, metadata: JsonObject, namespace: str) -> str:
        if not metadata.get("name") and metadata.get("generateName"):
            objects = self._objects[rt.storage_key]
            while True:
                suffix = "".join(secrets.choice(_GENERATE_NAME_ALPHABET) for _ in range(5))
                candidate = f"{metadata['generateName']}{suffix}"
                if (namespace, candidate) not in objects:
                    metadata["name"] = candidate
                    break
        name = str(metadata.get("name") or "")
        validate_name(rt, name)
        if (namespace, name) in self._objects[rt.storage_key]:
            raise errors.already_exists(rt.group, rt.plural, name)
        return name

    # -- updates --------------------------------------------------------------------------------------

    def replace(self, obj: JsonObject) -> JsonObject:
        """PUT: replace an existing object (409 Conflict if ``metadata.resourceVersion`` is stale)."""
        rt = self.resource_type(obj.get("apiVersion", ""), obj.get("kind", ""))
        metadata = obj.get("metadata") or {}
        return self._write(
            rt, metadata.get("namespace"), metadata.get("name", ""), lambda _: obj, status_only=False
        )

    def update_status(self, obj: JsonObject) -> JsonObject:
        """PUT on ``/status``: only ``.status`` is taken from ``obj``; generation does not change."""
        rt = self.resource_type(obj.get("apiVersion", ""), obj.get("kind", ""))
        metadata = obj.get("metadata") or {}
        return self._write(
            rt, metadata.get("namespace"), metadata.get("name", ""), lambda _: obj, status_only=True
        )

    def patch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        patch: Any,
        patch_type: str = MERGE_PATCH,
        *,
        subresource: str | None = None,
    ) -> JsonObject:
        """PATCH (merge, strategic merge, or JSON patch; see :mod:`.patches`), on the object or its status."""
        rt = self.resource_type(api_version, kind)
        if patch_type == STRATEGIC_MERGE_PATCH and not rt.builtin:
            raise errors.unsupported_media_type(_CUSTOM_RESOURCE_PATCH_TYPES)

        def patched(current: JsonObject) -> JsonObject:
            return apply_patch(stamp(rt, current), patch, patch_type)

        return self._write(rt, namespace, name, patched, status_only=subresource == "status")

    def _write(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        propose: Callable[[JsonObject], JsonObject],
        *,
        status_only: bool,
    ) -> JsonObject:
        if status_only and not rt.has_status:
            raise errors.resource_not_found()
        current = self._require(rt, namespace, name)
        proposed = propose(current)
        # A status write keeps nothing of ``proposed`` but its status (copied by _with_status): only its
        # top level is copied, so that reading its metadata (or defaulting it) leaves the caller's alone.
        proposed = {**proposed} if status_only else deep_copy(proposed)
        proposed_metadata = _metadata(proposed)
        if proposed_metadata.get("name", name) != name:
            given = proposed_metadata.get("name")
            raise errors.bad_request(
                f"the name of the object ({given}) does not match the name on the URL ({name})"
            )
        stale = proposed_metadata.get("resourceVersion")
        if stale and stale != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.group, rt.plural, name, errors.STALE_OBJECT)
        if status_only:
            # the current object with the proposed status: its own status is not worth copying first
            unchanged = {key: value for key, value in current.items() if key != "status"}
            new = _with_status(deep_copy(unchanged), proposed.get("status"))
        else:
            new = _with_status(proposed, current.get("status") if rt.has_status else proposed.get("status"))
            prepare_for_update(rt, new)
            if rt.storage_key == _SERVICE_KEY:
                default_service_update(new, current)
                self._refuse(rt, new, service_problems(new))
            if rt.storage_key == crds.STORAGE_KEY:
                new = self._admit_crd(rt, new, current)
        if not rt.builtin:
            new = self._admit_custom_resource(rt, new)
        updated = self._update(rt, current, new)
        if rt.storage_key == crds.STORAGE_KEY:
            self._run_crd_controllers(name)
        return updated

    @staticmethod
    def _refuse(rt: ResourceType, obj: JsonObject, problems: builtins.list[field_errors.Violation]) -> None:
        """Raise the apiserver's 422 listing ``problems`` (if any) of ``obj``."""
        if problems:
            raise field_errors.invalid(rt.group, rt.kind, str(_metadata(obj).get("name", "")), problems)

    # -- custom resource definitions ------------------------------------------------------------------

    @staticmethod
    def _admit_crd(rt: ResourceType, crd: JsonObject, current: JsonObject | None = None) -> JsonObject:
        """Default and validate a CRD written as ``rt.version`` (kept in that version, as written), and
        an update of ``current`` against it."""
        defaulted = with_defaults(crd)
        crds.validate(convert(defaulted, "v1"), written_as=rt.version, created=current is None)
        if current is not None:
            crds.validate_update(convert(defaulted, "v1"), convert(current, "v1"))
        return defaulted

    def _admit_custom_resource(self, rt: ResourceType, obj: JsonObject) -> JsonObject:
        """Prune, default and validate a custom resource with its CRD's schema for ``rt``'s version
        (:mod:`.crd_schema`)."""
        crd = self._objects[crds.STORAGE_KEY].get(("", f"{rt.plural}.{rt.group}"))
        if crd is None:
            return obj
        spec = convert(crd, "v1")["spec"]
        version: JsonObject = next((v for v in spec["versions"] if v["name"] == rt.version), {})
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not schema:
            return obj
        if not spec.get("preserveUnknownFields"):
            obj = crd_schema.prune(obj, schema, root=True)
        crd_schema.with_defaults(obj, schema)
        problems = crd_schema.violations(obj, schema)
        self._refuse(rt, obj, problems)
        return obj

    def _run_crd_controllers(self, name: str) -> None:
        """What the naming and establishing controllers do once a CRD is written: accept its names (or
        not) and serve exactly the versions it serves."""
        stored = self._objects[crds.STORAGE_KEY].get(("", name))
        if stored is None:
            return
        rt = self._storage_type_of(stored)
        view = convert(stored, "v1")
        own_key = (view["spec"]["group"], view["spec"]["names"]["plural"])
        if "deletionTimestamp" not in stored["metadata"]:
            others = [t for t in self.resource_types() if t.storage_key != own_key]
            status = crds.accepted_status(view, crds.names_clash(view, others), _now())
            if status != view.get("status"):
                stored = self._update(rt, stored, {**deep_copy(stored), "status": status})
        served = crds.served_types(convert(stored, "v1"))
        for stale in [t for t in self.resource_types() if t.storage_key == own_key and t not in served]:
            self.unregister(stale)
        for resource_type in served:
            self.register(resource_type)

    def _storage_type_of(self, obj: JsonObject) -> ResourceType:
        group, version = split_api_version(obj["apiVersion"])
        return self._types_by_kind[(group, version, obj["kind"])]

    def _delete_crd(self, rt: ResourceType, current: JsonObject) -> JsonObject:
        """Mark the CRD terminating, then (the finalizing controller) delete its custom resources, stop
        serving them and drop the cleanup finalizer; the CRD goes once no other finalizer holds it."""
        marked = self._marked_for_deletion(rt, current)
        finalizers = marked["metadata"].setdefault("finalizers", [])
        if crds.CLEANUP_FINALIZER not in finalizers:
            finalizers.append(crds.CLEANUP_FINALIZER)
        marked["status"] = crds.terminating_status(convert(current, "v1"), _now())
        answer = self._commit(rt, self._key_of(current), marked, current)
        self._clean_up_crd(current["metadata"]["name"])
        return answer

    def _terminating_crd(self, rt: ResourceType) -> JsonObject | None:
        """The CRD behind custom resource ``rt`` if it is being deleted (its cleanup still pending)."""
        crd = self._objects[crds.STORAGE_KEY].get(("", f"{rt.plural}.{rt.group}"))
        if crd is None or crds.CLEANUP_FINALIZER not in (crd["metadata"].get("finalizers") or []):
            return None
        return crd if "deletionTimestamp" in crd["metadata"] else None

    def _clean_up_crd(self, name: str) -> None:
        """The finalizing controller: delete a terminating CRD's custom resources; once the last is gone
        (finalizers may hold some), end their watches, stop serving them and drop the cleanup finalizer."""
        stored = self._objects[crds.STORAGE_KEY].get(("", name))
        if stored is None or crds.CLEANUP_FINALIZER not in (stored["metadata"].get("finalizers") or []):
            return
        view = convert(stored, "v1")
        own_key = (view["spec"]["group"], view["spec"]["names"]["plural"])
        served = [t for t in self.resource_types() if t.storage_key == own_key]
        for victim in list(self._objects.get(own_key, {}).values()) if served else []:
            if "deletionTimestamp" not in victim["metadata"]:
                self._delete(served[0], victim)
        stored = self._objects[crds.STORAGE_KEY].get(("", name))
        if stored is None or self._objects.get(own_key):
            return  # finished by a nested call, or custom resources still held by finalizers
        for watcher in [w for w in self._watchers if w.filter.resource_type.storage_key == own_key]:
            watcher.end()  # the apiserver drops the resource's storage: its watches end
        for resource_type in served:
            self.unregister(resource_type)
        finalized = deep_copy(stored)
        finalizers = finalized["metadata"]["finalizers"]
        finalized["metadata"]["finalizers"] = [f for f in finalizers if f != crds.CLEANUP_FINALIZER]
        self._update(self._storage_type_of(stored), stored, finalized)

    def _update(self, rt: ResourceType, current: JsonObject, new: JsonObject) -> JsonObject:
        """Commit ``new`` over ``current`` keeping system metadata; no-op writes change nothing."""
        metadata = _metadata(new)
        kept = (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        )
        for system_field in (*kept, "generation", "resourceVersion"):
            metadata.pop(system_field, None)
            if system_field in current["metadata"]:
                metadata[system_field] = current["metadata"][system_field]
        ignored = ("status",) if rt.has_status else ()
        new_view, current_view = served_view(rt, new), served_view(rt, current)
        changed = _content_without(new_view, *ignored) != _content_without(current_view, *ignored)
        if rt.has_generation and changed:
            metadata["generation"] = current["metadata"].get("generation", 0) + 1
        if served_view(rt, new) == current_view:
            return stamp(rt, current)
        if "deletionTimestamp" in metadata and not metadata.get("finalizers"):
            if rt.storage_key != _NAMESPACE_KEY:
                return self._remove(rt, new)
            updated = self._commit(rt, self._key_of(current), new, current)
            self._finish_namespace_if_empty(metadata["name"])
            return updated
        return self._commit(rt, self._key_of(current), new, current)

    # -- deletion -------------------------------------------------------------------------------------

    def delete(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        *,
        orphan_dependents: bool = False,
        preconditions: JsonObject | None = None,
    ) -> JsonObject:
        """Delete an object; returns it as last stored (with ``deletionTimestamp`` if deletion is pending)."""
        rt = self.resource_type(api_version, kind)
        current = self._require(rt, namespace, name)
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            expected = (preconditions or {}).get(field)
            actual = current["metadata"].get(field)
            if expected and expected != actual:
                why = (
                    f"Precondition failed: {label} in precondition: {expected}, "
                    f"{label} in object meta: {actual}"
                )
                raise errors.conflict(rt.group, rt.plural, name, why)
        return self._delete(rt, current, orphan_dependents=orphan_dependents)

    def delete_collection(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[JsonObject]:
        """Delete every matching object; returns them as :meth:`delete` does."""
        rt = self.resource_type(api_version, kind)
        deleted = []
        for victim in self.list(api_version, kind, namespace, label_selector, field_selector):
            current = self._objects[rt.storage_key].get(self._key_of(victim))
            if current is not None:  # not garbage-collected along with an earlier victim
                deleted.append(self._delete(rt, current))
        return deleted

    def _delete(
        self, rt: ResourceType, current: JsonObject, *, orphan_dependents: bool = False
    ) -> JsonObject:
        if rt.storage_key == _NAMESPACE_KEY:
            return self._delete_namespace(current)
        if rt.storage_key == crds.STORAGE_KEY and "deletionTimestamp" not in current["metadata"]:
            return self._delete_crd(rt, current)
        if not current["metadata"].get("finalizers"):
            return self._remove(rt, current, orphan_dependents=orphan_dependents)
        if "deletionTimestamp" in current["metadata"]:
            return stamp(rt, current)
        return self._commit(rt, self._key_of(current), self._marked_for_deletion(rt, current), current)

    def _marked_for_deletion(self, rt: ResourceType, current: JsonObject) -> JsonObject:
        marked = deep_copy(current)
        marked["metadata"].update(deletionTimestamp=_now(), deletionGracePeriodSeconds=0)
        if rt.has_generation:
            marked["metadata"]["generation"] = current["metadata"].get("generation", 0) + 1
        return marked

    def _delete_namespace(self, current: JsonObject) -> JsonObject:
        rt = self.resource_type("v1", "Namespace")
        name = current["metadata"]["name"]
        if "deletionTimestamp" not in current["metadata"]:
            terminating = self._marked_for_deletion(rt, current)
            terminating["status"] = {"phase": "Terminating"}
            current = self._commit(rt, ("", name), terminating, current)
        for member_type in self._storage_types():
            if member_type.namespaced:
                for obj in list(self._scan(member_type, name)):
                    self._delete(member_type, obj)
        self._finish_namespace_if_empty(name)
        return stamp(rt, current)

    def _finish_namespace_if_empty(self, name: str) -> None:
        namespace = self._objects[_NAMESPACE_KEY].get(("", name))
        if namespace is None or "deletionTimestamp" not in namespace["metadata"]:
            return
        if any(
            key[0] == name
            for rt in self._storage_types()
            if rt.namespaced
            for key in self._objects[rt.storage_key]
        ):
            return
        finalized = deep_copy(namespace)
        finalized.setdefault("spec", {})["finalizers"] = []
        if not finalized["metadata"].get("finalizers"):
            self._remove(self.resource_type("v1", "Namespace"), finalized)

    def _remove(self, rt: ResourceType, last: JsonObject, *, orphan_dependents: bool = False) -> JsonObject:
        key = self._key_of(last)
        removed = self._commit(rt, key, None, last)
        uid = last["metadata"]["uid"]
        if rt.storage_key == ("", "pods"):
            for log_key in [k for k in self._pod_logs if k[0] == uid]:
                del self._pod_logs[log_key]
        if not orphan_dependents:
            self._collect_dependents_of(uid)
        if not rt.builtin and self._terminating_crd(rt) is not None:
            self._clean_up_crd(f"{rt.plural}.{rt.group}")
        if key[0]:
            self._finish_namespace_if_empty(key[0])
        return removed

    def _collect_dependents_of(self, owner_uid: str) -> None:
        """Garbage-collect objects whose owners are all gone (background propagation)."""
        for rt in self._storage_types():
            objects = self._objects[rt.storage_key]
            owned = [obj for obj in objects.values() if obj["metadata"].get("ownerReferences")]
            for obj in [obj for obj in owned if _owned_by(obj, owner_uid)]:
                owners = [ref.get("uid") for ref in obj["metadata"]["ownerReferences"]]
                if not any(self._uid_exists(uid) for uid in owners) and self._key_of(obj) in objects:
                    self._delete(rt, obj)

    def _uid_exists(self, uid: str | None) -> bool:
        return any(
            obj["metadata"]["uid"] == uid for objects in self._objects.values() for obj in objects.values()
        )

    def _storage_types(self) -> builtins.list[ResourceType]:
        """One resource type per stored resource (the first registered version)."""
        by_key: dict[tuple[str, str], ResourceType] = {}
        for rt in self._types_by_kind.values():
            by_key.setdefault(rt.storage_key, rt)
        return list(by_key.values())

    @staticmethod
    def _key_of(obj: JsonObject) -> ObjectKey:
        return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    # -- server-side dry run --------------------------------------------------------------------------

    def begin_dry_run(self) -> Callable[[], None]:
        """``?dryRun=All``: writes made until the returned function is called go through defaulting,
        admission and validation and answer as usual, and that call then forgets them (no object,
        resourceVersion, history or watch event remains), as the apiserver's DryRunnableStorage
        (k8s.io/apiserver/pkg/registry/generic/registry/dryrun.go) never reaches etcd."""
        objects = {key: dict(stored) for key, stored in self._objects.items()}
        types = (dict(self._types_by_kind), dict(self._types_by_plural))
        counters = (self._resource_version, self._forgotten_up_to, self._history.copy(), dict(self._pod_logs))
        watchers, self._watchers = self._watchers, set()

        def forget() -> None:
            self._objects, (self._types_by_kind, self._types_by_plural) = objects, types
            self._resource_version, self._forgotten_up_to, self._history, self._pod_logs = counters
            self._watchers = watchers

        return forget

    # -- commit and watch -----------------------------------------------------------------------------

    def _commit(
        self, rt: ResourceType, key: ObjectKey, new: JsonObject | None, previous: JsonObject | None
    ) -> JsonObject:
        """Write (or, with ``new=None``, remove) one object at a new resourceVersion and tell watchers.

        ``new`` is the store's own (no caller holds it) and no stored object is ever changed in place, so
        what is stored and recorded shares their fields instead of copying them; what goes out is copied."""
        self._resource_version += 1
        objects = self._objects[rt.storage_key]
        if new is None:
            assert previous is not None, "a removal always has a last state"
            stored = with_resource_version(served_view(rt, previous), self._resource_version)
            objects.pop(key, None)
            change = Change(self._resource_version, rt.storage_key, key[0], "DELETED", stored, None)
        else:
            stored = with_resource_version(served_view(rt, new), self._resource_version)
            objects[key] = stored
            kind: Literal["ADDED", "MODIFIED"] = "ADDED" if previous is None else "MODIFIED"
            change = Change(self._resource_version, rt.storage_key, key[0], kind, stored, previous)
        if len(self._history) == self._history.maxlen:
            self._forgotten_up_to = self._history[0].resource_version
        self._history.append(change)
        for watcher in list(self._watchers):
            watcher.deliver(change)
        return stamp(rt, stored)

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> WatchStream:
        """Open a watch. Without ``resource_version`` (or with ``"0"``) it starts with ``ADDED`` for every
        current object; with one it replays the recorded changes after it, or raises a 410 ``Expired``
        :class:`KubeError` when that history is no longer kept. Close the stream when done."""
        rt = self.resource_type(api_version, kind)
        watch_filter = self._filter(rt, namespace, label_selector, field_selector)
        stream = WatchStream(watch_filter, lambda: self._resource_version, self._watchers.discard)
        if resource_version in (None, "", "0"):
            for obj in self._scan(rt, watch_filter.namespace):
                if watch_filter.matches(obj):
                    stream.push(WatchEvent("ADDED", stamp(rt, obj)))
        else:
            self._replay(stream, resource_version)
        self._watchers.add(stream)
        return stream

    def _replay(self, stream: WatchStream, resource_version: str) -> None:
        try:
            since = int(resource_version)
        except ValueError:
            raise errors.bad_request(f"invalid resource version: {resource_version!r}") from None
        if since < self._forgotten_up_to:
            raise errors.expired(since, self._forgotten_up_to + 1)
        for change in self._history:
            if change.resource_version > since:
                stream.deliver(change)

    # -- pods and service accounts --------------------------------------------------------------------

    def append_pod_log(self, namespace: str, pod: str, container: str, text: str) -> None:
        """Add output to a container's log (what ``kubectl logs`` and ``.../pods/{name}/log`` return)."""
        current = self._require(self.resource_type("v1", "Pod"), namespace, pod)
        self._check_container(current, container)
        key = (current["metadata"]["uid"], container)
        self._pod_logs[key] = self._pod_logs.get(key, "") + text

    def pod_log(self, namespace: str, pod: str, container: str | None = None) -> str:
        """A container's log; ``container`` may be omitted for single-container pods, as with kubectl."""
        current = self._require(self.resource_type("v1", "Pod"), namespace, pod)
        names = self._container_names(current)
        if container is None:
            if len(names) != 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {pod}, choose one of: [{' '.join(names)}]"
                )
            container = names[0]
        self._check_container(current, container)
        return self._pod_logs.get((current["metadata"]["uid"], container), "")

    @staticmethod
    def _container_names(pod: JsonObject) -> builtins.list[str]:
        spec = pod.get("spec") or {}
        return [c.get("name", "") for c in (spec.get("containers") or [])]

    def _check_container(self, pod: JsonObject, container: str) -> None:
        spec = pod.get("spec") or {}
        init_names = [c.get("name", "") for c in (spec.get("initContainers") or [])]
        if container not in self._container_names(pod) + init_names:
            raise errors.bad_request(f"container {container} is not valid for pod {pod['metadata']['name']}")

    def issue_service_account_token(
        self,
        namespace: str,
        service_account: str,
        audiences: builtins.list[str] | None = None,
        expiration_seconds: int | None = None,
    ) -> str:
        """A signed service-account JWT for an existing ServiceAccount (404 if it does not exist)."""
        account = self._require(self.resource_type("v1", "ServiceAccount"), namespace, service_account)
        claims = service_account_claims(
            namespace, service_account, account["metadata"]["uid"], audiences, expiration_seconds
        )
        return self.token_signer.sign(claims)
