"""The Tekton executor end to end: real ObjectStore + KubeApiServer, real OpenBao, real git, the registry.

One world (started once per module on a background event loop) hosts everything; each test creates its
own namespace, service account, registry-auth ConfigMap and PipelineRun -- the quickstart pipeline as the
v0.4 scenario renders it -- and watches the PipelineRun to completion through the store.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import gitlab
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from kubernetes import client as kube_client
from nautes_refstack.gitlab import GitLab
from nautes_refstack.kube import KubeApiServer, ObjectStore
from nautes_refstack.kube.tls import self_signed_ca_pem
from nautes_refstack.registry import Registry
from nautes_refstack.tekton import TektonController, install_tekton
from nautes_refstack.tekton.vault_agent import INJECTOR_AUTH_PATH_ENV, INJECTOR_NAME
from nautes_refstack.vault import OpenBao, free_port
from support.loop import BackgroundLoop

CLUSTER = "runtime"
REGISTRY_USER, REGISTRY_PASSWORD = "pipeline-bot", "registry-pw-123"
TEKTON = "tekton.dev/v1beta1"
GIT_INIT_IMAGE = "gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/git-init:v0.29.0"
REPO_SECRET = "git/data/gitlab/repo-7/default/readwrite"
DOCKERFILE = """FROM scratch
WORKDIR /home
ENV APP_HOME=/home
COPY pom.xml /home/
COPY src /home/src
LABEL org.opencontainers.image.title="devops-sample"
EXPOSE 8080
ENTRYPOINT ["/home/app"]
"""
POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-parent</artifactId>
    <version>2.1.11.RELEASE</version></parent>
  <groupId>io.kubesphere.devops</groupId>
  <artifactId>devops-sample</artifactId>
  <version>0.0.4-SNAPSHOT</version>
</project>
"""
MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: devops-sample
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/lanbingcloud/devops-sample:latest
"""


@dataclass
class DeployKey:
    private: str
    public: str

    @classmethod
    def generate(cls) -> DeployKey:
        key = ec.generate_private_key(ec.SECP256R1())
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        return cls(private.decode(), public.decode())


@dataclass
class Repositories:
    """Two GitLab projects with the world's deploy key enabled (can_push), cloned over SSH by the tasks."""

    source: Any  # python-gitlab Project
    deploy: Any

    def head(self, project: Any) -> Any:
        return project.commits.get("main")


@dataclass
class World:
    loop: BackgroundLoop
    store: ObjectStore
    vault: OpenBao
    registry: Registry
    gitlab: gitlab.Gitlab
    group_id: int
    deploy_key: DeployKey

    def repositories(self, name: str, dockerfile: str = DOCKERFILE) -> Repositories:
        """A fresh source-code project and deployment project (each test pushes to its own)."""
        files = {"pom.xml": POM, "Dockerfile": dockerfile, "src/Main.java": "class Main {}\n"}
        source = self._project(f"{name}-source", files)
        deploy = self._project(f"{name}-deploy", {"deployments/test/devops-sample.yaml": MANIFEST})
        return Repositories(source, deploy)

    def _project(self, name: str, files: dict[str, str]) -> Any:
        project = self.gitlab.projects.create({"name": name, "namespace_id": self.group_id})
        for path, content in files.items():
            project.files.create(
                {"file_path": path, "branch": "main", "content": content, "commit_message": path}
            )
        project.keys.create({"title": "pipeline", "key": self.deploy_key.public, "can_push": True})
        return project


