"""Looks at the world that the quickstart stages wait on: readiness probes (an :class:`Observation` per
look) and leftover probes by name (``None`` once the thing is gone, else what is left).

The teardown itself finds leftovers by inventory (``nautes_e2e.stages.inventory``: whatever their kind);
the leftover probes here look for what a run of a given suffix made, without a snapshot from before it
(``benchmarks/leftovers.py`` checks a world after runs with them). A leftover probe treats only a definite
"not found" as gone: any other error (an API server answering 500 to every GET, a revoked token)
propagates and fails the check instead of passing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nautes_e2e.suite import (
    GitLabClient,
    GitLabNotFound,
    KubeClient,
    NautesClient,
    NautesNotFound,
    Observation,
    VaultClient,
)

CORE = "v1"
TEKTON = "tekton.dev/v1beta1"
ARGO_EVENTS_NAMESPACE = "argo-events"
DEPLOY_KEY_PERMISSIONS = ("readonly", "readwrite")
ARGO_EVENTS = "argoproj.io/v1alpha1"
#: The label the runtime operator puts on a runtime's Sensors: ``<product namespace>-<runtime>`` (contract
#: §4.3), the product namespace being ``product-<GitLab group id>`` (§4).
CONSUMER_LABEL = "nautes.argoevents.consumer"
# What Argo Events (v1.7) calls ready: every one of these conditions True (pkg/apis/*/v1alpha1/types.go; its
# own e2e tests wait for exactly these before sending an event).
READY_CONDITIONS = {
    "EventSource": ("SourcesProvided", "Deployed"),
    "Sensor": ("DependenciesProvided", "TriggersProvided", "Deployed"),
}
#: The label the Argo Events controllers put on the Deployment they make for an object (its name;
#: controllers/{eventsource,sensor}/controller.go, common/common.go).
DEPLOYMENT_NAME_LABEL = {"EventSource": "eventsource-name", "Sensor": "sensor-name"}


def deploy_key_path(repo_id: int, permission: str) -> str:
    """Where Nautes keeps a repository's deploy key in the ``git`` KV engine (contract §3.4)."""
    return f"gitlab/repo-{repo_id}/default/{permission}"


def runtime_space_ready(kube: KubeClient, namespace: str, service_account: str) -> Observation:
    namespace_object = kube.get(CORE, "Namespace", namespace)
    if namespace_object is None:
        return Observation(done=False, state="namespace not created yet")
    phase = (namespace_object.get("status") or {}).get("phase", "Active")
    if phase != "Active":
        return Observation(done=False, state=f"namespace {phase}")
    if kube.get(CORE, "ServiceAccount", service_account, namespace) is None:
        return Observation(done=False, state="namespace Active, service account not created yet")
    return Observation(done=True, state="namespace Active, service account ready")


def runtime_consumer(group_id: int, runtime: str) -> str:
    """``UID``: the name the runtime's Argo Events objects derive from (contract §4: ``P-R``)."""
    return f"product-{group_id}-{runtime}"


def event_handling_ready(kube: KubeClient, consumer: str, sensors: int) -> Observation:
    """A push is only acted on once the runtime's event source *and* its Sensors run: the runtime operator
    creates the EventSource (whose pod registers the GitLab hook) before the Sensors (contract §4.3,
    NAUTES task/pipelineRuntime.go), so a hook on the repository proves nothing about the Sensors. Argo
    Events' ``Deployed`` only says that the object's Deployment exists; that its pod runs shows on the
    Deployment (``availableReplicas``), which the controller labels with the object's name."""
    name = f"{consumer}-gitlab"
    source = kube.get(ARGO_EVENTS, "EventSource", name, ARGO_EVENTS_NAMESPACE)
    if source is None:
        return Observation(done=False, state=f"EventSource {name} not created yet")
    waiting = _not_running(kube, "EventSource", source)
    if waiting:
        return Observation(done=False, state=waiting)
    found = kube.list(
        ARGO_EVENTS, "Sensor", ARGO_EVENTS_NAMESPACE, label_selector=f"{CONSUMER_LABEL}={consumer}"
    )
    if len(found) < sensors:
        return Observation(done=False, state=f"EventSource runs, {len(found)} of {sensors} Sensors created")
    not_running = [reason for sensor in found if (reason := _not_running(kube, "Sensor", sensor))]
    if not_running:
        return Observation(done=False, state="EventSource runs; " + "; ".join(sorted(not_running)))
    return Observation(done=True, state=f"EventSource and {len(found)} Sensor(s) run")


def _not_running(kube: KubeClient, kind: str, resource: dict[str, Any]) -> str | None:
    """Why an EventSource or Sensor does not handle events yet, or None when it does."""
    name = resource["metadata"]["name"]
    conditions = {
        c.get("type"): c.get("status") for c in (resource.get("status") or {}).get("conditions") or []
    }
    pending = [condition for condition in READY_CONDITIONS[kind] if conditions.get(condition) != "True"]
    if pending:
        return f"{kind} {name}: {', '.join(pending)} not True yet"
    deployments = kube.list(
        "apps/v1", "Deployment", ARGO_EVENTS_NAMESPACE, label_selector=f"{DEPLOYMENT_NAME_LABEL[kind]}={name}"
    )
    if not any((d.get("status") or {}).get("availableReplicas", 0) >= 1 for d in deployments):
        return f"{kind} {name}: deployed, its pod not running yet"
    return None


def cluster_left(nautes: NautesClient, cluster: str) -> str | None:
    try:
        nautes.get("Cluster", cluster)
    except NautesNotFound:
        return None
    return f"cluster registration {cluster}"


def group_left(gitlab: GitLabClient, group: str) -> str | None:
    try:
        gitlab.group_projects(group)
    except GitLabNotFound:
        return None
    return f"GitLab group {group}"


def namespace_left(kube: KubeClient, namespace: str) -> str | None:
    return None if kube.get(CORE, "Namespace", namespace) is None else f"namespace {namespace}"


def deploy_keys_left(vault: VaultClient, repo_ids: Iterable[int]) -> str | None:
    paths = [
        f"git/data/{deploy_key_path(repo_id, permission)}"
        for repo_id in repo_ids
        for permission in DEPLOY_KEY_PERMISSIONS
        if vault.kv_keys("git", deploy_key_path(repo_id, permission)) is not None
    ]
    return f"Vault deploy keys {paths}" if paths else None
