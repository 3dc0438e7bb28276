"""Cluster operator and runtime operator against real OpenBao, a real object store and its API server.

The Nautes resources are the YAML documents the API server writes (tenant repo and ``default.project``),
parsed by the same code that reads them from GitLab; Vault holds what the API server stores there (deploy
keys, API tokens, one policy per secret). Vault logins use real service-account tokens and go through
OpenBao's Kubernetes auth, which asks the emulated API server's TokenReview.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidRequest
from nautes_refstack.kube import KubeApiServer, KubeError, ObjectStore
from nautes_refstack.runtime.cluster_operator import ClusterOperator
from nautes_refstack.runtime.runtime_operator import RuntimeOperator
from nautes_refstack.runtime.snapshots import (
    ProductSnapshot,
    TenantSnapshot,
    product_from_documents,
    tenant_from_documents,
)
from nautes_refstack.runtime.vault_access import VaultAccess
from nautes_refstack.runtime.vault_api import VaultApi
from nautes_refstack.vault import OpenBao
from support.loop import BackgroundLoop
from support.nautes import NAUTES_API, cluster_cr, nautes_resource

GROUP, PRODUCT = "demo-quickstart", "product-42"
CLUSTER = "runtime"
WEBHOOK_URL = "http://127.0.0.1:9"
DEPLOY_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nreadonly-key-of-repo-57\n-----END OPENSSH PRIVATE KEY-----\n"
)


PROVIDER = {
    "apiVersion": NAUTES_API,
    "kind": "CodeRepoProvider",
    "metadata": {"name": "gitlab-nautes", "namespace": "nautes"},
    "spec": {
        "httpAddress": "http://127.0.0.1:1",
        "sshAddress": "ssh://git@127.0.0.1:2",
        "apiServer": "http://127.0.0.1:1",
        "providerType": "gitlab",
    },
}


def code_repo(pid: int, path: str, project: str) -> dict[str, Any]:
    spec = {
        "codeRepoProvider": "gitlab-nautes",
        "deploymentRuntime": False,
        "pipelineRuntime": False,
        "product": PRODUCT,
        "project": project,
        "repoName": path,
        "webhook": {"events": ["push_events"]},
    }
    return nautes_resource("CodeRepo", f"repo-{pid}", spec)


def ppr(name: str, namespace: str = "", event_repos: tuple[str, ...] = ("repo-57",)) -> dict[str, Any]:
    sources = [
        {
            "name": f"webhook-{repo}",
            "gitlab": {"events": ["push_events"], "repoName": repo, "revision": "main"},
        }
        for repo in event_repos
    ]
    triggers = [{"eventSource": source["name"], "pipeline": "pipeline-dev-demo"} for source in sources]
    spec = {
        "destination": {"environment": "env-dev-demo", "namespace": namespace},
        "eventSources": sources,
        "hooks": {},
        "isolation": "exclusive",
        "pipelineSource": "repo-57",
        "pipelineTriggers": triggers,
        "pipelines": [{"label": "main", "name": "pipeline-dev-demo", "path": "pipelines/main.yaml"}],
        "project": "project-demo",
    }
    return nautes_resource("ProjectPipelineRuntime", name, spec)


def product(*runtimes: dict[str, Any]) -> ProductSnapshot:
    documents = [
        code_repo(57, "coderepo-sc-demo", "project-demo"),
        code_repo(58, "coderepo-deploy-demo", "project-other"),
        code_repo(59, "coderepo-foreign", "project-other"),
        nautes_resource(
            "CodeRepoBinding",
            "coderepobinding-deploy-pipeline-demo",
            {
                "codeRepo": "repo-58",
                "permissions": "readwrite",
                "product": PRODUCT,
                "projects": ["project-demo"],
            },
        ),
        nautes_resource(
            "Environment", "env-dev-demo", {"cluster": CLUSTER, "envType": "dev", "product": PRODUCT}
        ),
        nautes_resource("Project", "project-demo", {"language": "", "product": PRODUCT}),
        *runtimes,
    ]
    return product_from_documents(PRODUCT, GROUP, documents)


class World:
    """OpenBao, the runtime cluster's store and API server, and both operators, on one loop."""

    def __init__(self, loop: BackgroundLoop, scratch: Path) -> None:
        self.loop = loop
        self.bao = OpenBao(log_path=scratch / "openbao.log")
        self.store = ObjectStore()
        self.kube = KubeApiServer(self.store, "admin-token", tls=True)

    async def start(self) -> None:
        await self.bao.start()
        await self.kube.start()
        self.http = aiohttp.ClientSession()
        vault = VaultApi(self.http, self.bao.url, self.bao.root_token)
        self.clusters = ClusterOperator(self.store, vault, self.kube.url, self.kube.url, self.kube.ca_pem)
        self.runtimes = RuntimeOperator(
            self.store, VaultAccess(vault, self.store), self.kube.url, WEBHOOK_URL
        )
        self.tenant = tenant_from_documents(
            [cluster_cr(CLUSTER, self.kube.url), cluster_cr("elsewhere", "https://10.0.0.1:6443"), PROVIDER]
        )

    async def stop(self) -> None:
        await self.http.close()
        await self.kube.stop()
        await self.bao.stop()

    def root(self) -> hvac.Client:
        return hvac.Client(url=self.bao.url, token=self.bao.root_token)

    def reconcile(self, snapshot: ProductSnapshot | None, tenant: TenantSnapshot | None = None) -> None:
        self.loop.run(self.runtimes.reconcile(tenant or self.tenant, GROUP, snapshot))

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self.loop.call(self.store.get, api_version, kind, namespace, name)
        except KubeError:
            return None

    def require(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        found = self.get(api_version, kind, namespace, name)
        assert found is not None, f"{kind} {namespace}/{name} does not exist"
        return found

    def login(self, namespace: str, account: str, role: str) -> hvac.Client:
        token = self.loop.call(self.store.issue_service_account_token, namespace, account)
        client = hvac.Client(url=self.bao.url)
        client.auth.kubernetes.login(role=role, jwt=token, mount_point=CLUSTER)
        return client


def seed_vault(client: hvac.Client) -> None:
    """What the Nautes API server stores per code repo (contract §3.4)."""
    for pid in (57, 58, 59):
        for permission, values in (
            (
                "readonly",
                {"deploykey": DEPLOY_KEY if pid == 57 else f"ro-{pid}", "fingerprint": "f", "id": "1"},
            ),
            ("readwrite", {"deploykey": f"rw-{pid}", "fingerprint": "f", "id": "2"}),
            ("accesstoken-api", {"accesstoken": f"glpat-token-of-{pid}", "id": "3"}),
        ):
            path = f"gitlab/repo-{pid}/default/{permission}"
            client.secrets.kv.v2.create_or_update_secret(path=path, secret=values, mount_point="git")
            policy = "\n".join(
                f'path "git/{kind}/{path}" {{ capabilities = ["read"] }}' for kind in ("data", "metadata")
            )
            client.sys.create_or_update_policy(name=f"gitlab-repo-{pid}-default-{permission}", policy=policy)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as scratch, BackgroundLoop() as loop:
        world = World(loop, Path(scratch))
        loop.run(world.start())
        try:
            seed_vault(world.root())
            loop.run(world.clusters.install(world.tenant))
            world.reconcile(product(ppr("pr-demo")))
            yield world
        finally:
            loop.run(world.stop())


def secret_text(secret: dict[str, Any], key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


def test_cluster_operator_installs_components_and_configures_vault_auth(world: World) -> None:
    for namespace in ("tekton-pipelines", "argo-events", "hnc-system", "vault", "argocd"):
        assert world.get("v1", "Namespace", None, namespace) is not None, namespace
    assert world.get("tekton.dev/v1beta1", "ClusterTask", None, "kubernetes-actions") is not None
    assert world.get("tekton.dev/v1beta1", "ClusterTask", None, "git-clone") is not None
    assert world.get("v1", "ServiceAccount", "argo-events", "argo-events-sa") is not None
    mounts = world.root().sys.list_auth_methods()["data"]
    assert mounts[f"{CLUSTER}/"]["type"] == "kubernetes"
    assert "elsewhere/" not in mounts  # another target's cluster
    config = world.root().read(f"auth/{CLUSTER}/config")["data"]
    assert config["kubernetes_host"] == world.kube.url
    assert config["disable_local_ca_jwt"] is True


def test_runtime_namespaces_account_and_hnc(world: World) -> None:
    product_ns = world.require("v1", "Namespace", None, PRODUCT)
    runtime_ns = world.require("v1", "Namespace", None, "pr-demo")

    assert product_ns["metadata"]["labels"]["resource.nautes.io/belongsto"] == PRODUCT
    assert product_ns["metadata"]["annotations"]["productUsers"] == "pr-demo"
    assert runtime_ns["metadata"]["labels"]["resource.nautes.io/belongsto"] == PRODUCT
    assert runtime_ns["metadata"]["annotations"]["spaceUsers"] == "pr-demo"
    hierarchy = world.require("hnc.x-k8s.io/v1alpha2", "HierarchyConfiguration", "pr-demo", "hierarchy")
    assert hierarchy["spec"]["parent"] == PRODUCT
    assert world.get("v1", "ServiceAccount", "pr-demo", "pr-demo") is not None
    binding = world.require("rbac.authorization.k8s.io/v1", "RoleBinding", "pr-demo", "pr-demo")
    assert binding["roleRef"]["name"] == "cluster-admin"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "pr-demo", "namespace": "pr-demo"}]
    group_binding = world.require("rbac.authorization.k8s.io/v1", "RoleBinding", PRODUCT, PRODUCT)
    assert group_binding["subjects"][0] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Group",
        "name": GROUP,
    }


