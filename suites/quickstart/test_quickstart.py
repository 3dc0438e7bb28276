"""The Nautes "run a pipeline" quickstart, one test per stage, in the order a user follows it.

Each stage acts through the same clients a user's tools use (the Nautes API as ``nautes apply`` calls it,
python-gitlab, git, the Kubernetes client, hvac, the OCI distribution API) and checks what the quickstart
promises at that point. A stage that cannot pass skips the stages that need it as "blocked by <stage>".
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.teardown import AppliedDocuments
from nautes_e2e.clients import (
    GitLabClient,
    GitLabNotFound,
    GitWorkingCopy,
    KubeClient,
    NautesApiError,
    NautesClient,
    RegistryClient,
    VaultClient,
)
from nautes_e2e.scenario import Scenario
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import Observation, StageContext, StageFailure, follow, wait_for
from nautes_e2e.targets import World
from suites.quickstart.names import QuickstartNames

pytestmark = pytest.mark.xdist_group("quickstart")

PIPELINERUN_NAME = re.compile(r"^main-pipiline-n[0-9a-f]{4}$")
DEPLOY_FILE = "deployments/test/devops-sample.yaml"
BOT_COMMIT_PREFIX = "automatic update by pipeline bot: "
CORE = "v1"
ARGO_EVENTS_NAMESPACE = "argo-events"
TEKTON = "tekton.dev/v1beta1"


@pytest.mark.stage("preflight")
@pytest.mark.usefixtures("names")
def test_preflight(
    stage: StageContext,
    world: World,
    scenario: Scenario,
    nautes: NautesClient,
    gitlab: GitLabClient,
    vault: VaultClient,
    registry: RegistryClient,
    kube: KubeClient,
) -> None:
    """Every endpoint answers and the token's GitLab user exists, before anything is changed; the names
    the run will create are valid (the ``names`` fixture rejects them before any request)."""
    stage.fact("target", world.target)
    stage.fact("scenario", scenario.name)
    user = gitlab.current_user()
    stage.fact("gitlab_user", user["username"])
    stage.fact("nautes_clusters", len(nautes.list("Cluster")))
    if not vault.healthy():
        stage.fail(f"Vault at {world.vault_url} is not healthy (sealed or not initialised)")
    registry.ping()
    stage.fact("kubernetes_version", kube.version().get("gitVersion", "?"))
    stage.fact("scenario_notes", len(scenario.notes))


@pytest.mark.stage("register_cluster", needs=("preflight",))
def test_register_cluster(
    stage: StageContext,
    scenario: Scenario,
    nautes: NautesClient,
    vault: VaultClient,
    names: QuickstartNames,
    values: dict[str, str],
    applied: AppliedDocuments,
) -> None:
    """The runtime cluster is registered as a physical pipeline worker; its kubeconfig lands in Vault."""
    applied.expect_gone(lambda: _cluster_left(nautes, names.cluster))
    for result in applied.apply(scenario.documents("cluster", values)):
        stage.progress(f"{result.kind} {result.name}: {result.message}")
    cluster = nautes.get("Cluster", names.cluster)
    stage.evidence("cluster.json", cluster)
    expected = {"usage": "worker", "worker_type": "pipeline", "cluster_type": "physical"}
    wrong = {k: cluster.get(k) for k, v in expected.items() if cluster.get(k) != v}
    if wrong:
        stage.fail(f"GET cluster {names.cluster} reports {wrong}, expected {expected}")
    tekton_host = (cluster.get("components_list") or {}).get("pipeline", {}).get("additions", {}).get("host")
    if not tekton_host:
        stage.fail(
            "the registered cluster has no componentsList.pipeline.additions.host (Tekton dashboard host)"
        )
    stage.fact("cluster", names.cluster)
    stage.fact("tekton_host", tekton_host)
    keys = vault.kv_keys("cluster", f"kubernetes/{names.cluster}/default/admin")
    if not keys or "kubeconfig" not in keys:
        stage.fail(
            f"Vault has no kubeconfig at cluster/data/kubernetes/{names.cluster}/default/admin (keys: {keys})"
        )


@pytest.mark.stage("initialise_product", needs=("register_cluster",))
def test_initialise_product(
    stage: StageContext,
    scenario: Scenario,
    nautes: NautesClient,
    gitlab: GitLabClient,
    vault: VaultClient,
    kube: KubeClient,
    names: QuickstartNames,
    values: dict[str, str],
    applied: AppliedDocuments,
    stage_timeout: float,
) -> None:
    """Product, project, repos, environment, binding and pipeline runtime exist where Nautes puts them."""
    applied.expect_gone(lambda: _group_left(gitlab, names.product))
    applied.expect_gone(lambda: _namespace_left(kube, names.runtime_namespace))
    for group in ("product", "pipeline"):
        for result in applied.apply(scenario.documents(group, values)):
            stage.progress(f"{result.kind} {result.name}: {result.message}")

    projects = {p["path"]: p for p in gitlab.group_projects(names.product)}
    stage.evidence("gitlab-projects.json", sorted(projects))
    missing = [repo for repo in names.code_repos if repo not in projects]
    if missing:
        stage.fail(f"GitLab group {names.product} lacks the code repositories {missing}")
    repo_ids = {repo: int(projects[repo]["id"]) for repo in names.code_repos}
    stage.fact("repo_ids", repo_ids)
    applied.expect_gone(lambda: _deploy_keys_left(vault, repo_ids.values()))
    stage.fact("product", names.product)
    for repo, repo_id in repo_ids.items():
        for permission in ("readonly", "readwrite"):
            path = f"gitlab/repo-{repo_id}/default/{permission}"
            fields = vault.kv_keys("git", path)
            if not fields or "deploykey" not in fields:
                stage.fail(f"Vault has no deploy key for {repo} at git/data/{path} (fields: {fields})")
    source = projects[names.source_repo]
    values["sc-repo-id"] = str(repo_ids[names.source_repo])
    values["sc-repo-url"] = str(source["ssh_url_to_repo"])
    values["deploy-repo-url"] = str(projects[names.deploy_repo]["ssh_url_to_repo"])

    namespace = names.runtime_namespace
    wait_for(
        f"runtime namespace {namespace} and service account {names.pipeline_runtime}",
        lambda: _runtime_space_ready(kube, namespace, names.pipeline_runtime),
        timeout_s=stage_timeout,
        interval_s=0.1,
        progress=stage.progress,
    )
    stage.fact("runtime_namespace", namespace)
    source_project = f"{names.product}/{names.source_repo}"
    wait_for(
        f"the push webhook Argo Events registers on {names.source_repo}",
        lambda: _push_webhook_registered(gitlab, source_project),
        timeout_s=stage_timeout,
        interval_s=0.1,
        progress=stage.progress,
    )


def _push_webhook_registered(gitlab: GitLabClient, project: str) -> Observation:
    """The runtime is ready for the push once its event source has hooked the source repository."""
    hooks = [hook for hook in gitlab.project_hooks(project) if hook.get("push_events")]
    if not hooks:
        return Observation(done=False, state="no push webhook yet")
    return Observation(done=True, state=f"push webhook {hooks[0].get('url')}")


def _cluster_left(nautes: NautesClient, cluster: str) -> str | None:
    try:
        nautes.get("Cluster", cluster)
    except NautesApiError:
        return None
    return f"cluster registration {cluster}"


def _group_left(gitlab: GitLabClient, group: str) -> str | None:
    try:
        gitlab.group_projects(group)
    except GitLabNotFound:
        return None
    return f"GitLab group {group}"


def _namespace_left(kube: KubeClient, namespace: str) -> str | None:
    return None if kube.get(CORE, "Namespace", namespace) is None else f"namespace {namespace}"


def _deploy_keys_left(vault: VaultClient, repo_ids: Iterable[int]) -> str | None:
    paths = [
        f"git/data/gitlab/repo-{repo_id}/default/{permission}"
        for repo_id in repo_ids
        for permission in ("readonly", "readwrite")
        if vault.kv_keys("git", f"gitlab/repo-{repo_id}/default/{permission}") is not None
    ]
    return f"Vault deploy keys {paths}" if paths else None


def _runtime_space_ready(kube: KubeClient, namespace: str, service_account: str) -> Observation:
    ns = kube.get(CORE, "Namespace", namespace)
    if ns is None:
        return Observation(done=False, state="namespace not created yet")
    phase = (ns.get("status") or {}).get("phase", "Active")
    if phase != "Active":
        return Observation(done=False, state=f"namespace {phase}")
    if kube.get(CORE, "ServiceAccount", service_account, namespace) is None:
        return Observation(done=False, state="namespace Active, service account not created yet")
    return Observation(done=True, state="namespace Active, service account ready")


@pytest.mark.stage("registry_auth", needs=("initialise_product",))
def test_registry_auth(stage: StageContext, world: World, kube: KubeClient, names: QuickstartNames) -> None:
    """The ``registry-auth`` ConfigMap the image-build task pushes with, as the quickstart creates it."""
    registry = world.registry
    if registry.username is None or registry.password is None:
        stage.fail("the target gives no registry credentials (usernameEnv/passwordEnv in the target file)")
    auth = Secret(
        base64.b64encode(f"{registry.username.reveal()}:{registry.password.reveal()}".encode()).decode()
    )
    config = Secret(json.dumps({"auths": {registry.host: {"auth": auth.reveal()}}}))
    kube.apply_configmap(names.runtime_namespace, "registry-auth", {"config.json": config.reveal()})
    stored = kube.get(CORE, "ConfigMap", "registry-auth", names.runtime_namespace)
    if stored is None or "config.json" not in (stored.get("data") or {}):
        stage.fail(
            f"ConfigMap registry-auth in {names.runtime_namespace} has no config.json after creating it"
        )
    hosts = sorted(json.loads(stored["data"]["config.json"]).get("auths", {}))
    if registry.host not in hosts:
        stage.fail(f"registry-auth config.json names {hosts}, not the registry {registry.host}")
    stage.fact("registry_auth_hosts", hosts)


@pytest.mark.stage("push_deployment_manifests", needs=("initialise_product",))
def test_push_deployment_manifests(
    stage: StageContext,
    scenario: Scenario,
    world: World,
    gitlab: GitLabClient,
    names: QuickstartNames,
    values: dict[str, str],
    workdir: Path,
) -> None:
    """The deploy repo holds the manifests, the Ingress host set to the cluster IP, force-pushed to main."""
    project = f"{names.product}/{names.deploy_repo}"
    files = scenario.repo_files("deployment", values)
    commit = _force_push_to_main(
        stage, gitlab, world, project, files, workdir / "deployment", "submit the kubernetes manifests."
    )
    stage.fact("deploy_manifests_commit", commit)
    ingress_host = f"devops-sample.{values['cluster-ip']}.nip.io"
    service = gitlab.file_text(project, "deployments/test/devops-sample-svc.yaml", "main")
    if f"host: {ingress_host}" not in service:
        stage.fail(f"the pushed Ingress does not carry host {ingress_host}")
    stage.fact("ingress_host", ingress_host)


def _force_push_to_main(
    stage: StageContext,
    gitlab: GitLabClient,
    world: World,
    project: str,
    files: dict[str, bytes],
    directory: Path,
    message: str,
) -> str:
    """The quickstart's ``git push origin main -f`` of ``files`` as one commit, after what it has the user
    click in GitLab (allow force push on the protected main), done through the API and read back."""
    gitlab.allow_force_push(project, "main")
    allowed = gitlab.protected_branch(project, "main").get("allow_force_push")
    if allowed is not True:
        stage.fail(f"{project}: protected branch main has allow_force_push={allowed} after allowing it")
    copy = GitWorkingCopy.init(directory, f"{world.gitlab_url}/{project}.git", world.gitlab_token)
    copy.write_files(files)
    commit = copy.commit_all(message, "Quickstart User", "quickstart@example.test")
    copy.push("main", force=True)
    return commit


@pytest.mark.stage("push_pipeline", needs=("initialise_product",))
def test_push_pipeline(
    stage: StageContext,
    scenario: Scenario,
    world: World,
    gitlab: GitLabClient,
    names: QuickstartNames,
    values: dict[str, str],
    workdir: Path,
) -> None:
    """The pipeline (variables substituted) and the sample app are force-pushed to the source repo's main."""
    files = scenario.repo_files("sourcecode", values)
    pipeline = files["pipelines/main.yaml"].decode()
    leftovers = sorted(set(re.findall(r"\$[a-z][a-z0-9-]*", pipeline)))
    if leftovers:
        stage.fail(f"pipelines/main.yaml still holds template variables {leftovers}")
    project = f"{names.product}/{names.source_repo}"
    commit = _force_push_to_main(
        stage, gitlab, world, project, files, workdir / "sourcecode", "submit the pipeline configurations."
    )
    stage.fact("source_commit", commit)
    if gitlab.file_text(project, "pipelines/main.yaml", "main") != pipeline:
        stage.fail("GitLab serves a different pipelines/main.yaml than the one pushed")


