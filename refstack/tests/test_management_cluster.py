"""The tenant management cluster, looked at with the real kubectl: the Nautes CRDs, and the CRs the
reconciliation chain creates from the tenant repository and a product's ``default.project`` (contract §3.5).

One module-wide world (OpenBao, GitLab bootstrapped like the installer, Argo CD, the Nautes API server and the
management cluster, ``instant`` pace): the quickstart's saves go through the Nautes API as the CLI sends them,
then kubectl reads what Argo CD and the base operator made of them; removing the product's resources through
the API takes their CRs away again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gitlab
import pytest
import requests
import yaml
from nautes_refstack.argocd import ArgoCd
from nautes_refstack.bootstrap import TenantBootstrap
from nautes_refstack.faults import Faults
from nautes_refstack.gitlab import GitLab
from nautes_refstack.management import ManagementCluster
from nautes_refstack.management.argocd_apply import application, record_sync, sync_resources
from nautes_refstack.management.definitions import ARGO_CD_API_VERSION, NAUTES_API_VERSION, nautes_crds
from nautes_refstack.management.sync import ManagementSync
from nautes_refstack.nautes import NautesApiServer
from nautes_refstack.pace import INSTANT
from nautes_refstack.vault import OpenBao
from support.loop import BackgroundLoop
from support.nautes import cluster_cr
from support.wait import wait_for

KUBECTL = shutil.which("kubectl")
pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine"),
]
TENANT_REPO = "nautes/management"
PRODUCT = "demo-management"
CLUSTER = "physical-worker"
KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: runtime
  cluster: {server: "https://10.0.0.1:6443", insecure-skip-tls-verify: true}
contexts:
- name: runtime
  context: {cluster: runtime, user: admin}
current-context: runtime
users:
- name: admin
  user: {token: not-a-real-token}
"""
CLUSTER_SPEC: dict[str, Any] = {
    "name": CLUSTER,
    "api_server": "https://127.0.0.1:6443",
    "cluster_kind": "kubernetes",
    "usage": "worker",
    "cluster_type": "physical",
    "worker_type": "pipeline",
    "host_cluster": "",
    "primary_domain": "",
    "kubeconfig": KUBECONFIG,
    "vcluster": {"https_node_port": ""},
    "components_list": {},
}
PRODUCT_SAVES: list[tuple[str, dict[str, Any]]] = [
    (
        f"/api/v1/products/{PRODUCT}",
        {"name": PRODUCT, "git": {"gitlab": {"name": PRODUCT, "path": PRODUCT, "visibility": "private"}}},
    ),
    (
        f"/api/v1/products/{PRODUCT}/environments/env-dev-demo",
        {"name": "env-dev-demo", "product": PRODUCT, "cluster": CLUSTER, "env_type": "dev"},
    ),
    (
        f"/api/v1/products/{PRODUCT}/projects/project-demo",
        {"name": "project-demo", "product": PRODUCT, "language": "golang"},
    ),
]


