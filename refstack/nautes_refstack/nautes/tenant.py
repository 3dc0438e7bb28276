"""What the API server learns from the tenant management cluster, read from the tenant repository instead.

The real server asks its Kubernetes client (namespace ``nautes``) whether a Cluster CR exists, what its
spec is, and which CodeRepoProvider is installed. Those CRs are the tenant repository's files synced by
Argo CD, so the emulation reads the files themselves: ``nautes/overlays/production/clusters/<c>.yaml``
and ``nautes/overlays/production/code-repo-providers/provider.yaml`` at the commit Argo CD last synced
(:mod:`nautes_refstack.argocd`; ``main`` under the instant pace). Reads use the caller's token; a file the
caller cannot read counts as absent.
"""

from __future__ import annotations

from typing import Any

import yaml

from nautes_refstack.nautes import goyaml
from nautes_refstack.nautes.gitlab_api import GitLabApi

CLUSTERS_DIR = "nautes/overlays/production/clusters"
PROVIDER_FILE = "nautes/overlays/production/code-repo-providers/provider.yaml"


def cluster_not_found(name: str) -> str:
    """The Kubernetes NotFound text for a missing Cluster CR."""
    return f'clusters.nautes.resource.nautes.io "{name}" not found'


class TenantView:
    """Cluster and CodeRepoProvider lookups for one request (each file is fetched at most once)."""

    def __init__(self, gitlab: GitLabApi, tenant_repo: str, ref: str = "main") -> None:
        self._gitlab = gitlab
        self._tenant_repo = tenant_repo
        self._ref = ref
        self._files: dict[str, dict[str, Any] | None] = {}

    async def _document(self, path: str) -> dict[str, Any] | None:
        if path not in self._files:
            text = await self._gitlab.raw_file(self._tenant_repo, path, self._ref)
            try:
                parsed = goyaml.load(text) if text else None
            except yaml.YAMLError:
                parsed = None
            self._files[path] = parsed if isinstance(parsed, dict) else None
        return self._files[path]

    async def cluster(self, name: str) -> dict[str, Any] | None:
        """The Cluster CR named ``name``, or ``None`` when it is not registered."""
        if not name:
            return None
        document = await self._document(f"{CLUSTERS_DIR}/{name}.yaml")
        if document is None or document.get("kind") != "Cluster":
            return None
        return document

    async def code_repo_provider(self) -> str | None:
        """The name of the first CodeRepoProvider in namespace ``nautes`` (``getCodeRepoProvider``)."""
        document = await self._document(PROVIDER_FILE)
        if document is None or document.get("kind") != "CodeRepoProvider":
            return None
        name = document.get("metadata", {}).get("name")
        return str(name) if name else None