async def vault_call(vault: OpenBao, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    async with (
        aiohttp.ClientSession(headers={"X-Vault-Token": vault.root_token}) as http,
        http.request(method, f"{vault.url}/v1/{path}", json=body) as response,
    ):
        assert response.status in (200, 204), await response.text()


async def configure_vault(vault: OpenBao, store: ObjectStore, kube_url: str, deploy_key: DeployKey) -> None:
    """Kubernetes auth at auth/runtime (as the cluster operator sets it up) and the deploy key in KV."""
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vault"}})
    reviewer = {"name": "vault-auth", "namespace": "vault"}
    store.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": reviewer})
    await vault_call(vault, "POST", f"sys/auth/{CLUSTER}", {"type": "kubernetes"})
    await vault_call(
        vault,
        "POST",
        f"auth/{CLUSTER}/config",
        {
            "kubernetes_host": kube_url,
            "kubernetes_ca_cert": self_signed_ca_pem(),
            "token_reviewer_jwt": store.issue_service_account_token("vault", "vault-auth"),
            "disable_local_ca_jwt": True,
        },
    )
    policy = f'path "{REPO_SECRET}" {{ capabilities = ["read"] }}'
    await vault_call(vault, "POST", "sys/policies/acl/repo-7", {"policy": policy})
    await vault_call(vault, "POST", REPO_SECRET, {"data": {"deploykey": deploy_key.private}})


async def create_role(vault: OpenBao, role: str, namespace: str) -> None:
    await vault_call(
        vault,
        "POST",
        f"auth/{CLUSTER}/role/{role}",
        {
            "bound_service_account_names": [role],
            "bound_service_account_namespaces": [namespace],
            "policies": ["repo-7"],
        },
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("tekton")
    store = ObjectStore()
    vault = OpenBao(log_path=root / "openbao.log", port=free_port())
    kube = KubeApiServer(store, "admin-token-for-tests")
    registry = Registry(REGISTRY_USER, REGISTRY_PASSWORD)
    gitlab_server = GitLab(root / "gitlab")
    controller = TektonController(store, vault.url, work_dir=root / "work")
    deploy_key = DeployKey.generate()

    async def start() -> str:
        await asyncio.gather(vault.start(), kube.start(), registry.start(), gitlab_server.start())
        await configure_vault(vault, store, kube.url, deploy_key)
        install_tekton(store)
        install_vault_agent_injector(store)
        await controller.start()
        # GitLab seeds ``root`` itself (gitlab/root_user.py): the test's own administrator is another user.
        admin = gitlab_server.create_user("pipeline-admin", "Admin", "admin@pipeline.test", is_admin=True)
        return gitlab_server.create_personal_access_token(admin, "e2e", ["api"])

    async def stop() -> None:
        await controller.stop()
        await asyncio.gather(registry.stop(), kube.stop(), vault.stop(), gitlab_server.stop())

    with BackgroundLoop("tekton-tests", timeout=120) as loop:
        try:  # stop whatever started, also when the start itself fails (an OpenBao would outlive the test)
            token = loop.run(start(), timeout=60)
            client = gitlab.Gitlab(gitlab_server.url, private_token=token)
            group = client.groups.create({"name": "devops", "path": "devops"})
            yield World(loop, store, vault, registry, client, group.id, deploy_key)
        finally:
            loop.run(stop(), timeout=60)


def install_vault_agent_injector(store: ObjectStore) -> None:
    """The cluster's vault-agent injector, installed with ``authPath: auth/<cluster>`` as Nautes does."""
    container = {
        "name": "sidecar-injector",
        "env": [{"name": INJECTOR_AUTH_PATH_ENV, "value": f"auth/{CLUSTER}"}],
    }
    store.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": INJECTOR_NAME, "namespace": "vault"},
            "spec": {"template": {"spec": {"containers": [container]}}},
        }
    )


# The quickstart pipeline (nautes-examples/user-pipeline pipelines/main.yaml) as the v0.4 scenario renders
# it: the runtime's service account instead of nautes-sa, and the image tagged 0.0.1-<commit>.
def vault_annotations(role: str) -> dict[str, str]:
    prefix = "vault.hashicorp.com/"
    return {
        prefix + "agent-inject": "true",
        prefix + "agent-pre-populate-only": "true",
        prefix + "role": role,
        prefix + "agent-run-as-user": "0",
        prefix + "agent-inject-secret-id_ecdsa": REPO_SECRET,
        prefix + "secret-volume-path-id_ecdsa": "/root/.ssh",
        prefix + "agent-inject-perms-id_ecdsa": "0400",
        prefix + "agent-inject-template-id_ecdsa": (
            f'{{{{- with secret "{REPO_SECRET}" -}}}}\n{{{{ .Data.data.deploykey }}}}\n{{{{- end -}}}}\n'
        ),
    }


