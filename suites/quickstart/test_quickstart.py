"""The Nautes "run a pipeline" quickstart, one test per stage, in the order a user follows it.

Each stage acts through the same clients a user's tools use (the Nautes API as ``nautes apply`` calls it,
python-gitlab, git, the Kubernetes client, hvac, the OCI distribution API) and checks what the quickstart
promises at that point. A stage that cannot pass skips the stages that need it as "blocked by <stage>".
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from nautes_e2e.clients import Document
from nautes_e2e.suite import (
    AppliedDocuments,
    GitLabClient,
    GitWorkingCopy,
    KubeClient,
    NautesClient,
    RegistryClient,
    Scenario,
    Secret,
    StageContext,
    StageFailure,
    VaultClient,
    World,
    WorldInventory,
)
from suites.quickstart import (
    bot_commit,
    cluster_credential,
    deploykeys,
    image_pull,
    probes,
    readback,
    readonly_push,
    served,
    taskruns,
    virtual_cluster,
    webhook,
)
from suites.quickstart.diagnosis import (
    failed_step_quote,
    failed_tasks,
    no_run_diagnosis,
    stuck_pods,
    went_elsewhere,
)
from suites.quickstart.names import REGISTRY_CA_KEY, QuickstartNames
from suites.quickstart.probes import CORE, TEKTON
from suites.quickstart.push_runs import PushRuns, succeeded_condition

DEPLOY_FILE = "deployments/test/devops-sample.yaml"

# Each stage's default wait on a real installation (``timeout_s`` of its marker; a target file's
# ``timeouts.stages`` or ``--stage-timeout`` replace them), from what each step takes there:
#: Every service answers at once, or is down.
PREFLIGHT_TIMEOUT_S = 60.0
#: A cluster save clones the cluster templates and the tenant repository and pushes (tens of seconds); a
#: virtual worker's kubeconfig comes after Argo CD's 3-minute sync and the vcluster chart starting on its
#: host.
REGISTER_CLUSTER_TIMEOUT_S = 600.0
#: The Environment save waits for Argo CD to sync the new Cluster (up to 3 min, contract §3.5); then the
#: base operator's 60 s product poll, another Argo CD sync of default.project, the components a fresh
#: runtime cluster installs, and the runtime operator's 60 s reconcile (§4.1) before the namespace, the
#: service account, the event source and the Sensors exist.
INITIALISE_PRODUCT_TIMEOUT_S = 900.0
#: Writes to GitLab and the runtime cluster: seconds.
QUICK_TIMEOUT_S = 120.0
#: The push's webhook, the init run, then the user's run: git-clone, Maven downloading its dependencies on
#: an empty cache, kaniko building and pushing, git-cli: many minutes on a fresh cluster.
PIPELINERUN_TIMEOUT_S = 1800.0
BOT_COMMIT_PREFIX = "automatic update by pipeline bot: "


@pytest.mark.stage("preflight", timeout_s=PREFLIGHT_TIMEOUT_S)
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
    inventory: WorldInventory,
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
    inventory.take(stage)  # what exists before the run: the teardown names what outlives it


def _auth_mount_missing(vault: VaultClient, cluster: str) -> str | None:
    """What the cluster-operator has not done yet for a synced pipeline worker: its Kubernetes auth mount
    ``auth/<cluster>/`` (NAUTES v0.4.2 ``app/cluster-operator/internal/secretclient/vault/vault_sync.go``
    ``syncAuth``; contract §5.2, the injector's ``authPath``)."""
    return None if f"{cluster}/" in vault.auth_mounts() else f"auth/{cluster}/ not enabled yet"


@pytest.mark.stage("register_cluster", needs=("preflight",), timeout_s=REGISTER_CLUSTER_TIMEOUT_S)
def test_register_cluster(
    stage: StageContext,
    scenario: Scenario,
    nautes: NautesClient,
    vault: VaultClient,
    kube: KubeClient,
    names: QuickstartNames,
    values: dict[str, str],
    applied: AppliedDocuments,
    cluster_group: str,
) -> None:
    """The runtime cluster is registered: as a physical pipeline worker (``--cluster-type physical``), or
    as a host and then a virtual pipeline worker on it (``virtual``), each file applied on its own, in that
    order (the teardown removes them in reverse). Promised here, for each registration:

    * the Cluster reads back as it was sent (every field its reply carries, contract §2.4);
    * it is what it was registered as: the worker a pipeline worker of its type (a virtual one on the host)
      with a Tekton dashboard host (``componentsList.pipeline``); the host a physical host;
    * its kubeconfig is in Vault at ``cluster/data/kubernetes/<cluster>/default/admin`` (§3.4), pointing
      at the registered API server, and it works there (an authenticated read is let in). A physical
      cluster's is stored by the save; a virtual one's once the host serves the virtual cluster's API at the
      host's address and the node port and the cluster-operator has read it there (§3.1, §4.5): waited for.
    """
    documents = scenario.documents(cluster_group, values)
    for document in documents:  # one `nautes apply` per file, as the guide registers host and worker
        for result in applied.apply(stage, [document]):
            stage.progress(f"{result.kind} {result.name}: {result.message}")
        if document.spec.get("usage") == "worker":
            applied.settle_before_removal(
                document,
                f"the cluster-operator to configure auth/{document.name}/ in Vault (Nautes synced the "
                "cluster: only then does removing it delete its kubeconfig)",
                partial(_auth_mount_missing, vault, document.name),
            )
    replies = readback.verify_saved(stage, nautes, documents, "cluster")
    cluster = replies[f"Cluster {names.cluster}"]
    stage.evidence("cluster.json", cluster)
    cluster_type = "virtual" if names.host_cluster else "physical"
    expected = {"usage": "worker", "worker_type": "pipeline", "cluster_type": cluster_type}
    if names.host_cluster:
        expected["host_cluster"] = names.host_cluster
        host_expected = {"usage": "host", "cluster_type": "physical"}
        host = replies[f"Cluster {names.host_cluster}"]
        wrong_host = {k: host.get(k) for k, v in host_expected.items() if host.get(k) != v}
        if wrong_host:
            stage.fail(f"GET cluster {names.host_cluster} reports {wrong_host}, expected {host_expected}")
    wrong = {k: cluster.get(k) for k, v in expected.items() if cluster.get(k) != v}
    if wrong:
        stage.fail(f"GET cluster {names.cluster} reports {wrong}, expected {expected}")
    tekton_host = (cluster.get("components_list") or {}).get("pipeline", {}).get("additions", {}).get("host")
    if not tekton_host:
        stage.fail(
            "the registered cluster has no componentsList.pipeline.additions.host (Tekton dashboard host)"
        )
    stage.fact("cluster", names.cluster)
    if names.host_cluster:
        stage.fact("host_cluster", names.host_cluster)
    stage.fact("tekton_host", tekton_host)
    if names.host_cluster:
        stage.wait_for(
            f"the host {names.host_cluster} to serve virtual cluster {names.cluster} and Nautes to keep its "
            "kubeconfig",
            lambda: virtual_cluster.kubeconfig_kept(vault, kube, names.cluster, names.host_cluster),
        )
    for document in documents:
        _kubeconfig_works(stage, vault, document.name, str(document.spec.get("apiServer", "")))


def _kubeconfig_works(stage: StageContext, vault: VaultClient, cluster: str, api_server: str) -> None:
    """The kubeconfig Nautes keeps for ``cluster`` is in Vault and works against ``api_server``."""
    secret = vault.kv_secret("cluster", f"kubernetes/{cluster}/default/admin")
    keys = None if secret is None else set(secret)
    if secret is None or "kubeconfig" not in secret:
        stage.fail(
            f"Vault has no kubeconfig at cluster/data/kubernetes/{cluster}/default/admin (keys: {keys})"
        )
    problem = cluster_credential.stored_kubeconfig_problem(secret["kubeconfig"], cluster, api_server)
    if problem:
        stage.fail(problem)


@pytest.mark.stage("initialise_product", needs=("register_cluster",), timeout_s=INITIALISE_PRODUCT_TIMEOUT_S)
def test_initialise_product(
    stage: StageContext,
    scenario: Scenario,
    nautes: NautesClient,
    gitlab: GitLabClient,
    vault: VaultClient,
    runtime_kube: KubeClient,
    names: QuickstartNames,
    values: dict[str, str],
    applied: AppliedDocuments,
) -> None:
    """Product, project, repos, environment, binding and pipeline runtime exist where Nautes puts them.
    Promised here:

    * each saved resource reads back as it was sent (contract §2.4): none answered 200 and is missing;
    * the product's GitLab group holds the code repositories (§3.2, §3.3);
    * each repository's readonly and readwrite deploy keys are in Vault (§3.4), valid SSH private keys
      whose public halves are the keys GitLab has under their ids, can_push only for readwrite; the
      binding's keys are enabled on the deploy repository with the push it grants (§3.3); a push with a
      readonly key over GitLab's SSH is refused;
    * the runtime namespace and its service account exist (§4.2); the event source and the Sensors run
      (§4.3);
    * the source repository's hook is the event source's: at its URL, listening to push events, its
      secret token Secret present (§4.3).
    """
    saved: list[Document] = []
    for group in ("product", "pipeline"):
        documents = scenario.documents(group, values)
        for result in applied.apply(stage, documents):
            stage.progress(f"{result.kind} {result.name}: {result.message}")
        readback.verify_saved(stage, nautes, documents, group)
        saved += documents

    projects = {p["path"]: p for p in gitlab.group_projects(names.product)}
    stage.evidence("gitlab-projects.json", sorted(projects))
    missing = [repo for repo in names.code_repos if repo not in projects]
    if missing:
        stage.fail(f"GitLab group {names.product} lacks the code repositories {missing}")
    repo_ids = {repo: int(projects[repo]["id"]) for repo in names.code_repos}
    stage.fact("repo_ids", repo_ids)
    stage.fact("product", names.product)
    deploy_keys: dict[str, dict[str, Secret] | None] = {}  # read once, for every check below
    for repo, repo_id in repo_ids.items():
        for permission in probes.DEPLOY_KEY_PERMISSIONS:
            path = probes.deploy_key_path(repo_id, permission)
            secret = deploy_keys[path] = vault.kv_secret("git", path)
            fields = None if secret is None else set(secret)
            if not fields or "deploykey" not in fields:
                stage.fail(f"Vault has no deploy key for {repo} at git/data/{path} (fields: {fields})")
    metadata_repo = {deploykeys.DEFAULT_PROJECT: int(projects[deploykeys.DEFAULT_PROJECT]["id"])}
    deploykeys.verify_deploy_keys(stage, gitlab, vault, repo_ids | metadata_repo, saved, deploy_keys)
    ssh_urls = {repo: str(projects[repo]["ssh_url_to_repo"]) for repo in names.code_repos}
    stage.fact("repo_ssh_urls", ssh_urls)
    _readonly_key_cannot_push(stage, deploy_keys, names.deploy_repo, repo_ids, ssh_urls)

    namespace = names.runtime_namespace
    stage.wait_for(
        f"runtime namespace {namespace} and service account {names.pipeline_runtime}",
        lambda: probes.runtime_space_ready(runtime_kube, namespace, names.pipeline_runtime),
    )
    stage.fact("runtime_namespace", namespace)
    consumer = probes.runtime_consumer(
        int(projects[names.source_repo]["namespace"]["id"]), names.pipeline_runtime
    )
    stage.wait_for(
        f"the event source and {names.pipeline_triggers} Sensor(s) of {names.pipeline_runtime} to be ready",
        lambda: probes.event_handling_ready(runtime_kube, consumer, names.pipeline_triggers),
    )
    stage.fact("event_consumer", consumer)
    _source_hook_listens(
        stage, gitlab, runtime_kube, f"{names.product}/{names.source_repo}", consumer, repo_ids
    )


def _source_hook_listens(
    stage: StageContext,
    gitlab: GitLabClient,
    runtime_kube: KubeClient,
    project: str,
    consumer: str,
    repo_ids: dict[str, int],
) -> None:
    """The hook the event source registers on the source repository exists and is as it asks: a push to
    main will reach the Sensors."""
    repo = project.rsplit("/", 1)[-1]
    entry = webhook.event_source_entry(runtime_kube, consumer, repo_ids[repo])
    if entry is None:
        stage.fail(f"EventSource {consumer}-gitlab has no gitlab entry repo-{repo_ids[repo]} for {repo}")
    url = entry.url
    stage.wait_for(
        f"the hook EventSource {entry.event_source} registers on {repo}",
        lambda: webhook.hook_registered(gitlab, project, url),
    )
    problems = webhook.hook_problems(gitlab, runtime_kube, project, entry)
    if problems:
        stage.fail("; ".join(problems))
    stage.fact("source_hook", entry.url)


def _readonly_key_cannot_push(
    stage: StageContext,
    deploy_keys: dict[str, dict[str, Secret] | None],
    repo: str,
    repo_ids: dict[str, int],
    ssh_urls: dict[str, str],
) -> None:
    """A real push over SSH with ``repo``'s readonly deploy key (as the stage read it from Vault) must be
    refused as read-only: GitLab's ``can_push`` is what it says, the SSH server's answer is what it does."""
    path = probes.deploy_key_path(repo_ids[repo], "readonly")
    private = (deploy_keys[path] or {})["deploykey"]
    attempt = readonly_push.push_with_key(ssh_urls[repo], private)
    if attempt.pushed:
        stage.fail(
            f"the readonly deploy key of {repo} (git/data/{path}) pushed branch {readonly_push.PROBE_BRANCH} "
            f"to {repo} over SSH: a read-only key must not push (the key deleted the branch again)"
        )
    if attempt.unreachable:
        stage.note(f"the readonly key of {repo} was not tried: GitLab's SSH did not answer: {attempt.output}")
        return
    if not attempt.refused_read_only:
        stage.fail(
            f"a push with the readonly deploy key of {repo} over SSH failed, but not as read-only: "
            f"{attempt.output}"
        )
    stage.fact("readonly_push", f"refused ({repo})")


@pytest.mark.stage("registry_auth", needs=("initialise_product",), timeout_s=QUICK_TIMEOUT_S)
def test_registry_auth(
    stage: StageContext, world: World, runtime_kube: KubeClient, names: QuickstartNames
) -> None:
    """The ``registry-auth`` ConfigMap the image-build task pushes with, as the quickstart creates it.

    ``auths`` is keyed by the registry host alone, as ``docker login`` writes it and as kaniko looks it up
    (go-containerregistry pkg/authn/keychain.go: ``cf.GetAuthConfig(target.RegistryStr())``; a path is never
    part of the key, docker/cli cliconfig/configfile ``GetAuthConfig(registryHostname)``). A registry
    with a private CA also gets its CA here as ``ca.crt``, the file kaniko's --registry-certificate names.

    Promised here: read back from the runtime namespace, the ConfigMap holds every key as created, value
    for value (values are never shown: config.json carries the registry credentials).
    """
    registry = world.registry
    if registry.username is None or registry.password is None:
        stage.fail("the target gives no registry credentials (usernameEnv/passwordEnv in the target file)")
    auth = Secret(
        base64.b64encode(f"{registry.username.reveal()}:{registry.password.reveal()}".encode()).decode()
    )
    config = Secret(json.dumps({"auths": {registry.host: {"auth": auth.reveal()}}}))
    data = {"config.json": config.reveal()}
    if registry.ca_pems and not registry.insecure:
        data[REGISTRY_CA_KEY] = "".join(pem.read_text().rstrip("\n") + "\n" for pem in registry.ca_pems)
    runtime_kube.apply_configmap(names.runtime_namespace, "registry-auth", data)
    stored = (runtime_kube.get(CORE, "ConfigMap", "registry-auth", names.runtime_namespace) or {}).get(
        "data"
    ) or {}
    missing = sorted(key for key in data if key not in stored)
    if missing:
        stage.fail(f"ConfigMap registry-auth in {names.runtime_namespace} lacks {missing} after creating it")
    altered = sorted(key for key in data if stored[key] != data[key])
    if altered:
        stage.fail(
            f"ConfigMap registry-auth in {names.runtime_namespace} holds {altered} otherwise than created"
        )
    stage.fact("registry_auth_hosts", sorted(json.loads(stored["config.json"]).get("auths", {})))


@pytest.mark.stage("push_deployment_manifests", needs=("initialise_product",), timeout_s=QUICK_TIMEOUT_S)
def test_push_deployment_manifests(
    stage: StageContext,
    scenario: Scenario,
    world: World,
    gitlab: GitLabClient,
    names: QuickstartNames,
    values: dict[str, str],
    workdir: Path,
) -> None:
    """The deploy repo holds the manifests, the Ingress host set to the cluster IP, force-pushed to main.
    Promised here: main allows force pushes; after the push GitLab's main is the pushed commit, holding
    exactly the pushed files, byte for byte; the Ingress names the cluster IP's nip.io host."""
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
    copy = GitWorkingCopy.init(
        directory, f"{world.gitlab_url}/{project}.git", world.gitlab_token, ca_bundle=world.gitlab_ca_bundle
    )
    copy.write_files(files)
    commit = copy.commit_all(message, "Quickstart User", "quickstart@example.test")
    copy.push("main", force=True)
    served.verify_served(stage, gitlab, project, "main", commit, files)
    return commit


@pytest.mark.stage("push_pipeline", needs=("initialise_product",), timeout_s=QUICK_TIMEOUT_S)
def test_push_pipeline(
    stage: StageContext,
    scenario: Scenario,
    world: World,
    gitlab: GitLabClient,
    names: QuickstartNames,
    values: dict[str, str],
    workdir: Path,
) -> None:
    """The pipeline (variables substituted) and the sample app are force-pushed to the source repo's main.
    Promised here: no template variable is left in ``pipelines/main.yaml``; main allows force pushes; after
    the push GitLab's main is the pushed commit, holding exactly the pushed files, byte for byte."""
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


@pytest.mark.stage(
    "pipelinerun_succeeded",
    needs=("push_pipeline", "push_deployment_manifests", "registry_auth"),
    timeout_s=PIPELINERUN_TIMEOUT_S,
)
def test_pipelinerun_succeeded(
    stage: StageContext,
    runtime_kube: KubeClient,
    gitlab: GitLabClient,
    names: QuickstartNames,
    facts: dict[str, Any],
) -> None:
    """The push to the source repository runs the quickstart's pipeline. Promised here (contract §4.4):

    * the push's webhook starts an init (``hooks-``) run that succeeds, and it creates the user's run
      ``main-pipiline-n<hex>`` in the runtime namespace (a run elsewhere is said as such);
    * exactly one user run per push: only runs created after the pushed commit that cloned it count, so
      the runs of an earlier push in a kept world are ignored, and a second run of this push fails;
    * the run is labelled ``branch=main`` and is ``Succeeded``;
    * every one of its TaskRuns bears that out: each task of its pipeline ran a TaskRun that succeeded
      (or was skipped), read from the TaskRun objects, not from the run's summary;
    * a failed task is named with the lines of its step's log that say why, not the tool's trailer.
    """
    namespace = names.runtime_namespace
    commit = str(facts["source_commit"])
    source = f"{names.product}/{names.source_repo}"
    pushed = next((c for c in gitlab.commits(source, commit) if c.get("id") == commit), None)
    if pushed is None:
        stage.fail(f"GitLab does not know the pushed commit {commit} of {source}")
    runs = PushRuns(commit, datetime.fromisoformat(str(pushed["committed_date"]).replace("Z", "+00:00")))
    try:
        stage.follow(
            f"the PipelineRuns of the push of {commit[:12]} in {namespace}",
            runtime_kube.watch(TEKTON, "PipelineRun", namespace, timeout_s=stage.timeout_s),
            runs.judge,
        )
    except StageFailure as timed_out:
        elsewhere = None if runs.user_runs else went_elsewhere(runtime_kube, names, runs)
        if elsewhere is not None:
            stage.fail(elsewhere)
        if not runs.init_runs and not runs.user_runs:
            stage.fail(no_run_diagnosis(stage, gitlab, runtime_kube, names, facts["event_consumer"], runs))
        stuck = stuck_pods(stage, runtime_kube, namespace)
        if stuck:
            stage.fail(f"{timed_out.diagnosis}; {stuck}")
        raise timed_out
    if runs.earlier:
        stage.progress(f"runs of earlier pushes ignored: {runs.earlier}")
    failed_init = runs.failed_init_run()
    if failed_init is not None:
        stage.evidence("init-pipelinerun.json", failed_init)
        condition = succeeded_condition(failed_init)
        stage.fail(
            f"the init run {failed_init['metadata']['name']} failed: {condition.get('reason')}: "
            f"{condition.get('message')}; {failed_tasks(stage, runtime_kube, namespace, failed_init)}"
        )
    if len(runs.user_runs) > 1:
        stage.evidence("pipelineruns.json", list(runs.user_runs.values()))
        stage.fail(
            f"one push started {len(runs.user_runs)} user PipelineRuns, not one: {sorted(runs.user_runs)} "
            f"(from the init runs {sorted(runs.init_runs)}): the push event was delivered or triggered twice"
        )
    run = next(iter(runs.user_runs.values()))  # follow() returns once a run of the push is decided
    name = run["metadata"]["name"]
    stage.fact("pipelinerun", name)
    stage.evidence("pipelinerun.json", run)
    labels = run["metadata"].get("labels") or {}
    if labels.get("branch") != "main":
        stage.fail(f"{name} is labelled {labels}, not branch=main: the run went to another trigger's label")
    condition = succeeded_condition(run)
    if condition.get("status") != "True":
        failures = failed_tasks(stage, runtime_kube, namespace, run)
        stage.fail(f"{name} failed: {condition.get('reason')}: {condition.get('message')}; {failures}")
    found = taskruns.taskruns_of(runtime_kube, namespace, name)
    stage.evidence("taskruns.json", found)
    stage.fact("taskruns", taskruns.outcomes(found))
    disagreeing = taskruns.disagreements(run, found)
    if disagreeing:
        text, status = disagreeing[0]
        quote = failed_step_quote(stage, runtime_kube, namespace, status)
        more = f"; and {len(disagreeing) - 1} more" if len(disagreeing) > 1 else ""
        stage.fail(f"{name} says {condition.get('reason')} but {text}{quote}{more}")
    stage.fact("task_results", taskruns.results(found))


@pytest.mark.stage("image_published", needs=("pipelinerun_succeeded",), timeout_s=QUICK_TIMEOUT_S)
def test_image_published(
    stage: StageContext, registry: RegistryClient, world: World, names: QuickstartNames, facts: dict[str, Any]
) -> None:
    """The image the pipeline built is in the registry. Promised here:

    * the registry holds ``[<path>/]devops-sample:0.0.1-<source commit>``;
    * it can be pulled: the manifest's bytes hash to the digest the registry names it by, and every blob
      it references (config and layers) answers ``HEAD /v2/<name>/blobs/<digest>`` with its size;
    * it is the image the pipeline reported: its digest is kaniko's ``IMAGE_DIGEST`` result.
    """
    tag = f"0.0.1-{facts['source_commit']}"
    repository = world.registry.repository(names.image_repository)
    manifest = registry.manifest(repository, tag)
    if manifest is None:
        tags = registry.tags(repository)
        stage.fail(f"the registry {world.registry.host} has no {repository}:{tag}; its tags are {tags}")
    image_url = f"{world.registry.image_prefix}/{names.image_repository}:{tag}"
    stage.evidence("image-manifest.json", dataclasses.asdict(manifest))
    problems = image_pull.unpullable(registry, repository, manifest)
    if problems:
        stage.fail(f"{image_url} cannot be pulled: {'; '.join(problems)}")
    reported = image_pull.reported_image(facts["task_results"])
    if reported is None:
        stage.fail(f"no task of {facts['pipelinerun']} reported an {image_pull.DIGEST_RESULT}")
    if reported.digest != manifest.digest:
        what = (
            " (the image's config digest, its image ID)"
            if manifest.config and reported.digest == manifest.config.digest
            else ""
        )
        stage.fail(
            f"task {reported.task} reported {image_pull.DIGEST_RESULT} {reported.digest}{what}, but the "
            f"registry serves {image_url} as {manifest.digest}"
        )
    stage.fact("image_url", image_url)
    stage.fact("image_digest", manifest.digest)
    stage.fact("image_blobs", len(manifest.blobs))


@pytest.mark.stage("image_tag_rewritten", needs=("pipelinerun_succeeded",), timeout_s=QUICK_TIMEOUT_S)
def test_image_tag_rewritten(
    stage: StageContext,
    scenario: Scenario,
    world: World,
    names: QuickstartNames,
    values: dict[str, str],
    facts: dict[str, Any],
    workdir: Path,
) -> None:
    """The pipeline bot rewrote the image tag in the deploy repository. Promised here:

    * its last commit is the bot's ``automatic update by pipeline bot: <image URL>``;
    * the Deployment's ``ks-sample`` container names the new image;
    * nothing else changed: the repository holds the manifests the quickstart pushed, byte for byte, but
      for that one image line (no file lost, added or rewritten by the bot's ``git commit -a``).
    """
    image_url = f"{world.registry.image_prefix}/{names.image_repository}:0.0.1-{facts['source_commit']}"
    project = f"{names.product}/{names.deploy_repo}"
    copy = GitWorkingCopy.clone(
        f"{world.gitlab_url}/{project}.git",
        workdir / "deploy-check",
        world.gitlab_token,
        ca_bundle=world.gitlab_ca_bundle,
    )
    message = copy.log_message("HEAD")
    expected_message = f"{BOT_COMMIT_PREFIX}{image_url}"
    if message.strip() != expected_message:
        stage.fail(f"the deploy repo's last commit is {message.strip()!r}, expected {expected_message!r}")
    images = _container_images(copy.read(DEPLOY_FILE))
    stage.evidence("deployment-images.json", images)
    if images.get("ks-sample") != image_url:
        stage.fail(f"{DEPLOY_FILE} names {images.get('ks-sample')!r} for ks-sample, expected {image_url!r}")
    pushed = scenario.repo_files("deployment", values)
    changes = bot_commit.unexpected_changes(pushed, bot_commit.tree_files(copy.path), DEPLOY_FILE, image_url)
    if changes:
        stage.fail(
            f"the bot's commit {copy.head()[:12]} does more than rewrite the image line: {'; '.join(changes)}"
        )
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