@dataclass
class World:
    loop: BackgroundLoop
    gitlab: GitLab
    api: str
    token: str
    management: ManagementCluster
    workdir: Path

    def send(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        data = json.dumps(body) if body is not None else None
        return requests.request(method, self.api + path, headers=headers, data=data, timeout=60)

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        config = self.workdir / "kubeconfig"
        if not config.exists():
            config.write_text(self.management.kubeconfig())
            config.chmod(0o600)
        command = [
            str(KUBECTL),
            "--kubeconfig",
            str(config),
            "--cache-dir",
            str(self.workdir / "cache"),
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)

    def names(self, *args: str) -> set[str]:
        listed = self.kubectl("get", *args, "-o", "name")
        assert listed.returncode == 0, listed.stderr
        return {line.rpartition("/")[2] for line in listed.stdout.split()}

    def group_id(self) -> int:
        group = self.gitlab.find_group(PRODUCT)
        assert group is not None
        return group.id


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    scratch = Path(tempfile.mkdtemp(prefix="management-cluster-test-"))
    vault = OpenBao(scratch / "openbao.log")
    gitlab = GitLab(scratch / "gitlab")
    management = ManagementCluster(Faults())
    pieces: list[Any] = []

    async def start() -> tuple[str, str]:
        await asyncio.gather(vault.start(), gitlab.start(), management.start())
        pieces.extend([vault, gitlab, management])
        token = await TenantBootstrap(gitlab, TENANT_REPO).run(scratch)
        argocd = ArgoCd(gitlab, TENANT_REPO, INSTANT)
        await argocd.start()
        sync = await management.start_sync(gitlab, argocd, TENANT_REPO, gitlab.ssh_url_base, INSTANT)
        gitlab.on_push(sync.on_push)
        api = NautesApiServer(gitlab.url, vault.url, vault.root_token, TENANT_REPO)
        await api.start()
        pieces.append(api)
        return api.url, token

    async def stop() -> None:
        for piece in reversed(pieces):
            await piece.stop()

    with BackgroundLoop("management-cluster-tests", timeout=60) as loop:
        try:
            url, token = loop.run(start())
            (scratch / "kubectl").mkdir()
            yield World(loop, gitlab, url, token, management, scratch / "kubectl")
        finally:
            loop.run(stop())
            shutil.rmtree(scratch, ignore_errors=True)


def test_kubectl_get_crd_lists_the_nautes_crds_and_argo_cds(world: World) -> None:
    nautes = {crd["metadata"]["name"] for crd in nautes_crds()}
    assert len(nautes) == 13
    argo_cd = {"applications.argoproj.io", "appprojects.argoproj.io", "applicationsets.argoproj.io"}
    assert nautes | argo_cd | {
        "certificates.cert-manager.io",
        "clusterissuers.cert-manager.io",
    } <= world.names("crd")


def test_kubectl_explain_reads_the_nautes_schemas(world: World) -> None:
    explained = world.kubectl("explain", "projectpipelineruntimes.spec.pipelineSource")
    assert explained.returncode == 0, explained.stderr
    assert "KIND:     ProjectPipelineRuntime" in explained.stdout
    assert "<string>" in explained.stdout


def test_the_installation_left_argo_cd_applications_and_the_product_provider(world: World) -> None:
    assert {"nautes-management", "nautes"} <= world.names("applications", "-n", "argocd")
    assert world.names("productproviders", "-n", "nautes") == {"productprovider"}
    assert world.names("coderepoproviders", "-n", "nautes") == {"gitlab-nautes"}


def test_a_cluster_saved_through_the_nautes_api_appears_in_namespace_nautes(world: World) -> None:
    saved = world.send("POST", f"/api/v1/clusters/{CLUSTER}", CLUSTER_SPEC)
    assert saved.status_code == 200, saved.text
    wait_for(lambda: CLUSTER in world.names("clusters.nautes.resource.nautes.io", "-n", "nautes"))
    shown = world.kubectl("get", "clusters", CLUSTER, "-n", "nautes", "-o", "jsonpath={.spec.apiServer}")
    assert shown.stdout == CLUSTER_SPEC["api_server"]
    labels = world.kubectl("get", "clusters", CLUSTER, "-n", "nautes", "-o", "jsonpath={.metadata.labels}")
    assert json.loads(labels.stdout)["app.kubernetes.io/instance"] == "nautes"


def test_a_products_crs_appear_in_its_namespace_after_the_saves(world: World) -> None:
    for path, body in PRODUCT_SAVES:
        saved = world.send("POST", path, body)
        assert saved.status_code == 200, f"{path}: {saved.text}"
    product = f"product-{world.group_id()}"
    wait_for(lambda: {"project-demo"} <= world.names("projects", "-n", product))
    assert world.names("environments", "-n", product) == {"env-dev-demo"}
    assert product in world.names("products", "-n", "nautes")
    spec = world.kubectl("get", "product", product, "-n", "nautes", "-o", "jsonpath={.spec.name}")
    assert spec.stdout == PRODUCT
    namespace = world.kubectl("get", "namespace", product, "-o", "jsonpath={.metadata.labels}")
    assert json.loads(namespace.stdout)["resource.nautes.io/reference"] == product
    app = world.kubectl("get", "application", product, "-n", "argocd", "-o", "json")
    assert json.loads(app.stdout)["status"]["sync"]["status"] == "Synced"


def test_removed_resources_disappear_and_the_products_namespace_goes_with_the_product(world: World) -> None:
    product = f"product-{world.group_id()}"
    for kind in ("projects/project-demo", "environments/env-dev-demo"):
        removed = world.send("DELETE", f"/api/v1/products/{PRODUCT}/{kind}")
        assert removed.status_code == 200, removed.text
    wait_for(
        lambda: not world.names("projects", "-n", product) and not world.names("environments", "-n", product)
    )
    assert product in world.names("namespaces")


@dataclass
class GitWorld:
    """GitLab (bootstrapped like the installer), Argo CD and the management cluster, without the API server:
    the tests push the files the API server would."""

    loop: BackgroundLoop
    gitlab: gitlab.Gitlab
    emulator: GitLab
    management: ManagementCluster
    sync: ManagementSync

    def objects(self, kind: str, namespace: str | None) -> set[str]:
        listed = self.loop.call(self.management.store.list, NAUTES_API_VERSION, kind, namespace)
        return {obj["metadata"]["name"] for obj in listed}

    def new_product(self, path: str) -> int:
        """A GitLab group with a ``default.project`` holding an empty kustomization, as a product save leaves
        it (contract §3.2); returns the group's id."""
        group = self.gitlab.groups.create({"name": path, "path": path})
        project = self.gitlab.projects.create({"name": "default.project", "namespace_id": group.id})
        project.files.create(
            {
                "file_path": "production/kustomization.yaml",
                "branch": "main",
                "content": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
                "commit_message": "[API] Save operator",
            }
        )
        return int(group.id)


@contextlib.contextmanager
def git_world(faults: Faults) -> Iterator[GitWorld]:
    scratch = Path(tempfile.mkdtemp(prefix="management-cluster-git-"))
    emulator = GitLab(scratch / "gitlab")
    management = ManagementCluster(faults)

    async def start() -> tuple[str, ManagementSync]:
        await asyncio.gather(emulator.start(), management.start())
        token = await TenantBootstrap(emulator, TENANT_REPO).run(scratch)
        faults.arm()  # as the stack does once the installation is done
        argocd = ArgoCd(emulator, TENANT_REPO, INSTANT, faults)
        await argocd.start()
        sync = await management.start_sync(emulator, argocd, TENANT_REPO, emulator.ssh_url_base, INSTANT)
        emulator.on_push(sync.on_push)
        return token, sync

    async def stop() -> None:
        await management.stop()
        await emulator.stop()

    with BackgroundLoop("management-cluster-git-tests", timeout=60) as loop:
        try:
            token, sync = loop.run(start())
            client = gitlab.Gitlab(emulator.url, private_token=token)
            yield GitWorld(loop, client, emulator, management, sync)
        finally:
            loop.run(stop())
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize("never_syncs", [False, True], ids=["synced", "tenant-repo-never-syncs"])
def test_a_cluster_appears_only_once_argo_cd_synced_the_tenant_repository(never_syncs: bool) -> None:
    faults = Faults({"tenant-repo-never-syncs": []} if never_syncs else None)
    with git_world(faults) as world:
        tenant = world.gitlab.projects.get(TENANT_REPO)
        tenant.files.create(
            {
                "file_path": "nautes/overlays/production/clusters/worker-1.yaml",
                "branch": "main",
                "content": yaml.safe_dump(cluster_cr("worker-1", "https://127.0.0.1:6443")),
                "commit_message": "[API] Save operator",
            }
        )
        # Pushes are handled in order: once a later push's product is there, the tenant push was seen.
        sentinel = world.new_product("sentinel")
        wait_for(lambda: f"product-{sentinel}" in world.objects("Product", "nautes"))
        assert ("worker-1" in world.objects("Cluster", "nautes")) is not never_syncs


def test_a_product_whose_group_is_gone_goes_at_the_base_operators_next_poll() -> None:
    with git_world(Faults()) as world:
        group_id = world.new_product("gone-product")
        product = f"product-{group_id}"
        wait_for(lambda: product in world.objects("Product", "nautes"))
        world.gitlab.groups.delete(group_id)
        assert product in world.objects("Product", "nautes")  # nothing is pushed: only the poll notices
        world.loop.call(world.sync.poll)
        assert product not in world.objects("Product", "nautes")
        namespaces = world.loop.call(world.management.store.list, "v1", "Namespace")
        assert product not in {namespace["metadata"]["name"] for namespace in namespaces}
        assert not world.objects("CodeRepo", "nautes") - {f"repo-{world.gitlab.projects.get(TENANT_REPO).id}"}
        applications = world.loop.call(
            world.management.store.list, ARGO_CD_API_VERSION, "Application", "argocd"
        )
        assert product not in {app["metadata"]["name"] for app in applications}


def _project(name: str, **spec: str) -> dict[str, Any]:
    return {"apiVersion": NAUTES_API_VERSION, "kind": "Project", "metadata": {"name": name}, "spec": spec}


def test_a_manifest_the_crd_schema_refuses_leaves_the_application_out_of_sync_and_the_rest_applied() -> None:
    cluster = ManagementCluster(Faults())
    store = cluster.store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "product-7"}})
    store.create(application("product-7", "ssh://example/p.git", "production", "product-7", project="nautes"))
    manifests = [
        _project("good", product="product-7", language="golang"),
        _project("bad", product="product-7"),
    ]
    problems = sync_resources(store, "product-7", "product-7", manifests, force_namespace=False)
    record_sync(store, "product-7", "0" * 40, problems)
    assert {p["metadata"]["name"] for p in store.list(NAUTES_API_VERSION, "Project", "product-7")} == {"good"}
    status = store.get(ARGO_CD_API_VERSION, "Application", "argocd", "product-7")["status"]
    assert status["sync"]["status"] == "OutOfSync"
    assert "Project/bad" in status["conditions"][0]["message"]
    assert "spec.language" in status["conditions"][0]["message"]


def test_pruning_takes_only_what_the_application_applied() -> None:
    store = ManagementCluster(Faults()).store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "product-7"}})
    users = _project("by-hand", product="product-7", language="golang")
    store.create({**users, "metadata": {"name": "by-hand", "namespace": "product-7"}})
    synced = [_project("synced", product="product-7", language="golang")]
    assert sync_resources(store, "product-7", "product-7", synced, force_namespace=False) == []
    assert sync_resources(store, "product-7", "product-7", [], force_namespace=False) == []
    assert {p["metadata"]["name"] for p in store.list(NAUTES_API_VERSION, "Project", "product-7")} == {
        "by-hand"
    }
