"""The runtime controllers in a stack of real pieces: GitLab emulation, OpenBao, object store and API
server, Tekton executor. Everything is driven through GitLab: the Nautes files are pushed the way the API
server writes them (python-gitlab, files API), Vault holds what the API server stores, and a push to the
source repo travels GitLab's project hook → Argo Events → Sensor → hooks PipelineRun → Tekton
(git-clone over SSH with the deploy key, kubernetes-actions) → the user's PipelineRun.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import hvac
import pytest
import requests
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from nautes_refstack.bootstrap import TenantBootstrap
from nautes_refstack.gitlab import GitLab
from nautes_refstack.kube import KubeApiServer, KubeError, ObjectStore
from nautes_refstack.nautes import NautesApiServer
from nautes_refstack.runtime import RuntimeControllers
from nautes_refstack.tekton import TektonController
from nautes_refstack.vault import OpenBao
from support.loop import BackgroundLoop
from support.nautes import USER_PIPELINE_FILE, cluster_cr, nautes_resource
from support.wait import wait_for

TENANT_REPO = "nautes/management"
CLUSTER = "runtime"
GROUP = "demo-quickstart"


def dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=True)


def cluster_file(api_server: str) -> str:
    return dump(cluster_cr(CLUSTER, api_server))


def ssh_key_pair() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode()


class Stack:
    """GitLab, OpenBao, the runtime cluster (store + API server + Tekton) and the runtime controllers."""

    def __init__(self, loop: BackgroundLoop, scratch: Path) -> None:
        self.loop, self.scratch = loop, scratch
        self.gitlab = GitLab(scratch / "gitlab")
        self.bao = OpenBao(log_path=scratch / "openbao.log")
        self.store = ObjectStore()
        self.kube = KubeApiServer(self.store, "admin-token", tls=True)

    async def start(self) -> None:
        await self.bao.start()
        await self.gitlab.start()
        await self.kube.start()
        self.token = await TenantBootstrap(self.gitlab, TENANT_REPO).run(self.scratch)
        self.tekton = TektonController(self.store, self.bao.url, self.scratch / "tekton")
        await self.tekton.start()
        self.runtime = RuntimeControllers(
            self.store,
            self.gitlab,
            self.bao.url,
            self.bao.root_token,
            self.kube.url,
            self.kube.url,
            TENANT_REPO,
            kube_ca_pem=self.kube.ca_pem,
        )
        await self.runtime.start()

    async def stop(self) -> None:
        for piece in (self.runtime, self.tekton, self.kube, self.gitlab, self.bao):
            await piece.stop()

    # -- clients --------------------------------------------------------------------------------------

    def api(self) -> gitlab.Gitlab:
        return gitlab.Gitlab(self.gitlab.url, private_token=self.token)

    def vault(self) -> hvac.Client:
        return hvac.Client(url=self.bao.url, token=self.bao.root_token)

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.loop.call(self.store.list, api_version, kind, namespace)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self.loop.call(self.store.get, api_version, kind, namespace, name)
        except KubeError:
            return None

    # -- what the Nautes API server does -----------------------------------------------------------

    def commit(
        self,
        project: Any,
        files: dict[str, str | None],
        message: str = "[API] Save operator",
        branch: str = "main",
    ) -> float:
        """Clone, change ``files`` (None deletes), commit and push, as the API server does with git.

        Returns when the push started (``time.perf_counter()``)."""
        basic = base64.b64encode(f"oauth2:{self.token}".encode()).decode()
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
        with tempfile.TemporaryDirectory(dir=self.scratch) as work:

            def git(*args: str) -> None:
                subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True, timeout=30)

            git("clone", "-q", f"{self.gitlab.url}/{project.path_with_namespace}.git", ".")
            git(
                "checkout",
                "-q",
                "-B",
                branch,
                *([f"origin/{branch}"] if self._has_branch(project, branch) else []),
            )
            for path, content in files.items():
                target = Path(work) / path
                if content is None:
                    target.unlink()
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(content)
            git("add", "-A")
            git(
                "-c",
                "user.name=Quickstart User",
                "-c",
                "user.email=qs@example.test",
                "commit",
                "-q",
                "-m",
                message,
            )
            pushed_at = time.perf_counter()
            git("push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return pushed_at

    def _has_branch(self, project: Any, branch: str) -> bool:
        return any(b.name == branch for b in self.api().projects.get(project.id).branches.list(all=True))

    def register_code_repo(self, group: Any, path: str) -> Any:
        """GitLab project, deploy keys, API token, with their Vault secrets and policies (contract §3.4)."""
        project = self.api().projects.create({"name": path, "path": path, "namespace_id": group.id})
        secrets: dict[str, dict[str, str]] = {}
        for permission in ("readonly", "readwrite"):
            private, public = ssh_key_pair()
            key = project.keys.create(
                {
                    "title": f"repo-{project.id}-{permission}",
                    "key": public,
                    "can_push": permission == "readwrite",
                }
            )
            secrets[permission] = {"deploykey": private, "fingerprint": "", "id": str(key.id)}
        token = project.access_tokens.create(
            {"name": "accesstoken-api", "scopes": ["api"], "access_level": 40, "expires_at": "2099-01-01"}
        )
        secrets["accesstoken-api"] = {"accesstoken": token.token, "id": str(token.id)}
        for permission, values in secrets.items():
            path_ = f"gitlab/repo-{project.id}/default/{permission}"
            self.vault().secrets.kv.v2.create_or_update_secret(path=path_, secret=values, mount_point="git")
            rules = "\n".join(
                f'path "git/{kind}/{path_}" {{ capabilities = ["read"] }}' for kind in ("data", "metadata")
            )
            self.vault().sys.create_or_update_policy(
                name=f"gitlab-repo-{project.id}-default-{permission}", policy=rules
            )
        return project


class Quickstart:
    """The quickstart's product as the API server leaves it: group, repos, default.project files."""

    def __init__(self, stack: Stack) -> None:
        api = stack.api()
        self.group = api.groups.create({"name": GROUP, "path": GROUP})
        self.metadata = api.projects.create(
            {"name": "default.project", "path": "default.project", "namespace_id": self.group.id}
        )
        self.source = stack.register_code_repo(self.group, "coderepo-sc-demo")
        stack.commit(self.source, {"pipelines/main.yaml": USER_PIPELINE_FILE}, "Add the pipeline")
        self.product_id = f"product-{self.group.id}"
        self.repo = f"repo-{self.source.id}"
        self.uid = f"{self.product_id}-pr-demo"

    def files(self, with_runtime: bool = True) -> dict[str, str | None]:
        code_repo = nautes_resource(
            "CodeRepo",
            self.repo,
            {
                "codeRepoProvider": "gitlab-nautes",
                "deploymentRuntime": False,
                "pipelineRuntime": False,
                "product": self.product_id,
                "project": "project-demo",
                "repoName": "coderepo-sc-demo",
                "webhook": {"events": ["push_events"]},
            },
        )
        runtime = nautes_resource(
            "ProjectPipelineRuntime",
            "pr-demo",
            {
                "destination": {"environment": "env-dev-demo", "namespace": ""},
                "eventSources": [
                    {
                        "gitlab": {"events": ["push_events"], "repoName": self.repo, "revision": "main"},
                        "name": "webhook",
                    }
                ],
                "hooks": {},
                "isolation": "exclusive",
                "pipelineSource": self.repo,
                "pipelineTriggers": [{"eventSource": "webhook", "pipeline": "pipeline-dev-demo"}],
                "pipelines": [{"label": "main", "name": "pipeline-dev-demo", "path": "pipelines/main.yaml"}],
                "project": "project-demo",
            },
        )
        files: dict[str, str | None] = {
            f"code-repos/{self.repo}/{self.repo}.yaml": dump(code_repo),
            "envs/env-dev-demo.yaml": dump(
                nautes_resource(
                    "Environment",
                    "env-dev-demo",
                    {"cluster": CLUSTER, "envType": "dev", "product": self.product_id},
                )
            ),
            "projects/project-demo/project-demo.yaml": dump(
                nautes_resource("Project", "project-demo", {"language": "", "product": self.product_id})
            ),
            "projects/project-demo/pr-demo.yaml": dump(runtime) if with_runtime else None,
        }
        resources = [f"../{path}" for path, content in sorted(files.items()) if content is not None]
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        }
        files["production/kustomization.yaml"] = dump(kustomization)
        return files


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with tempfile.TemporaryDirectory() as scratch, BackgroundLoop() as loop:
        stack = Stack(loop, Path(scratch))
        loop.run(stack.start())
        try:
            yield stack
        finally:
            loop.run(stack.stop())


