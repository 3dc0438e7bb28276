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
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nautes_e2e.refstack.kube import KubeApiServer, ObjectStore
from nautes_e2e.refstack.registry import Registry
from nautes_e2e.refstack.tekton import TektonController, install_tekton
from nautes_e2e.refstack.vault import OpenBao, free_port

T = TypeVar("T")
CLUSTER = "runtime"
REGISTRY_USER, REGISTRY_PASSWORD = "pipeline-bot", "registry-pw-123"
TEKTON = "tekton.dev/v1beta1"
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


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_repository(root: Path, name: str, files: dict[str, str]) -> Path:
    """A bare repository whose ``main`` holds ``files`` (one commit)."""
    bare, work = root / f"{name}.git", root / f"{name}-work"
    git("init", "--bare", "-b", "main", str(bare))
    git("init", "-b", "main", str(work))
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    git("-c", "user.name=t", "-c", "user.email=t@e", "add", ".", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-m", "initial", cwd=work)
    git("push", str(bare), "main", cwd=work)
    return bare


@dataclass
class Repositories:
    source: Path
    deploy: Path


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    store: ObjectStore
    vault: OpenBao
    registry: Registry
    root: Path

    def repositories(self, name: str, dockerfile: str = DOCKERFILE) -> Repositories:
        """A fresh source-code repo and deployment repo (each test pushes to its own)."""
        files = {"pom.xml": POM, "Dockerfile": dockerfile, "src/Main.java": "class Main {}\n"}
        source = make_repository(self.root, f"{name}-source", files)
        deploy = make_repository(
            self.root, f"{name}-deploy", {"deployments/test/devops-sample.yaml": MANIFEST}
        )
        return Repositories(source, deploy)

    def run(self, coroutine: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)  # type: ignore[arg-type]

    def call(self, function: Callable[[], T]) -> T:
        """Run a synchronous store operation on the loop that owns the store."""

        async def wrapper() -> T:
            return function()

        return self.run(wrapper())


async def vault_call(vault: OpenBao, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    async with (
        aiohttp.ClientSession(headers={"X-Vault-Token": vault.root_token}) as http,
        http.request(method, f"{vault.url}/v1/{path}", json=body) as response,
    ):
        assert response.status in (200, 204), await response.text()


async def configure_vault(vault: OpenBao, store: ObjectStore, kube_url: str) -> None:
    """Kubernetes auth at auth/runtime (as the cluster operator sets it up) and the deploy key in KV."""
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vault"}})
    store.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "vault-auth", "namespace": "vault"},
        }
    )
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    from nautes_e2e.refstack.runtime.cluster_operator import self_signed_ca_pem

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
    await vault_call(
        vault,
        "POST",
        "sys/policies/acl/repo-7",
        {"policy": f'path "{REPO_SECRET}" {{ capabilities = ["read"] }}'},
    )
    await vault_call(
        vault, "POST", "git/data/gitlab/repo-7/default/readwrite", {"data": {"deploykey": key.decode()}}
    )


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
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    store = ObjectStore()
    vault = OpenBao(log_path=root / "openbao.log")
    kube = KubeApiServer(store, "admin-token-for-tests")
    registry = Registry(REGISTRY_USER, REGISTRY_PASSWORD)
    vault.port = free_port()
    controller = TektonController(store, vault.url, CLUSTER, work_dir=root / "work")

    async def start() -> None:
        await asyncio.gather(vault.start(), kube.start(), registry.start())
        await configure_vault(vault, store, kube.url)
        install_tekton(store)
        await controller.start()

    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=60)
    yield World(loop, store, vault, registry, root)

    async def stop() -> None:
        await controller.stop()
        await asyncio.gather(registry.stop(), kube.stop(), vault.stop())

    asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=60)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


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
                    clone("git-clone-sourcecode", str(repos.source), "sourcecode", []),
                    clone("git-clone-deployment", str(repos.deploy), "deployment", ["git-clone-sourcecode"]),
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
                                "value": "gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/git-init:v0.29.0",
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
        world.store.create(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": account, "namespace": namespace},
            }
        )
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

    world.call(create)
    if role:
        world.run(create_role(world.vault, account, namespace))


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

    return world.run(go())


def task_runs(world: World, namespace: str) -> dict[str, dict[str, Any]]:
    found = world.call(lambda: world.store.list(TEKTON, "TaskRun", namespace))
    return {item["metadata"]["labels"]["tekton.dev/pipelineTask"]: item for item in found}