@pytest.mark.stage(
    "pipelinerun_succeeded", needs=("push_pipeline", "push_deployment_manifests", "registry_auth")
)
def test_pipelinerun_succeeded(
    stage: StageContext,
    kube: KubeClient,
    gitlab: GitLabClient,
    names: QuickstartNames,
    stage_timeout: float,
) -> None:
    """The push's webhook starts the init run, which starts ``main-pipiline-n<hex>``; it must succeed."""
    namespace = names.runtime_namespace
    tracker = PipelineRunTracker()
    try:
        follow(
            f"PipelineRun main-pipiline-n<hex> in {namespace}",
            kube.watch(TEKTON, "PipelineRun", namespace, timeout_s=stage_timeout),
            tracker.judge,
            progress=stage.progress,
        )
    except StageFailure as timed_out:
        if tracker.init_run is None and tracker.user_run is None:
            stage.fail(_no_run_diagnosis(stage, gitlab, kube, names, stage_timeout))
        raise timed_out
    if tracker.init_failure and tracker.init_run is not None:
        stage.evidence("init-pipelinerun.json", tracker.init_run)
        failures = _failed_tasks(stage, kube, namespace, tracker.init_run)
        stage.fail(f"{tracker.init_failure}; {failures}")
    run = tracker.user_run
    if run is None:  # follow() returns only once a run is decided
        stage.fail(f"no main-pipiline-n<hex> run was decided in {namespace}")
    name = run["metadata"]["name"]
    stage.fact("pipelinerun", name)
    stage.evidence("pipelinerun.json", run)
    stage.fact("taskruns", _taskrun_outcomes(kube, namespace, name))
    labels = run["metadata"].get("labels") or {}
    if labels.get("branch") != "main":
        stage.fail(f"{name} is labelled {labels}, not branch=main")
    condition = _succeeded_condition(run)
    if condition.get("status") != "True":
        failures = _failed_tasks(stage, kube, namespace, run)
        stage.fail(f"{name} failed: {condition.get('reason')}: {condition.get('message')}; {failures}")


