"""What Argo CD has synced from GitLab into the tenant management cluster, read at the synced commit.

Two sources (contract §3.5): the tenant configuration repository (Cluster CRs and the CodeRepoProvider,
under ``nautes/overlays/production/``) and each product's ``default.project`` repository, whose
``production/kustomization.yaml`` lists the product's resource files — only listed files become CRs, as
with Argo CD's kustomize sync. A kustomization that cannot be built is a :class:`SnapshotError` (the sync
would fail and the cluster would keep its previous state).
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from nautes_refstack.kube.json_copy import deep_copy
from nautes_refstack.runtime.resources import (
    BINDING_KIND,
    CLUSTER_KIND,
    CODE_REPO_KIND,
    ENVIRONMENT_KIND,
    PPR_KIND,
    PROVIDER_KIND,
    Cluster,
    CodeRepo,
    CodeRepoBinding,
    CodeRepoProvider,
    Environment,
    ProjectPipelineRuntime,
)
from nautes_refstack.yaml_loading import SAFE_LOADER

MAIN = "main"
TENANT_RESOURCES_DIR = "nautes/overlays/production/"
PRODUCT_KUSTOMIZATION = "production/kustomization.yaml"
PRODUCT_REPO = "default.project"
#: Where the API server renders a virtual cluster's files on its host (cluster-templates v0.4.0
#: ``host-clusters/_HOST_CLUSTER_/vclusters/_VCLUSTER_/``), and the Service that exposes its API.
VCLUSTERS_ROOT = "host-clusters/"
VCLUSTER_SERVICE = re.compile(r"host-clusters/[^/]+/vclusters/[^/]+/vcluster-initial/svc\.yaml")


class SnapshotError(RuntimeError):
    """The repository content cannot be turned into resources."""


class HasId(Protocol):
    """A GitLab group or project as the seam returns it."""

    @property
    def id(self) -> int: ...


class RepositoryReader(Protocol):
    """The in-process GitLab seam the runtime side reads repositories through."""

    def find_project(self, path: str) -> HasId | None: ...

    def find_group(self, path: str) -> HasId | None: ...

    def read_file(self, project_id: int, ref: str, path: str) -> bytes | None: ...

    def list_files(self, project_id: int, ref: str, prefix: str = "") -> list[str]: ...


@dataclass(frozen=True)
class TenantSnapshot:
    clusters: dict[str, Cluster] = field(default_factory=dict)
    providers: dict[str, CodeRepoProvider] = field(default_factory=dict)
    #: Each virtual cluster's API NodePort on its host, from the ``svc-<vcluster>`` Service the API server
    #: renders into ``host-clusters/<host>/vclusters/<vcluster>/vcluster-initial/svc.yaml`` (contract §3.1).
    vcluster_node_ports: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductSnapshot:
    """A product: ``product_id`` is ``product-<group id>`` (namespace ``P``), ``name`` the group path."""

    product_id: str
    name: str
    code_repos: dict[str, CodeRepo] = field(default_factory=dict)
    bindings: tuple[CodeRepoBinding, ...] = ()
    environments: dict[str, Environment] = field(default_factory=dict)
    runtimes: dict[str, ProjectPipelineRuntime] = field(default_factory=dict)


#: How many files' parsed documents are kept: a world's tenant and product files, several times over.
_PARSED_TEXTS = 512


def _documents(text: bytes, path: str) -> list[dict[str, Any]]:
    try:
        documents = _parsed(text)
    except yaml.YAMLError as error:
        raise SnapshotError(f"{path} is not valid YAML: {error}") from error
    return [deep_copy(doc) for doc in documents if isinstance(doc, dict)]


@functools.lru_cache(maxsize=_PARSED_TEXTS)
def _parsed(text: bytes) -> tuple[Any, ...]:
    """The documents of ``text``, parsed once for all reconciles (each reads every synced file again, and
    most have not changed); callers get copies, so the cached ones are never changed."""
    return tuple(yaml.load_all(text, Loader=SAFE_LOADER))


def tenant_documents(gitlab: RepositoryReader, tenant_repo: str, ref: str = MAIN) -> list[dict[str, Any]]:
    """Every document under the tenant repository's ``nautes/overlays/production/`` (none when the
    repository does not exist yet): what Argo CD syncs into namespace ``nautes``."""
    project = gitlab.find_project(tenant_repo)
    if project is None:
        return []
    return [
        document
        for path in gitlab.list_files(project.id, ref, TENANT_RESOURCES_DIR)
        if path.endswith((".yaml", ".yml"))
        for document in _documents(gitlab.read_file(project.id, ref, path) or b"", path)
    ]


def read_tenant(gitlab: RepositoryReader, tenant_repo: str, ref: str = MAIN) -> TenantSnapshot:
    """Cluster CRs and CodeRepoProviders of the tenant repository (empty when it does not exist yet)."""
    project = gitlab.find_project(tenant_repo)
    if project is None:
        return TenantSnapshot()
    snapshot = tenant_from_documents(tenant_documents(gitlab, tenant_repo, ref))
    ports = {
        path.split("/")[3]: port
        for path in gitlab.list_files(project.id, ref, VCLUSTERS_ROOT)
        if VCLUSTER_SERVICE.fullmatch(path)
        for port in _node_ports(gitlab.read_file(project.id, ref, path) or b"", path)
    }
    return dataclasses.replace(snapshot, vcluster_node_ports=ports)


def _node_ports(text: bytes, path: str) -> list[int]:
    """The ``nodePort`` of the vcluster Service's ``https`` port (CT ``vcluster-initial/svc.yaml``)."""
    ports = [
        port.get("nodePort")
        for document in _documents(text, path)
        for port in (document.get("spec") or {}).get("ports") or []
        if isinstance(port, dict) and port.get("name") == "https"
    ]
    return [int(str(port)) for port in ports if str(port).isdigit()]