@pytest.fixture(scope="module")
def quickstart(stack: Stack) -> Quickstart:
    tenant = stack.api().projects.get(TENANT_REPO)
    stack.commit(tenant, {"nautes/overlays/production/clusters/runtime.yaml": cluster_file(stack.kube.url)})
    wait_for(lambda: f"{CLUSTER}/" in stack.vault().sys.list_auth_methods()["data"])
    quickstart = Quickstart(stack)
    stack.commit(quickstart.metadata, quickstart.files())
    # The operator creates the EventSource last (after the Sensors): once it exists, the runtime is complete.
    wait_for(
        lambda: stack.get("argoproj.io/v1alpha1", "EventSource", "argo-events", f"{quickstart.uid}-gitlab")
    )
    return quickstart


def test_pushed_cluster_and_product_are_deployed(stack: Stack, quickstart: Quickstart) -> None:
    assert stack.get("tekton.dev/v1beta1", "ClusterTask", None, "kubernetes-actions") is not None
    assert stack.get("v1", "ServiceAccount", "pr-demo", "pr-demo") is not None
    assert stack.get("v1", "Secret", "pr-demo", "pipeline-readonly-ssh-key") is not None
    source = stack.get("argoproj.io/v1alpha1", "EventSource", "argo-events", f"{quickstart.uid}-gitlab")
    assert source is not None
    assert source["spec"]["gitlab"][quickstart.repo]["gitlabBaseURL"] == stack.gitlab.url