def _no_run_diagnosis(
    stage: StageContext, gitlab: GitLabClient, kube: KubeClient, names: QuickstartNames, timeout_s: float
) -> str:
    """Why no run started: the push's webhook is the first suspect, then the Argo Events pods."""
    hooks = gitlab.project_hooks(f"{names.product}/{names.source_repo}")
    stage.evidence("source-repo-webhooks.json", hooks)
    hook_urls = [str(hook.get("url")) for hook in hooks if hook.get("push_events")]
    lines = [
        f"no PipelineRun appeared in {names.runtime_namespace} within {timeout_s:g}s of the push: the push "
        f"webhook was not delivered or did not trigger the Sensor (push webhooks on {names.source_repo}: "
        f"{hook_urls or 'none'})"
    ]
    for pod in kube.list(CORE, "Pod", ARGO_EVENTS_NAMESPACE):
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") == "CrashLoopBackOff":
                name = pod["metadata"]["name"]
                log = kube.pod_log(ARGO_EVENTS_NAMESPACE, name, container.get("name"))
                stage.evidence(f"{name}.log", log)
                hint = (
                    " — 'too many open files': raise fs.inotify.max_user_instances on the runtime node "
                    "(quickstart FAQ)"
                    if "too many open files" in log
                    else ""
                )
                lines.append(
                    f"pod {ARGO_EVENTS_NAMESPACE}/{name} is in CrashLoopBackOff "
                    f"(restarts: {container.get('restartCount', '?')}){hint}"
                )
    return "; ".join(lines)