def test_vault_role_lets_only_the_runtime_account_read_its_keys(world: World) -> None:
    role = world.root().read(f"auth/{CLUSTER}/role/pr-demo")["data"]
    assert role["bound_service_account_names"] == ["pr-demo"]
    assert role["bound_service_account_namespaces"] == ["pr-demo"]
    assert sorted(role["token_policies"]) == [
        "gitlab-repo-57-default-accesstoken-api",
        "gitlab-repo-57-default-readonly",
        "gitlab-repo-57-default-readwrite",
    ]

    client = world.login("pr-demo", "pr-demo", role="pr-demo")
    key = client.secrets.kv.v2.read_secret_version(
        path="gitlab/repo-57/default/readonly", mount_point="git", raise_on_deleted_version=True
    )
    assert key["data"]["data"]["deploykey"] == DEPLOY_KEY
    with pytest.raises(Forbidden):
        client.secrets.kv.v2.read_secret_version(
            path="gitlab/repo-59/default/readonly", mount_point="git", raise_on_deleted_version=True
        )
    with pytest.raises((Forbidden, InvalidRequest)):
        world.login("pr-demo", "default", role="pr-demo")  # another service account of the namespace


def test_pipeline_key_and_event_objects(world: World) -> None:
    ssh_key = world.require("v1", "Secret", "pr-demo", "pipeline-readonly-ssh-key")
    assert secret_text(ssh_key, "id_rsa") == DEPLOY_KEY

    uid = f"{PRODUCT}-pr-demo"
    source = world.require("argoproj.io/v1alpha1", "EventSource", "argo-events", f"{uid}-gitlab")
    assert source["metadata"]["annotations"] == {"code-repos": "repo-57"}
    entry = source["spec"]["gitlab"]["repo-57"]
    assert entry["webhook"] == {
        "endpoint": f"/{uid}/repo-57",
        "method": "POST",
        "port": "12000",
        "url": WEBHOOK_URL,
    }
    assert entry["events"] == ["PushEvents"]
    assert entry["projects"] == ["57"]
    assert entry["accessToken"] == {"name": f"{uid}-repo-57-access-token", "key": "token"}
    access = world.require("v1", "Secret", "argo-events", f"{uid}-repo-57-access-token")
    assert secret_text(access, "token") == "glpat-token-of-57"
    assert secret_text(world.require("v1", "Secret", "argo-events", f"{uid}-repo-57-secret-token"), "token")
    ingress = world.require("networking.k8s.io/v1", "Ingress", "argo-events", f"{uid}-gitlab")
    assert ingress["spec"]["rules"][0]["host"] == f"webhook.{CLUSTER}.127.0.0.1.nip.io"

    sensor = world.require("argoproj.io/v1alpha1", "Sensor", "argo-events", f"{uid}-0")
    assert sensor["metadata"]["labels"] == {"nautes.argoevents.consumer": uid}
    [dependency] = sensor["spec"]["dependencies"]
    assert dependency["name"] == f"{uid}-repo-57-gitlab"
    assert (dependency["eventSourceName"], dependency["eventName"]) == (f"{uid}-gitlab", "repo-57")
    assert dependency["filters"]["data"][0]["value"] == ["Push Hook"]
    trigger = sensor["spec"]["triggers"][0]["template"]["k8s"]
    assert trigger["operation"] == "create"
    assert trigger["source"]["resource"]["metadata"] == {"generateName": "hooks-", "namespace": "pr-demo"}