def tenant_from_documents(documents: Sequence[dict[str, Any]]) -> TenantSnapshot:
    """The Cluster CRs and CodeRepoProviders among ``documents``."""
    clusters = [Cluster.parse(doc) for doc in documents if doc.get("kind") == CLUSTER_KIND]
    providers = [CodeRepoProvider.parse(doc) for doc in documents if doc.get("kind") == PROVIDER_KIND]
    return TenantSnapshot(
        clusters={cluster.name: cluster for cluster in clusters},
        providers={provider.name: provider for provider in providers},
    )


@dataclass(frozen=True)
class ProductFiles:
    """A product's metadata repository as Argo CD syncs it: the GitLab group's and project's ids, and the
    documents of the files its kustomization lists."""

    group_id: int
    project_id: int
    documents: list[dict[str, Any]]


def read_product(gitlab: RepositoryReader, group_path: str, ref: str = MAIN) -> ProductSnapshot | None:
    """The product whose metadata repository is ``<group_path>/default.project``; None once it is gone."""
    files = product_files(gitlab, group_path, ref)
    if files is None:
        return None
    return product_from_documents(f"product-{files.group_id}", group_path, files.documents)


def product_files(gitlab: RepositoryReader, group_path: str, ref: str = MAIN) -> ProductFiles | None:
    """What ``<group_path>/default.project``'s ``production/kustomization.yaml`` lists at ``ref``; None once
    the group or the project is gone."""
    group = gitlab.find_group(group_path)
    project = gitlab.find_project(f"{group_path}/{PRODUCT_REPO}")
    if group is None or project is None:
        return None
    kustomization = gitlab.read_file(project.id, ref, PRODUCT_KUSTOMIZATION)
    if kustomization is None:
        raise SnapshotError(f"{group_path}/{PRODUCT_REPO} has no {PRODUCT_KUSTOMIZATION}")
    listed = (_documents(kustomization, PRODUCT_KUSTOMIZATION) or [{}])[0].get("resources") or []
    documents: list[dict[str, Any]] = []
    for entry in listed:
        path = posixpath.normpath(posixpath.join(posixpath.dirname(PRODUCT_KUSTOMIZATION), str(entry)))
        content = gitlab.read_file(project.id, ref, path)
        if content is None:
            raise SnapshotError(
                f"accumulating resources: {path} does not exist in {group_path}/{PRODUCT_REPO}"
            )
        documents.extend(_documents(content, path))
    return ProductFiles(group.id, project.id, documents)


def product_from_documents(
    product_id: str, name: str, documents: Iterable[dict[str, Any]]
) -> ProductSnapshot:
    """The product resources among ``documents`` (the files its kustomization lists)."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        by_kind.setdefault(str(document.get("kind")), []).append(document)
    code_repos = [CodeRepo.parse(doc) for doc in by_kind.get(CODE_REPO_KIND, [])]
    environments = [Environment.parse(doc) for doc in by_kind.get(ENVIRONMENT_KIND, [])]
    runtimes = [ProjectPipelineRuntime.parse(doc) for doc in by_kind.get(PPR_KIND, [])]
    return ProductSnapshot(
        product_id=product_id,
        name=name,
        code_repos={repo.name: repo for repo in code_repos},
        bindings=tuple(CodeRepoBinding.parse(doc) for doc in by_kind.get(BINDING_KIND, [])),
        environments={env.name: env for env in environments},
        runtimes={runtime.name: runtime for runtime in runtimes},
    )
