"""Looks at the world that the quickstart stages wait on: readiness probes (an :class:`Observation` per
look) and leftover probes for the teardown (``None`` once the thing is gone, else what is left).

A leftover probe treats only a definite "not found" as gone: any other error (an API server answering 500
to every GET, a revoked token) propagates and fails the teardown instead of passing it.
"""

from __future__ import annotations

from collections.abc import Iterable

from nautes_e2e.suite import (
    GitLabClient,
    GitLabNotFound,
    KubeClient,
    NautesClient,
    NautesNotFound,
    Observation,
    VaultClient,
)
from suites.quickstart.diagnosis import CORE

DEPLOY_KEY_PERMISSIONS = ("readonly", "readwrite")


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


def push_webhook_registered(gitlab: GitLabClient, project: str) -> Observation:
    """The runtime is ready for the push once its event source has hooked the source repository."""
    hooks = [hook for hook in gitlab.project_hooks(project) if hook.get("push_events")]
    if not hooks:
        return Observation(done=False, state="no push webhook yet")
    return Observation(done=True, state=f"push webhook {hooks[0].get('url')}")


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