def test_the_event_source_registers_the_gitlab_hook(stack: Stack, quickstart: Quickstart) -> None:
    expected_url = f"{stack.runtime.webhook_url}/{quickstart.uid}/{quickstart.repo}"

    hooks = wait_for(
        lambda: [
            h for h in stack.api().projects.get(quickstart.source.id).hooks.list() if h.url == expected_url
        ]
    )

    [hook] = hooks
    assert hook.push_events is True
    assert hook.tag_push_events is False
    assert hook.enable_ssl_verification is False


def hooks_runs(stack: Stack) -> list[str]:
    runs = stack.list("tekton.dev/v1alpha1", "PipelineRun", "pr-demo")
    return [r["metadata"]["name"] for r in runs if r["metadata"]["name"].startswith("hooks-")]


def user_runs(stack: Stack) -> list[dict[str, Any]]:
    runs = stack.list("tekton.dev/v1beta1", "PipelineRun", "pr-demo")
    return [r for r in runs if r["metadata"]["name"].startswith("main-pipiline-")]


def test_a_push_to_main_runs_the_hooks_pipeline_and_creates_the_users_pipeline_run(
    stack: Stack, quickstart: Quickstart
) -> None:
    wait_for(lambda: quickstart.source.hooks.list())
    before = set(hooks_runs(stack))
    quickstart.source.branches.create({"branch": "feature", "ref": "main"})
    stack.commit(quickstart.source, {"src/feature.txt": "wip\n"}, "Work on a feature", branch="feature")

    started = stack.commit(quickstart.source, {"src/app.txt": "v1\n"}, "Change the app")
    new_runs = wait_for(lambda: set(hooks_runs(stack)) - before)
    hooks_latency = time.perf_counter() - started
    [user_run] = wait_for(lambda: user_runs(stack), timeout=30)
    user_latency = time.perf_counter() - started

    # GitLab delivers hooks in push order: the feature push was handled before main's and started nothing.
    assert len(new_runs) == 1
    hooks_run = stack.get("tekton.dev/v1alpha1", "PipelineRun", "pr-demo", new_runs.pop())
    assert hooks_run is not None
    assert hooks_run["spec"]["params"][0] == {"name": "Revision", "value": "refs/heads/main"}
    assert re.fullmatch(r"main-pipiline-n[0-9a-f]{4}", user_run["metadata"]["name"])
    assert user_run["metadata"]["labels"]["branch"] == "main"
    assert user_run["spec"]["params"][0]["value"] == "refs/heads/main"
    print(f"push -> hooks PipelineRun {hooks_latency:.3f}s, -> user PipelineRun {user_latency:.3f}s")
    assert hooks_latency < 2.0