def quickstart_pipeline_run(
    world: World, namespace: str, account: str, repos: Repositories
) -> dict[str, Any]:
    def clone(name: str, url: str, subdirectory: str, after: list[str]) -> dict[str, Any]:
        task: dict[str, Any] = {
            "name": name,
            "taskRef": {"name": "git-clone", "kind": "ClusterTask"},
            "workspaces": [{"name": "output", "workspace": "source-volume"}],
            "params": [
                {"name": "url", "value": url},
                {"name": "revision", "value": "$(params.REVISION)"},
                {"name": "subdirectory", "value": subdirectory},
            ],
        }
        if after:
            task["runAfter"] = after
        return task

    image = f"{world.registry.host}/devops-sample:0.0.1-$(tasks.git-clone-sourcecode.results.commit)"
    script = (
        "cd deployment\n"
        'sed -i -e "s#ghcr.io/lanbingcloud/devops-sample.*#$(tasks.image-build.results.IMAGE_URL)#g" '
        "deployments/test/devops-sample.yaml\n"
        "git add deployments/test/devops-sample.yaml\n"
        'git commit -a -m "automatic update by pipeline bot: $(tasks.image-build.results.IMAGE_URL)"\n'
        "git push origin HEAD:$(params.REVISION) --force\n"
    )
    return {
        "apiVersion": TEKTON,
        "kind": "PipelineRun",
        "metadata": {"name": "main-pipiline-n1a2b", "namespace": namespace, "labels": {"branch": "main"}},
        "spec": {
            "params": [{"name": "REVISION", "value": "main"}],
            "taskRunSpecs": [
                {
                    "pipelineTaskName": task,
                    "taskServiceAccountName": account,
                    "metadata": {"annotations": vault_annotations(account)},
                }
                for task in ("git-clone-sourcecode", "git-clone-deployment", "manifest-update")
            ],
            "pipelineSpec": {
                "params": [{"name": "REVISION", "type": "string", "default": ""}],
                "tasks": [
                    clone("git-clone-sourcecode", repos.source.ssh_url_to_repo, "sourcecode", []),
                    clone(
                        "git-clone-deployment",
                        repos.deploy.ssh_url_to_repo,
                        "deployment",
                        ["git-clone-sourcecode"],
                    ),
                    {
                        "name": "mvn-build",
                        "runAfter": ["git-clone-deployment"],
                        "taskRef": {"name": "maven", "kind": "ClusterTask"},
                        "workspaces": [
                            {"name": "source", "workspace": "source-volume"},
                            {"name": "maven-settings", "workspace": "empty-dir"},
                            {"name": "maven-repository", "workspace": "maven-repository-volume"},
                        ],
                        "params": [
                            {
                                "name": "GOALS",
                                "value": ["-DskipTests", "clean", "install", "-f", "sourcecode/pom.xml"],
                            }
                        ],
                    },
                    {
                        "name": "image-build",
                        "runAfter": ["mvn-build"],
                        "taskRef": {"name": "kaniko", "kind": "ClusterTask"},
                        "workspaces": [
                            {"name": "source", "workspace": "source-volume"},
                            {"name": "dockerconfig", "workspace": "dockerconfig-volume"},
                        ],
                        "params": [
                            {"name": "IMAGE", "value": image},
                            {"name": "DOCKERFILE", "value": "./sourcecode/Dockerfile"},
                            {"name": "CONTEXT", "value": "./sourcecode"},
                        ],
                    },
                    {
                        "name": "manifest-update",
                        "runAfter": ["image-build"],
                        "taskRef": {"name": "git-cli", "kind": "ClusterTask"},
                        "workspaces": [{"name": "source", "workspace": "source-volume"}],
                        "params": [
                            {
                                "name": "BASE_IMAGE",
                                "value": GIT_INIT_IMAGE,
                            },
                            {"name": "GIT_USER_NAME", "value": "pipelinerobot"},
                            {"name": "GIT_USER_EMAIL", "value": "pipelinerobot@nautes.io"},
                            {"name": "GIT_SCRIPT", "value": script},
                        ],
                    },
                ],
                "workspaces": [
                    {"name": "source-volume"},
                    {"name": "empty-dir"},
                    {"name": "maven-repository-volume"},
                    {"name": "dockerconfig-volume"},
                ],
            },
            "workspaces": [
                {"name": "empty-dir", "emptyDir": {}},
                {
                    "name": "source-volume",
                    "volumeClaimTemplate": {
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "50M"}},
                        }
                    },
                },
                {
                    "name": "maven-repository-volume",
                    "volumeClaimTemplate": {
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "500M"}},
                        }
                    },
                },
                {"name": "dockerconfig-volume", "configMap": {"name": "registry-auth"}},
            ],
        },
    }