def test_an_event_source_the_project_may_not_use_is_left_out(world: World) -> None:
    world.reconcile(product(ppr("pr-demo"), ppr("pr-mixed", event_repos=("repo-58", "repo-59"))))
    try:
        uid = f"{PRODUCT}-pr-mixed"
        source = world.require("argoproj.io/v1alpha1", "EventSource", "argo-events", f"{uid}-gitlab")
        assert list(source["spec"]["gitlab"]) == ["repo-58"]  # repo-59: illegal
        assert world.get("argoproj.io/v1alpha1", "Sensor", "argo-events", f"{uid}-0") is not None
        assert world.get("argoproj.io/v1alpha1", "Sensor", "argo-events", f"{uid}-1") is None
        policies = world.root().read(f"auth/{CLUSTER}/role/pr-mixed")["data"]["token_policies"]
        assert "gitlab-repo-58-default-accesstoken-api" in policies
        assert "gitlab-repo-59-default-accesstoken-api" not in policies
    finally:
        world.reconcile(product(ppr("pr-demo")))


def test_removing_a_runtime_removes_what_it_created(world: World) -> None:
    world.reconcile(product(ppr("pr-demo"), ppr("pr-extra", namespace="extra-ns")))
    uid = f"{PRODUCT}-pr-extra"
    assert world.get("v1", "Namespace", None, "extra-ns") is not None
    assert world.root().read(f"auth/{CLUSTER}/role/pr-extra") is not None

    world.reconcile(product(ppr("pr-demo")))

    assert world.get("v1", "Namespace", None, "extra-ns") is None
    assert world.get("argoproj.io/v1alpha1", "EventSource", "argo-events", f"{uid}-gitlab") is None
    assert world.get("argoproj.io/v1alpha1", "Sensor", "argo-events", f"{uid}-0") is None
    assert world.get("v1", "Secret", "argo-events", f"{uid}-repo-57-access-token") is None
    assert world.root().read(f"auth/{CLUSTER}/role/pr-extra") is None
    assert world.get("v1", "Namespace", None, "pr-demo") is not None  # the other runtime stays
    assert world.get("v1", "Namespace", None, PRODUCT) is not None