class PipelineRunTracker:
    """Judges the PipelineRun events of the runtime namespace: the ``hooks-`` init run, then the user's run.

    A decided run ends the wait at once (success or failure); the stage then reads what was seen."""

    def __init__(self) -> None:
        self.user_run: dict[str, Any] | None = None
        self.init_run: dict[str, Any] | None = None
        self.init_failure: str | None = None

    def judge(self, event: tuple[str, dict[str, Any]]) -> Observation:
        _, run = event
        name = run["metadata"]["name"]
        condition = _succeeded_condition(run)
        reason = condition.get("reason", "Pending")
        if name.startswith("hooks-"):
            self.init_run = run
            if condition.get("status") == "False":
                self.init_failure = f"the init run {name} failed: {reason}: {condition.get('message')}"
                return Observation(done=True, state=f"init run {name}: {reason}")
            return Observation(done=False, state=f"init run {name}: {reason}")
        if not PIPELINERUN_NAME.match(name):
            return Observation(done=False, state=f"PipelineRun {name} (not the quickstart's): {reason}")
        self.user_run = run
        status = run.get("status") or {}
        tasks = (status.get("pipelineSpec") or run["spec"].get("pipelineSpec") or {}).get("tasks", [])
        finished = sum(
            1
            for taskrun in (status.get("taskRuns") or {}).values()
            if _succeeded_condition(taskrun).get("status") in ("True", "False")
        )
        state = f"{name}: {reason}, {finished}/{len(tasks)} tasks done"
        return Observation(done=condition.get("status") in ("True", "False"), state=state)