def prepare_namespace(
    world: World, namespace: str, account: str, *, registry_auth: bool = True, role: bool = True
) -> None:
    """What the runtime operator and the scenario set up: namespace, SA, Vault role, registry-auth."""

    def create() -> None:
        world.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        if account != "default":  # the service-account controller already made "default"
            account_object = {"name": account, "namespace": namespace}
            world.store.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": account_object})
        if registry_auth:
            auth = base64.b64encode(f"{REGISTRY_USER}:{REGISTRY_PASSWORD}".encode()).decode()
            config = json.dumps({"auths": {world.registry.host: {"auth": auth}}})
            world.store.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "registry-auth", "namespace": namespace},
                    "data": {"config.json": config},
                }
            )

    world.loop.call(create)
    if role:
        world.loop.run(create_role(world.vault, account, namespace))


async def _wait_for_completion(
    store: ObjectStore, namespace: str, name: str, timeout: float
) -> tuple[dict[str, Any], list[str]]:
    """The finished PipelineRun and every condition reason/message it went through (via a watch)."""
    seen: list[str] = []
    stream = store.watch(TEKTON, "PipelineRun", namespace)
    try:
        async with asyncio.timeout(timeout):
            async for event in stream:
                if event.object["metadata"]["name"] != name:
                    continue
                conditions = (event.object.get("status") or {}).get("conditions") or []
                if conditions:
                    label = f"{conditions[0]['status']}/{conditions[0]['reason']}: {conditions[0]['message']}"
                    if not seen or seen[-1] != label:
                        seen.append(label)
                    if conditions[0]["status"] != "Unknown":
                        return event.object, seen
    finally:
        stream.close()
    raise AssertionError("unreachable")


def run_pipeline(
    world: World, pipeline_run: dict[str, Any], timeout: float = 60
) -> tuple[dict[str, Any], list[str], float]:
    namespace, name = pipeline_run["metadata"]["namespace"], pipeline_run["metadata"]["name"]

    async def go() -> tuple[dict[str, Any], list[str], float]:
        started = time.monotonic()
        waiter = asyncio.ensure_future(_wait_for_completion(world.store, namespace, name, timeout))
        await asyncio.sleep(0)
        world.store.create(copy.deepcopy(pipeline_run))
        finished, seen = await waiter
        return finished, seen, time.monotonic() - started

    return world.loop.run(go())


def task_runs(world: World, namespace: str) -> dict[str, dict[str, Any]]:
    found = world.loop.call(lambda: world.store.list(TEKTON, "TaskRun", namespace))
    return {item["metadata"]["labels"]["tekton.dev/pipelineTask"]: item for item in found}