def test_a_runtime_whose_cluster_is_elsewhere_is_not_deployed(world: World) -> None:
    moved = product(ppr("pr-demo"))
    elsewhere = product_from_documents(
        PRODUCT,
        GROUP,
        [
            code_repo(57, "coderepo-sc-demo", "project-demo"),
            nautes_resource(
                "Environment", "env-dev-demo", {"cluster": "elsewhere", "envType": "dev", "product": PRODUCT}
            ),
            ppr("pr-demo"),
        ],
    )

    world.reconcile(elsewhere)
    try:
        assert world.get("v1", "Namespace", None, "pr-demo") is None
        assert world.get("v1", "Namespace", None, PRODUCT) is None
        assert world.root().read(f"auth/{CLUSTER}/role/pr-demo") is None
    finally:
        world.reconcile(moved)
    assert world.get("v1", "Namespace", None, "pr-demo") is not None


def test_a_runtime_failing_revalidation_is_not_deployed_and_a_deployed_one_is_kept(world: World) -> None:
    foreign = ppr("pr-foreign", namespace="foreign-ns")
    foreign["spec"]["pipelineSource"] = "repo-59"  # owned by another project, not bound to project-demo
    hooked = ppr("pr-demo")
    hooked["spec"]["hooks"] = {"preHooks": [{"name": "log"}]}  # no hook plugin is installed

    world.reconcile(product(hooked, foreign))
    try:
        assert world.get("v1", "Namespace", None, "foreign-ns") is None
        assert world.runtimes.deployed(GROUP, "pr-foreign") is None
        assert world.runtimes.deployed(GROUP, "pr-demo") is not None
        assert world.get("v1", "Namespace", None, "pr-demo") is not None
    finally:
        world.reconcile(product(ppr("pr-demo")))