def condition(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["status"]["conditions"][0]


def pod_log(world: World, namespace: str, pod: str, container: str) -> str:
    return world.call(lambda: world.store.pod_log(namespace, pod, container))


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
    assert status["startTime"] and status["completionTime"]
    assert len(status["taskRuns"]) == 5

    runs = task_runs(world, "demo-ok")
    commit = {r["name"]: r["value"] for r in runs["git-clone-sourcecode"]["status"]["taskResults"]}["commit"]
    assert commit == git("rev-parse", "main", cwd=repos.source)
    assert runs["git-clone-sourcecode"]["metadata"]["name"] == "main-pipiline-n1a2b-git-clone-sourcecode"
    assert runs["git-clone-sourcecode"]["metadata"]["labels"]["branch"] == "main"
    assert runs["git-clone-sourcecode"]["spec"]["serviceAccountName"] == "pr-demo"
    assert runs["mvn-build"]["status"]["conditions"][0]["message"].startswith(
        "maven not executed in the reference stack; verified sourcecode/pom.xml "
        "(io.kubesphere.devops:devops-sample:0.0.4-SNAPSHOT) and goals [-DskipTests clean install -f sourcecode/pom.xml]"
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

    pushed = git("log", "-1", "--format=%s", "main", cwd=repos.deploy)
    assert pushed == f"automatic update by pipeline bot: {image_results['IMAGE_URL']}"
    manifest_text = git("show", "main:deployments/test/devops-sample.yaml", cwd=repos.deploy)
    assert f"image: {image_results['IMAGE_URL']}" in manifest_text
    cli_commit = {r["name"]: r["value"] for r in runs["manifest-update"]["status"]["taskResults"]}["commit"]
    assert cli_commit == git("rev-parse", "main", cwd=repos.deploy)

    clone_pod = runs["git-clone-sourcecode"]["status"]["podName"]
    agent_log = pod_log(world, "demo-ok", clone_pod, "vault-agent-init")
    assert 'rendered "(dynamic)" => "/root/.ssh/id_ecdsa"' in agent_log
    assert "PRIVATE KEY" not in agent_log
    assert "Successfully cloned" in pod_log(world, "demo-ok", clone_pod, "step-clone")


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
        'failed to create task run pod "main-pipiline-n1a2b-git-clone-sourcecode": translating TaskSpec to Pod: '
        'serviceaccounts "nautes-sa" not found. Maybe missing or invalid Task fault-sa/git-clone'
    )
    assert clone["status"]["podName"] == ""
    assert list(task_runs(world, "fault-sa")) == ["git-clone-sourcecode"]


def test_missing_registry_auth_configmap_fails_the_image_build(world: World) -> None:
    prepare_namespace(world, "fault-cm", "pr-demo", registry_auth=False)
    finished, seen, _ = run_pipeline(
        world, quickstart_pipeline_run(world, "fault-cm", "pr-demo", world.repositories("cm"))
    )
    assert condition(finished)["reason"] == "Failed"
    assert condition(finished)["message"] == "Tasks Completed: 4 (Failed: 1, Cancelled 0), Skipped: 1"
    assert skipped_names(finished) == ["manifest-update"]
    build = task_runs(world, "fault-cm")["image-build"]
    assert condition(build)["reason"] == "CreateContainerConfigError"
    assert 'configmap "registry-auth" not found' in condition(build)["message"]
    pod = world.call(lambda: world.store.get("v1", "Pod", "fault-cm", build["status"]["podName"]))
    assert pod["status"]["phase"] == "Pending"
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {
        "reason": "CreateContainerConfigError",
        "message": 'configmap "registry-auth" not found',
    }


def test_registry_refuses_a_push_without_credentials(world: World) -> None:
    prepare_namespace(world, "fault-auth", "pr-demo", registry_auth=False)
    world.call(
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
    world.run(create_role(world.vault, "pr-other", "elsewhere"))
    repos = world.repositories("vault")
    finished, _, _ = run_pipeline(world, quickstart_pipeline_run(world, "fault-vault", "pr-other", repos))
    assert condition(finished)["message"] == "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 4"
    clone = task_runs(world, "fault-vault")["git-clone-sourcecode"]
    pod_name = clone["status"]["podName"]
    assert condition(clone)["reason"] == "Failed"
    assert condition(clone)["message"] == (
        'init container failed, "vault-agent-init" exited with code 1 (image: "hashicorp/vault:1.10.4"): '
        f'vault login at auth/{CLUSTER} with role "pr-other" failed: Code: 403. Errors: namespace not authorized; '
        f"for logs run: kubectl -n fault-vault logs {pod_name} -c vault-agent-init\n"
    )
    pod = world.call(lambda: world.store.get("v1", "Pod", "fault-vault", pod_name))
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
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