def condition(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["status"]["conditions"][0]


def pod_log(world: World, namespace: str, pod: str, container: str) -> str:
    return world.loop.call(lambda: world.store.pod_log(namespace, pod, container))


def test_quickstart_pipeline_succeeds(world: World) -> None:
    prepare_namespace(world, "demo-ok", "pr-demo")
    repos = world.repositories("ok")
    finished, seen, elapsed = run_pipeline(world, quickstart_pipeline_run(world, "demo-ok", "pr-demo", repos))
    print(f"quickstart pipeline wall time: {elapsed:.2f}s")
    assert condition(finished)["reason"] == "Succeeded", condition(finished)
    assert condition(finished)["message"] == "Tasks Completed: 5 (Failed: 0, Cancelled 0), Skipped: 0"
    assert seen[0].startswith("Unknown/Running: Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 5")
    assert "Unknown/Running: Tasks Completed: 2 (Failed: 0, Cancelled 0), Incomplete: 3, Skipped: 0" in seen
    status = finished["status"]
    assert status["startTime"]
    assert status["completionTime"]
    assert len(status["taskRuns"]) == 5
    assert finished["metadata"]["labels"] == {"branch": "main", "tekton.dev/pipeline": "main-pipiline-n1a2b"}

    runs = task_runs(world, "demo-ok")
    commit = {r["name"]: r["value"] for r in runs["git-clone-sourcecode"]["status"]["taskResults"]}["commit"]
    assert commit == repos.head(repos.source).id
    assert runs["git-clone-sourcecode"]["metadata"]["name"] == "main-pipiline-n1a2b-git-clone-sourcecode"
    assert runs["git-clone-sourcecode"]["metadata"]["labels"]["branch"] == "main"
    assert runs["git-clone-sourcecode"]["spec"]["serviceAccountName"] == "pr-demo"
    assert runs["mvn-build"]["status"]["conditions"][0]["message"].startswith(
        "maven not executed in the reference stack; verified sourcecode/pom.xml "
        "(io.kubesphere.devops:devops-sample:0.0.4-SNAPSHOT) "
        "and goals [-DskipTests clean install -f sourcecode/pom.xml]"
    )

    image_results = {r["name"]: r["value"] for r in runs["image-build"]["status"]["taskResults"]}
    tag = f"0.0.1-{commit}"
    assert image_results["IMAGE_URL"] == f"{world.registry.host}/devops-sample:{tag}"
    auth = (REGISTRY_USER, REGISTRY_PASSWORD)
    manifest = requests.get(f"{world.registry.url}/v2/devops-sample/manifests/{tag}", auth=auth, timeout=5)
    assert manifest.headers["Docker-Content-Digest"] == image_results["IMAGE_DIGEST"]
    config_digest = manifest.json()["config"]["digest"]
    config = requests.get(
        f"{world.registry.url}/v2/devops-sample/blobs/{config_digest}", auth=auth, timeout=5
    ).json()
    assert config["config"]["WorkingDir"] == "/home"
    assert config["config"]["Entrypoint"] == ["/home/app"]
    assert config["config"]["ExposedPorts"] == {"8080/tcp": {}}

    pushed = repos.head(repos.deploy).title
    assert pushed == f"automatic update by pipeline bot: {image_results['IMAGE_URL']}"
    manifest_text = repos.deploy.files.raw("deployments/test/devops-sample.yaml", ref="main").decode()
    assert f"image: {image_results['IMAGE_URL']}" in manifest_text
    cli_commit = {r["name"]: r["value"] for r in runs["manifest-update"]["status"]["taskResults"]}["commit"]
    assert cli_commit == repos.head(repos.deploy).id

    clone_pod = runs["git-clone-sourcecode"]["status"]["podName"]
    assert [(c.name, c.image_id) for c in container_statuses(world, "demo-ok", clone_pod)] == [
        ("step-clone", runs["git-clone-sourcecode"]["status"]["steps"][0]["imageID"])
    ]
    agent_log = pod_log(world, "demo-ok", clone_pod, "vault-agent-init")
    assert 'rendered "(dynamic)" => "/root/.ssh/id_ecdsa"' in agent_log
    assert "PRIVATE KEY" not in agent_log
    clone_log = pod_log(world, "demo-ok", clone_pod, "step-clone")
    assert "Successfully cloned" in clone_log
    assert "Initialized empty Git repository in /workspace/output/sourcecode/.git/\n" in clone_log
    host_root = str(world.vault.log_path.parent)  # the emulation's work dir is under it: no pod shows it
    for pod in world.loop.call(lambda: world.store.list("v1", "Pod", "demo-ok")):
        for container in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
            log = pod_log(world, "demo-ok", pod["metadata"]["name"], container["name"])
            assert host_root not in log, f"{pod['metadata']['name']}/{container['name']}: {log}"


def container_statuses(world: World, namespace: str, name: str, init: bool = False) -> list[Any]:
    """The pod's (init) container statuses as the kubernetes client's typed API reads them; it refuses a
    status that lacks a required field (``imageID``, ``restartCount``...)."""
    pod = world.loop.call(lambda: world.store.get("v1", "Pod", namespace, name))
    typed = kube_client.V1Pod.from_dict(pod)
    assert typed is not None
    assert typed.status is not None
    statuses = typed.status.init_container_statuses if init else typed.status.container_statuses
    assert statuses is not None
    return list(statuses)


def skipped_names(finished: dict[str, Any]) -> list[str]:
    skipped = finished["status"].get("skippedTasks") or []
    assert all(item["reason"] == "PipelineRun was stopping" for item in skipped)
    return [item["name"] for item in skipped]


def test_missing_cluster_task_fails_before_any_task_runs(world: World) -> None:
    prepare_namespace(world, "fault-clustertask", "pr-demo")
    pipeline_run = quickstart_pipeline_run(world, "fault-clustertask", "pr-demo", world.repositories("ct"))
    pipeline_run["spec"]["pipelineSpec"]["tasks"][2]["taskRef"]["name"] = "maven-3"
    finished, _, _ = run_pipeline(world, pipeline_run)
    assert condition(finished)["reason"] == "CouldntGetTask"
    assert condition(finished)["message"] == (
        "Pipeline fault-clustertask/main-pipiline-n1a2b can't be Run; it contains Tasks that don't exist: "
        'Couldn\'t retrieve Task "maven-3": clustertasks.tekton.dev "maven-3" not found'
    )
    assert finished["status"]["completionTime"]
    assert task_runs(world, "fault-clustertask") == {}


def test_missing_service_account_fails_like_a_v03_pipeline_on_v04(world: World) -> None:
    prepare_namespace(world, "fault-sa", "pr-demo")
    pipeline_run = quickstart_pipeline_run(world, "fault-sa", "pr-demo", world.repositories("sa"))
    for task_run_spec in pipeline_run["spec"]["taskRunSpecs"]:
        task_run_spec["taskServiceAccountName"] = "nautes-sa"
    finished, _, _ = run_pipeline(world, pipeline_run)
    assert condition(finished)["reason"] == "Failed"
    assert condition(finished)["message"] == "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 4"
    assert skipped_names(finished) == ["git-clone-deployment", "mvn-build", "image-build", "manifest-update"]
    clone = task_runs(world, "fault-sa")["git-clone-sourcecode"]
    assert condition(clone)["reason"] == "CouldntGetTask"
    assert condition(clone)["message"] == (
        'failed to create task run pod "main-pipiline-n1a2b-git-clone-sourcecode": '
        "translating TaskSpec to Pod: "
        'serviceaccounts "nautes-sa" not found. Maybe missing or invalid Task fault-sa/git-clone'
    )
    assert clone["status"]["podName"] == ""
    assert list(task_runs(world, "fault-sa")) == ["git-clone-sourcecode"]


def test_missing_registry_auth_configmap_fails_the_image_build(world: World) -> None:
    prepare_namespace(world, "fault-cm", "pr-demo", registry_auth=False)
    finished, _, _ = run_pipeline(
        world, quickstart_pipeline_run(world, "fault-cm", "pr-demo", world.repositories("cm"))
    )
    assert condition(finished)["reason"] == "Failed"
    assert condition(finished)["message"] == "Tasks Completed: 4 (Failed: 1, Cancelled 0), Skipped: 1"
    assert skipped_names(finished) == ["manifest-update"]
    build = task_runs(world, "fault-cm")["image-build"]
    assert condition(build)["reason"] == "CreateContainerConfigError"
    assert 'configmap "registry-auth" not found' in condition(build)["message"]
    pod = world.loop.call(lambda: world.store.get("v1", "Pod", "fault-cm", build["status"]["podName"]))
    assert pod["status"]["phase"] == "Pending"
    assert container_statuses(world, "fault-cm", build["status"]["podName"])[0].image_id == ""
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {
        "reason": "CreateContainerConfigError",
        "message": 'configmap "registry-auth" not found',
    }


def test_registry_refuses_a_push_without_credentials(world: World) -> None:
    prepare_namespace(world, "fault-auth", "pr-demo", registry_auth=False)
    world.loop.call(
        lambda: world.store.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "registry-auth", "namespace": "fault-auth"},
                "data": {"config.json": json.dumps({"auths": {}})},
            }
        )
    )
    finished, _, _ = run_pipeline(
        world, quickstart_pipeline_run(world, "fault-auth", "pr-demo", world.repositories("auth"))
    )
    build = task_runs(world, "fault-auth")["image-build"]
    assert condition(build)["reason"] == "Failed"
    assert condition(build)["message"].startswith('"step-build-and-push" exited with code 1')
    log = pod_log(world, "fault-auth", build["status"]["podName"], "step-build-and-push")
    assert (
        f"POST {world.registry.url}/v2/devops-sample/blobs/uploads/: UNAUTHORIZED: authentication required"
        in log
    )
    assert "error checking push permissions" in log
    write_url = build["status"]["steps"][1]
    assert write_url["terminated"]["exitCode"] == 1
    assert skipped_names(finished) == ["manifest-update"]


