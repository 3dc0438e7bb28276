"""List what exists in the world's four services, by list calls only (one paginated GET or LIST per
collection, never a GET per object), the services at once: the teardown repeats this while it waits.

What is listed is what Nautes makes (contract §3.3, §3.4, §4.2, §4.3) and what a run could touch:

* Nautes: cluster registrations and products (a product's other resources live in its ``default.project``
  and go with it);
* GitLab: groups and projects; for those the token's user maintains (those it may list them of), their
  hooks, deploy keys, access tokens and members;
* Vault: every secret under the KV engines Nautes uses (``git``, ``cluster``, ``pki``), the ACL policies,
  the auth mounts and the roles of the Kubernetes ones;
* the runtime cluster: namespaces (what is in a namespace goes with it), Argo Events EventSources and
  Sensors, Tekton PipelineRuns and Argo CD Applications wherever they are, and what the runtime operator
  puts in the event listener's namespace (Secrets, ServiceAccounts, Ingresses, ConfigMaps, ExternalSecrets,
  Deployments). A kind the cluster does not serve has nothing to list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from nautes_e2e.clients import (
    GitLabClient,
    GitLabNotFound,
    KubeClient,
    KubeError,
    NautesClient,
    VaultClient,
)
from nautes_e2e.stages.inventory.items import NAMESPACE, SERVICES, Item, Snapshot

#: The KV v2 engines Nautes keeps secrets in (contract §3.4).
KV_MOUNTS = ("git", "cluster", "pki")
#: What a KV path holds, for a reader (contract §3.4).
KV_DESCRIPTIONS = (
    (re.compile(r"gitlab/repo-\d+/default/read(?:only|write)"), "deploy key"),
    (re.compile(r"gitlab/repo-\d+/default/accesstoken-api"), "project access token"),
    (re.compile(r"kubernetes/[^/]+/default/admin"), "the cluster's kubeconfig"),
)
#: The event listener component's namespace, where the runtime operator puts a runtime's Argo Events
#: objects (contract §4.3: normally ``argo-events``; the cluster's GET reply never tells it, §2.4).
EVENT_LISTENER_NAMESPACE = "argo-events"
#: ``(apiVersion, kind)`` listed in every namespace.
EVERYWHERE = (
    ("argoproj.io/v1alpha1", "EventSource"),
    ("argoproj.io/v1alpha1", "Sensor"),
    ("argoproj.io/v1alpha1", "Application"),
    ("tekton.dev/v1beta1", "PipelineRun"),
)
#: ``(apiVersion, kind)`` listed in the event listener's namespace (contract §4.3).
EVENT_LISTENER_KINDS = (
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("networking.k8s.io/v1", "Ingress"),
    ("external-secrets.io/v1beta1", "ExternalSecret"),
    ("apps/v1", "Deployment"),
)
#: A GitLab user's access level that may list a project's hooks, deploy keys and access tokens.
MAINTAINER = 40
#: Projects whose hooks, keys, tokens and members are listed at the same time (four GETs each).
PROJECTS_AT_ONCE = 4


@dataclass(frozen=True)
class InventoryClients:
    nautes: NautesClient
    gitlab: GitLabClient
    vault: VaultClient
    kube: KubeClient


def take_snapshot(clients: InventoryClients, services: Collection[str] = SERVICES) -> Snapshot:
    """Everything ``services`` (by default all four) hold now. Any error but "there is nothing"
    propagates: an inventory that could not look is no proof that nothing is there."""
    paths: dict[str, str] = {}
    every_listing: dict[str, Callable[[], list[Item]]] = {
        "Nautes": lambda: list(_nautes(clients.nautes)),
        "GitLab": lambda: list(_gitlab(clients.gitlab, paths)),
        "Vault": lambda: list(_vault(clients.vault)),
        "Kubernetes": lambda: list(_kubernetes(clients.kube)),
    }
    listings = [listing for service, listing in every_listing.items() if service in services]
    with ThreadPoolExecutor(max_workers=len(listings), thread_name_prefix="inventory") as pool:
        futures = [pool.submit(listing) for listing in listings]
        items = [item for future in futures for item in future.result()]
    return Snapshot.of(items, paths)


def _nautes(nautes: NautesClient) -> Iterator[Item]:
    for cluster in nautes.list("Cluster"):
        yield Item("Nautes", f"cluster registration {cluster.get('name')}")
    for product in nautes.list("Product"):
        yield Item("Nautes", f"Nautes product {product.get('name')}")


def _gitlab(gitlab: GitLabClient, paths: dict[str, str]) -> Iterator[Item]:
    """Groups and projects, and ``paths`` learns ``product-<group id>`` and ``repo-<project id>``."""
    for group in gitlab.groups():
        paths[f"product-{group['id']}"] = str(group["full_path"])
        yield Item("GitLab", f"GitLab group {group['full_path']}")
    for project in gitlab.projects():
        paths[f"repo-{project['id']}"] = str(project["path_with_namespace"])
        yield Item("GitLab", f"GitLab project {project['path_with_namespace']}")
    maintained = gitlab.projects(min_access_level=MAINTAINER)
    with ThreadPoolExecutor(max_workers=PROJECTS_AT_ONCE, thread_name_prefix="inventory-gitlab") as pool:
        contents = pool.map(
            lambda project: _project_contents(
                gitlab, str(project["path_with_namespace"]), int(project["id"])
            ),
            maintained,
        )
        for items in contents:
            yield from items


def _project_contents(gitlab: GitLabClient, where: str, project_id: int) -> list[Item]:
    """A project's hooks, deploy keys, access tokens and members; nothing once GitLab deleted the project
    since it was listed (GitLab deletes projects in a background job: the teardown lists while it runs)."""
    try:
        hooks = gitlab.project_hooks(where)
        keys = gitlab.project_deploy_keys(project_id)
        tokens = gitlab.project_access_tokens(project_id)
        members = gitlab.project_members(project_id)
    except GitLabNotFound:
        return []
    return [
        *(
            Item("GitLab", f"GitLab hook {hook.get('url')} on {where} (id {hook.get('id')})")
            for hook in hooks
        ),
        *(
            Item("GitLab", f"GitLab deploy key {key.get('title')} on {where} (id {key.get('id')})")
            for key in keys
        ),
        *(
            Item("GitLab", f"GitLab access token {token.get('name')} of {where} (id {token.get('id')})")
            for token in tokens
            if not token.get("revoked")
        ),
        *(Item("GitLab", f"GitLab member {member.get('username')} of {where}") for member in members),
    ]


def _vault(vault: VaultClient) -> Iterator[Item]:
    for mount in KV_MOUNTS:
        for path in _kv_paths(vault, mount, ""):
            described = next((what for pattern, what in KV_DESCRIPTIONS if pattern.fullmatch(path)), None)
            yield Item(
                "Vault", f"Vault secret {mount}/data/{path}" + (f" ({described})" if described else "")
            )
    for policy in vault.policies():
        yield Item("Vault", f"Vault policy {policy}")
    for mount, kind in vault.auth_mounts().items():
        yield Item("Vault", f"Vault auth mount {mount}")
        if kind == "kubernetes":
            for role in vault.auth_roles(mount.rstrip("/")):
                yield Item("Vault", f"Vault role auth/{mount}role/{role}")


def _kv_paths(vault: VaultClient, mount: str, folder: str) -> Iterator[str]:
    for key in vault.kv_list(mount, folder):
        if key.endswith("/"):
            yield from _kv_paths(vault, mount, folder + key)
        else:
            yield folder + key


def _kubernetes(kube: KubeClient) -> Iterator[Item]:
    for namespace in _list(kube, "v1", "Namespace", None):
        yield Item("Kubernetes", f"{NAMESPACE}{namespace['metadata']['name']}")
    for api_version, kind in EVERYWHERE:
        for obj in _list(kube, api_version, kind, None):
            yield Item("Kubernetes", f"{kind} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}")
    for api_version, kind in EVENT_LISTENER_KINDS:
        for obj in _list(kube, api_version, kind, EVENT_LISTENER_NAMESPACE):
            yield Item("Kubernetes", f"{kind} {EVENT_LISTENER_NAMESPACE}/{obj['metadata']['name']}")


def _list(kube: KubeClient, api_version: str, kind: str, namespace: str | None) -> list[dict[str, Any]]:
    """The collection's items; none where the cluster does not serve the kind (or has no such namespace)."""
    try:
        return kube.list(api_version, kind, namespace)
    except KubeError as error:
        if error.status == 404:
            return []
        raise