def test_a_runtime_saved_through_the_nautes_api_server_is_deployed(
    stack: Stack, quickstart: Quickstart
) -> None:
    """The seam with the emulated API server: the files and Vault entries it writes are what we read."""
    server = NautesApiServer(stack.gitlab.url, stack.bao.url, stack.bao.root_token, TENANT_REPO)
    stack.loop.run(server.start())
    try:
        headers = {"Authorization": f"Bearer {stack.token}"}
        product = "demo-api"
        for path, body in (
            (
                f"/api/v1/products/{product}",
                {"git": {"gitlab": {"name": product, "path": product, "visibility": "private"}}},
            ),
            (f"/api/v1/products/{product}/environments/env-api", {"cluster": CLUSTER, "env_type": "dev"}),
            (f"/api/v1/products/{product}/projects/project-api", {"language": "java"}),
            (
                f"/api/v1/products/{product}/coderepos/coderepo-api",
                {
                    "project": "project-api",
                    "git": {
                        "gitlab": {"name": "coderepo-api", "path": "coderepo-api", "visibility": "private"}
                    },
                    "webhook": {"events": ["push_events"]},
                },
            ),
            (
                f"/api/v1/products/{product}/projectpipelineruntimes/pr-api",
                {
                    "project": "project-api",
                    "pipeline_source": "coderepo-api",
                    "isolation": "exclusive",
                    "destination": {"environment": "env-api", "namespace": ""},
                    "pipelines": [{"name": "pipeline", "label": "main", "path": "pipelines/main.yaml"}],
                    "event_sources": [
                        {
                            "name": "webhook",
                            "gitlab": {
                                "repo_name": "coderepo-api",
                                "revision": "main",
                                "events": ["push_events"],
                            },
                        }
                    ],
                    "pipeline_triggers": [{"event_source": "webhook", "pipeline": "pipeline"}],
                },
            ),
        ):
            reply = requests.post(server.url + path, json=body, headers=headers, timeout=30)
            assert reply.status_code == 200, (path, reply.text)
    finally:
        stack.loop.run(server.stop())
    source = stack.api().projects.get(f"{product}/coderepo-api")
    uid = f"product-{stack.api().groups.get(product).id}-pr-api"

    wait_for(lambda: source.hooks.list())

    assert source.hooks.list()[0].url == f"{stack.runtime.webhook_url}/{uid}/repo-{source.id}"
    # The operator registers the hook before it syncs the key Secret (NAUTES deploy order): wait for it too.
    ssh_key = wait_for(lambda: stack.get("v1", "Secret", "pr-api", "pipeline-readonly-ssh-key"))
    assert "PRIVATE KEY" in base64.b64decode(ssh_key["data"]["id_rsa"]).decode()


def test_removing_the_runtime_cleans_up(stack: Stack, quickstart: Quickstart) -> None:
    source = stack.api().projects.get(quickstart.source.id)
    wait_for(lambda: source.hooks.list())

    stack.commit(quickstart.metadata, quickstart.files(with_runtime=False))

    wait_for(lambda: stack.get("v1", "Namespace", None, "pr-demo") is None)
    wait_for(lambda: not source.hooks.list())
    assert stack.get("argoproj.io/v1alpha1", "EventSource", "argo-events", f"{quickstart.uid}-gitlab") is None
    assert stack.get("argoproj.io/v1alpha1", "Sensor", "argo-events", f"{quickstart.uid}-0") is None
    assert stack.vault().read(f"auth/{CLUSTER}/role/pr-demo") is None
    assert stack.get("v1", "Namespace", None, quickstart.product_id) is None


def test_removing_the_cluster_disables_its_vault_auth_mount(stack: Stack, quickstart: Quickstart) -> None:
    tenant = stack.api().projects.get(TENANT_REPO)

    stack.commit(tenant, {"nautes/overlays/production/clusters/runtime.yaml": None})

    wait_for(lambda: f"{CLUSTER}/" not in stack.vault().sys.list_auth_methods()["data"])
    assert stack.get("tekton.dev/v1beta1", "ClusterTask", None, "kubernetes-actions") is None
    assert stack.get("v1", "Namespace", None, "pr-demo") is None