def test_base_image_cannot_be_pulled(world: World) -> None:
    prepare_namespace(world, "fault-from", "pr-demo")
    dockerfile = "FROM openjdk:8\nWORKDIR /home\nCOPY target/*.jar /home\nENTRYPOINT java -jar *.jar\n"
    repos = world.repositories("from", dockerfile=dockerfile)
    finished, _, _ = run_pipeline(world, quickstart_pipeline_run(world, "fault-from", "pr-demo", repos))
    assert condition(finished)["message"] == "Tasks Completed: 4 (Failed: 1, Cancelled 0), Skipped: 1"
    build = task_runs(world, "fault-from")["image-build"]
    pod = build["status"]["podName"]
    assert condition(build)["message"] == (
        f'"step-build-and-push" exited with code 1 (image: "{build["status"]["steps"][0]["imageID"]}"); '
        f"for logs run: kubectl -n fault-from logs {pod} -c step-build-and-push\n"
    )
    log = pod_log(world, "fault-from", pod, "step-build-and-push")
    assert "base image 'openjdk:8' cannot be pulled in the reference stack" in log
    assert "only FROM scratch images can be built" in log


def test_vault_role_refusal_fails_the_init_container(world: World) -> None:
    """The role exists but is bound to another namespace: Vault refuses the login, the pod never starts."""
    prepare_namespace(world, "fault-vault", "pr-other", role=False)
    world.loop.run(create_role(world.vault, "pr-other", "elsewhere"))
    repos = world.repositories("vault")
    finished, _, _ = run_pipeline(world, quickstart_pipeline_run(world, "fault-vault", "pr-other", repos))
    assert condition(finished)["message"] == "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 4"
    clone = task_runs(world, "fault-vault")["git-clone-sourcecode"]
    pod_name = clone["status"]["podName"]
    assert condition(clone)["reason"] == "Failed"
    assert condition(clone)["message"] == (
        'init container failed, "vault-agent-init" exited with code 1 (image: "hashicorp/vault:1.10.4"): '
        f'vault login at auth/{CLUSTER} with role "pr-other" failed: '
        "Code: 403. Errors: namespace not authorized; "
        f"for logs run: kubectl -n fault-vault logs {pod_name} -c vault-agent-init\n"
    )
    pod = world.loop.call(lambda: world.store.get("v1", "Pod", "fault-vault", pod_name))
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert (
        container_statuses(world, "fault-vault", pod_name, init=True)[0].image_id == "hashicorp/vault:1.10.4"
    )
    assert "[ERROR] auth.handler: error authenticating" in pod_log(
        world, "fault-vault", pod_name, "vault-agent-init"
    )
    assert pod_log(world, "fault-vault", pod_name, "step-clone") == ""
    assert clone["status"]["steps"] == [
        {
            "name": "clone",
            "container": "step-clone",
            "imageID": clone["status"]["steps"][0]["imageID"],
            "waiting": {"reason": "PodInitializing"},
        }
    ]


