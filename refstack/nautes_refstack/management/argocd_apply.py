"""How Argo CD v2.4 puts an application's manifests into the tenant management cluster, and its own objects.

An automated application with ``prune: true`` (INST ``nautes/roles/nautes/templates/argocd-app.yaml``, TRT
``tenant/production/nautes-app.yaml``, the base operator's product applications: NAUTES v0.4.2
``app/base-operator/internal/syncer/product/client.go`` ``syncArgoApp``) applies every manifest with
``kubectl apply`` semantics, puts a namespaced resource without a namespace into the destination namespace,
marks each resource with the tracking label ``app.kubernetes.io/instance: <application>`` (Argo CD 2.4's
default ``application.instanceLabelKey``, argocd-cm docs) and the ``kubectl.kubernetes.io/
last-applied-configuration`` annotation, and deletes the resources that carry its label but are no longer in
the manifests (pruning). A manifest the apiserver refuses (a 422 from the CRD's schema, a kind it does not
serve) fails that resource and leaves the application ``OutOfSync``; the others are applied.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterable
from typing import Any

from nautes_refstack.kube import KubeError, ObjectStore
from nautes_refstack.runtime.kube_apply import apply, delete_if_present, get_or_none

log = logging.getLogger(__name__)

TRACKING_LABEL = "app.kubernetes.io/instance"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ARGO_CD_NAMESPACE = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
#: Kustomize's own files (a tenant overlay's ``kustomization.yaml``): input of the build, never resources.
KUSTOMIZE_GROUP = "kustomize.config.k8s.io/"
JsonObject = dict[str, Any]


def sync_resources(
    store: ObjectStore,
    application: str,
    namespace: str,
    manifests: Iterable[JsonObject],
    *,
    force_namespace: bool,
) -> list[str]:
    """Apply ``manifests`` as ``application`` into ``namespace`` (``force_namespace``: a kustomization's
    ``namespace:`` overrides theirs), then prune; returns why resources failed (none: Synced)."""
    problems: list[str] = []
    kept: set[tuple[str, str, str, str]] = set()
    for manifest in manifests:
        if str(manifest.get("apiVersion", "")).startswith(KUSTOMIZE_GROUP):
            continue  # kustomize builds these, they are not resources
        if not (manifest.get("metadata") or {}).get("name"):
            problems.append(f"{manifest.get('kind')} without metadata.name")
            continue
        desired = _desired(store, application, namespace, manifest, force_namespace=force_namespace)
        metadata = desired["metadata"]
        try:
            applied = apply(store, desired)
        except KubeError as error:
            problems.append(f"{desired.get('kind')}/{metadata.get('name')}: {error.message}")
            continue
        kept.add(_identity(applied))
    for victim in _tracked(store, application):
        if _identity(victim) not in kept:
            metadata = victim["metadata"]
            delete_if_present(
                store, victim["apiVersion"], victim["kind"], metadata.get("namespace"), metadata["name"]
            )
    for problem in problems:
        log.warning("argo cd could not sync %s: %s", application, problem)
    return problems


def _desired(
    store: ObjectStore, application: str, namespace: str, manifest: JsonObject, *, force_namespace: bool
) -> JsonObject:
    desired = copy.deepcopy(manifest)
    metadata = desired.setdefault("metadata", {})
    if metadata.get("creationTimestamp") is None:
        metadata.pop("creationTimestamp", None)  # controller-gen's ``creationTimestamp: null``
    try:
        namespaced = store.resource_type(
            str(desired.get("apiVersion", "")), str(desired.get("kind", ""))
        ).namespaced
    except KubeError:
        namespaced = True  # the apply answers why it is not served
    if namespaced and (force_namespace or not metadata.get("namespace")):
        metadata["namespace"] = namespace
    metadata.setdefault("labels", {})[TRACKING_LABEL] = application
    applied = {key: value for key, value in desired.items() if key != "status"}
    metadata.setdefault("annotations", {})[LAST_APPLIED] = json.dumps(applied, separators=(",", ":"))
    return desired


def _identity(obj: JsonObject) -> tuple[str, str, str, str]:
    group = str(obj["apiVersion"]).rpartition("/")[0]
    return group, str(obj["kind"]), str(obj["metadata"].get("namespace") or ""), str(obj["metadata"]["name"])


def _tracked(store: ObjectStore, application: str) -> list[JsonObject]:
    """Every object labelled as ``application``'s, each resource listed once (not once per version)."""
    seen: set[tuple[str, str]] = set()
    found: list[JsonObject] = []
    for resource_type in store.resource_types():
        if resource_type.storage_key in seen or "list" not in resource_type.verbs:
            continue
        seen.add(resource_type.storage_key)
        selector = f"{TRACKING_LABEL}={application}"
        found.extend(store.list(resource_type.api_version, resource_type.kind, label_selector=selector))
    return found


def application(
    name: str,
    repo_url: str,
    path: str,
    destination: str,
    *,
    project: str,
    labels: dict[str, str] | None = None,
) -> JsonObject:
    """An automated, pruning Argo CD Application in ``argocd``, tracking ``HEAD`` of ``repo_url``."""
    metadata: JsonObject = {"name": name, "namespace": ARGO_CD_NAMESPACE}
    if labels:
        metadata["labels"] = dict(labels)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata,
        "spec": {
            "project": project,
            "source": {"repoURL": repo_url, "path": path, "targetRevision": "HEAD"},
            "destination": {"server": IN_CLUSTER, "namespace": destination},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def record_sync(store: ObjectStore, name: str, revision: str | None, problems: list[str]) -> None:
    """The application controller's status after a sync: Synced at ``revision``, or OutOfSync with a
    ``SyncError`` condition naming what failed (argo-cd v2.4 ``pkg/apis/application/v1alpha1/types.go``)."""
    current = get_or_none(store, "argoproj.io/v1alpha1", "Application", ARGO_CD_NAMESPACE, name)
    if current is None:
        return
    status: JsonObject = {
        "sync": {"status": "OutOfSync" if problems else "Synced", "revision": revision or ""},
        "health": {"status": "Healthy"},
    }
    if problems:
        status["conditions"] = [{"type": "SyncError", "message": "; ".join(problems)}]
    if current.get("status") != status:
        store.replace({**current, "status": status})