def _succeeded_condition(resource: dict[str, Any]) -> dict[str, Any]:
    status = resource.get("status", resource)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Succeeded":
            return dict(condition)
    return {}


def _failed_tasks(stage: StageContext, kube: KubeClient, namespace: str, run: dict[str, Any]) -> str:
    """Name each failed task with its reason and the last log line of its failed step (the full log of
    that step goes to the evidence), because Tekton's run message only counts failures."""
    found = []
    for taskrun in ((run.get("status") or {}).get("taskRuns") or {}).values():
        status = taskrun.get("status") or {}
        condition = _succeeded_condition(taskrun)
        if condition.get("status") != "False":
            continue
        text = (
            f"task {taskrun.get('pipelineTaskName')}: {condition.get('reason')}: {condition.get('message')}"
        )
        failed_steps = [
            step
            for step in status.get("steps") or []
            if (step.get("terminated") or {}).get("exitCode", 0) != 0
        ]
        if failed_steps and status.get("podName"):
            step = failed_steps[0]
            log = kube.pod_log(namespace, status["podName"], step.get("container"))
            stage.evidence(f"{status['podName']}-{step.get('container')}.log", log)
            last_lines = [line for line in log.splitlines() if line.strip()][-1:]
            text += f" (step {step.get('name')}: {' '.join(last_lines) or 'no output'})"
        found.append(text)
    return "; ".join(found) or "no task reports a failure"


def _taskrun_outcomes(kube: KubeClient, namespace: str, pipelinerun: str) -> dict[str, str]:
    outcomes = {}
    for taskrun in kube.list(
        TEKTON, "TaskRun", namespace, label_selector=f"tekton.dev/pipelineRun={pipelinerun}"
    ):
        task = (taskrun["metadata"].get("labels") or {}).get(
            "tekton.dev/pipelineTask", taskrun["metadata"]["name"]
        )
        condition = _succeeded_condition(taskrun)
        outcomes[task] = f"{condition.get('reason', 'Unknown')}: {condition.get('message', '')}".strip()
    return outcomes


@pytest.mark.stage("image_published", needs=("pipelinerun_succeeded",))
def test_image_published(
    stage: StageContext, registry: RegistryClient, world: World, names: QuickstartNames, facts: dict[str, Any]
) -> None:
    """The registry holds ``devops-sample:0.0.1-<source commit>``."""
    tag = f"0.0.1-{facts['source_commit']}"
    manifest = registry.manifest(names.image_repository, tag)
    if manifest is None:
        tags = registry.tags(names.image_repository)
        stage.fail(f"the registry has no {names.image_repository}:{tag}; its tags are {tags}")
    image_url = f"{world.registry.host}/{names.image_repository}:{tag}"
    stage.fact("image_url", image_url)
    stage.fact("image_digest", manifest.digest)


@pytest.mark.stage("image_tag_rewritten", needs=("pipelinerun_succeeded",))
def test_image_tag_rewritten(
    stage: StageContext,
    world: World,
    names: QuickstartNames,
    facts: dict[str, Any],
    workdir: Path,
) -> None:
    """The pipeline bot's commit in the deploy repo points the Deployment at the new image."""
    image_url = f"{world.registry.host}/{names.image_repository}:0.0.1-{facts['source_commit']}"
    project = f"{names.product}/{names.deploy_repo}"
    copy = GitWorkingCopy.clone(
        f"{world.gitlab_url}/{project}.git", workdir / "deploy-check", world.gitlab_token
    )
    message = copy.log_message("HEAD")
    expected_message = f"{BOT_COMMIT_PREFIX}{image_url}"
    if message.strip() != expected_message:
        stage.fail(f"the deploy repo's last commit is {message.strip()!r}, expected {expected_message!r}")
    images = _container_images(copy.read(DEPLOY_FILE))
    stage.evidence("deployment-images.json", images)
    if images.get("ks-sample") != image_url:
        stage.fail(f"{DEPLOY_FILE} names {images.get('ks-sample')!r} for ks-sample, expected {image_url!r}")
    stage.fact("deploy_commit", copy.head())
    stage.fact("image_url", image_url)


def _container_images(manifest_text: str) -> dict[str, str]:
    images: dict[str, str] = {}
    for document in yaml.safe_load_all(manifest_text):
        if not document or document.get("kind") != "Deployment":
            continue
        for container in document["spec"]["template"]["spec"].get("containers", []):
            images[container["name"]] = container.get("image", "")
    return images