def git_cli_task(name: str, script: str, after: list[str] | None = None) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": name,
        "taskRef": {"name": "git-cli", "kind": "ClusterTask"},
        "workspaces": [{"name": "source", "workspace": "source"}],
        "params": [{"name": "GIT_SCRIPT", "value": script}],
    }
    if after:
        task["runAfter"] = after
    return task


def test_v1alpha1_run_with_pipeline_ref_and_secret_workspace(world: World) -> None:
    """A hooks-style run: v1alpha1, generateName, spec.serviceAccountName, a Secret ssh-directory."""
    prepare_namespace(world, "hooks", "pr-demo", registry_auth=False)
    repos = world.repositories("hooks")
    key = base64.b64encode(world.deploy_key.private.encode()).decode()
    clone = {
        "name": "git-clone",
        "taskRef": {"name": "git-clone", "kind": "ClusterTask"},
        "params": [
            {"name": "url", "value": repos.source.ssh_url_to_repo},
            {"name": "revision", "value": "$(params.Revision)"},
            {"name": "subdirectory", "value": "$(context.pipelineRun.name)"},
        ],
        "workspaces": [
            {"name": "output", "workspace": "source"},
            {"name": "ssh-directory", "workspace": "ssh-creds"},
        ],
    }
    inspect = git_cli_task(
        "inspect",
        'ls -l "$HOME/.ssh"\n'
        'head -1 "$(workspaces.source.path)/$(context.pipelineRun.name)/pom.xml"\n'
        "cd $(context.pipelineRun.name)\n",
        ["git-clone"],
    )
    inspect["workspaces"].append({"name": "ssh-directory", "workspace": "ssh-creds"})

    def objects() -> None:
        world.store.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "pipeline-readonly-ssh-key", "namespace": "hooks"},
                "data": {"id_rsa": key},
            }
        )
        world.store.create(
            {
                "apiVersion": TEKTON,
                "kind": "Pipeline",
                "metadata": {"name": "hooks-pipeline", "namespace": "hooks"},
                "spec": {
                    "params": [{"name": "Revision"}],
                    "workspaces": [{"name": "source"}, {"name": "ssh-creds"}],
                    "tasks": [clone, inspect],
                },
            }
        )

    world.loop.call(objects)
    pipeline_run = {
        "apiVersion": "tekton.dev/v1alpha1",
        "kind": "PipelineRun",
        "metadata": {"name": "hooks-x7k2p", "namespace": "hooks"},
        "spec": {
            "serviceAccountName": "pr-demo",
            "pipelineRef": {"name": "hooks-pipeline"},
            "params": [{"name": "Revision", "value": "refs/heads/main"}],
            "workspaces": [
                {
                    "name": "source",
                    "volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": "10M"}}}},
                },
                {"name": "ssh-creds", "secret": {"secretName": "pipeline-readonly-ssh-key"}},
            ],
        },
    }
    finished, _, _ = run_pipeline(world, pipeline_run)
    assert condition(finished)["reason"] == "Succeeded", condition(finished)
    runs = task_runs(world, "hooks")
    assert runs["git-clone"]["spec"]["serviceAccountName"] == "pr-demo"
    assert runs["git-clone"]["metadata"]["labels"]["tekton.dev/pipeline"] == "hooks-pipeline"
    claim = runs["git-clone"]["spec"]["workspaces"][0]["persistentVolumeClaim"]["claimName"]
    assert claim.startswith("pvc-")
    listing = pod_log(world, "hooks", runs["inspect"]["status"]["podName"], "step-git")
    assert "-r-------- 1 root root" in listing
    assert "id_rsa" in listing
    assert '<?xml version="1.0" encoding="UTF-8"?>' in listing
    commit = {r["name"]: r["value"] for r in runs["inspect"]["status"]["taskResults"]}["commit"]
    assert commit == repos.head(repos.source).id


def test_timeout_cancels_the_running_task(world: World) -> None:
    prepare_namespace(world, "slow", "default", registry_auth=False, role=False)
    pipeline_run = {
        "apiVersion": TEKTON,
        "kind": "PipelineRun",
        "metadata": {"name": "slow", "namespace": "slow"},
        "spec": {
            "timeout": "1s",
            "pipelineSpec": {
                "workspaces": [{"name": "source"}],
                "tasks": [git_cli_task("wait", "sleep 30\n"), git_cli_task("after", "true\n", ["wait"])],
            },
            "workspaces": [{"name": "source", "emptyDir": {}}],
        },
    }
    started = time.monotonic()
    finished, _, _ = run_pipeline(world, pipeline_run)
    assert time.monotonic() - started < 10
    assert condition(finished)["reason"] == "PipelineRunTimeout"
    assert condition(finished)["message"] == 'PipelineRun "slow" failed to finish within "1s"'
    wait = task_runs(world, "slow")["wait"]
    assert condition(wait)["reason"] == "TaskRunCancelled"
    assert condition(wait)["message"] == 'TaskRun "slow-wait" was cancelled'


def test_deleting_a_running_pipeline_run_stops_it(world: World, caplog: pytest.LogCaptureFixture) -> None:
    prepare_namespace(world, "gone", "default", registry_auth=False, role=False)
    pipeline_run = {
        "apiVersion": TEKTON,
        "kind": "PipelineRun",
        "metadata": {"name": "doomed", "namespace": "gone"},
        "spec": {
            "pipelineSpec": {
                "workspaces": [{"name": "source"}],
                "tasks": [git_cli_task("wait", "sleep 30\n")],
            },
            "workspaces": [{"name": "source", "emptyDir": {}}],
        },
    }

    async def scenario() -> list[dict[str, Any]]:
        stream = world.store.watch(TEKTON, "TaskRun", "gone")
        world.store.create(copy.deepcopy(pipeline_run))
        async with asyncio.timeout(10):
            async for event in stream:
                conditions = (event.object.get("status") or {}).get("conditions") or []
                if conditions and conditions[0]["reason"] == "Running":
                    break
        stream.close()
        world.store.delete(TEKTON, "PipelineRun", "gone", "doomed")
        await asyncio.sleep(0.2)
        return world.store.list(TEKTON, "TaskRun", "gone") + world.store.list("v1", "Pod", "gone")

    assert world.loop.run(scenario()) == []
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
