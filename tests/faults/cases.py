"""The fault matrix: for every fault the reference stack can inject, the stage that must catch it and what
its diagnosis must name (:data:`CASES`), or why the run must stay green despite it (:data:`GREEN_CASES`).

One row per fault: ``test_fault_matrix_complete`` fails for a fault of ``nautes_refstack.faults.FAULTS``
that has no row here, so a new fault cannot go unproven.
"""

from __future__ import annotations

from dataclasses import dataclass

TEARDOWN = "teardown"


@dataclass(frozen=True)
class FaultCase:
    """``keyword`` and ``teardown_keyword`` may name the run's objects with ``{suffix}`` (the run's suffix).

    A case runs on a warm stack shared with other runs, its fault armed for its run only: the fault's hook
    must name what it acts on (``faults.active(..., about=...)``). ``own_stack`` cases start a stack with
    the fault instead: faults that act before anything names the run, or on what every run shares.
    """

    fault: str
    stage: str
    keyword: str
    teardown: str = "passed"
    teardown_keyword: str = ""
    own_stack: bool = False
    #: Options of the main job besides the stage timeout (``--cluster-type virtual``); own_stack cases only.
    options: tuple[str, ...] = ()


CASES = [
    # GitLab's token check at preflight names no run yet: a stack of its own.
    FaultCase("gitlab-token-rejected", "preflight", "401", own_stack=True),
    FaultCase("nautes-api-500=Cluster", "register_cluster", "500"),
    FaultCase("cluster-kubeconfig-not-stored", "register_cluster", "cluster/data/kubernetes/"),
    # The next CodeRepo save (and every CodeRepo delete) re-reads the readwrite keys, so Nautes itself fails
    # on the missing secret, with its path, and the teardown cannot remove the repositories either.
    FaultCase("deploykey-not-stored", "initialise_product", "gitlab/repo-", "failed", "SECRET_NOT_FOUND"),
    FaultCase("namespace-never-created", "initialise_product", "namespace not created yet"),
    # Argo CD never syncs the tenant repository: the Environment save keeps answering that the cluster
    # does not exist, and the stage stops waiting at its timeout, saying so. The cluster-operator never saw
    # the Cluster either, so it never deletes the cluster's kubeconfig from Vault: the teardown names it.
    # Every run shares the tenant repository: a stack of its own.
    FaultCase(
        "tenant-repo-never-syncs",
        "initialise_product",
        "did not sync cluster physical-worker-{suffix}",
        "failed",
        "cluster/data/kubernetes/physical-worker-{suffix}/default/admin (the cluster's kubeconfig)",
        own_stack=True,
    ),
    # The hook exists (the event source runs) but no Sensor pod does: a push now would be lost.
    FaultCase("sensors-never-ready", "initialise_product", "its pod not running yet"),
    FaultCase("configmap-data-dropped", "registry_auth", "config.json"),
    FaultCase("force-push-setting-ignored", "push_deployment_manifests", "allow_force_push"),
    FaultCase("webhook-not-delivered", "pipelinerun_succeeded", "webhook"),
    FaultCase("argo-events-crashloop", "pipelinerun_succeeded", "CrashLoopBackOff"),
    FaultCase("hooks-run-fails", "pipelinerun_succeeded", "init run"),
    # The vault-agent init container needs Secret ca (vault.hashicorp.com/tls-secret): the task pod stays
    # Pending and the run Running until the timeout; the diagnosis names the stuck pod and the kubelet's
    # FailedMount Event.
    FaultCase("ca-secret-missing", "pipelinerun_succeeded", 'secret "ca" not found'),
    FaultCase("task-fails=image-build", "pipelinerun_succeeded", "image-build"),
    FaultCase("wrong-image-tag", "image_published", "0.0.1-latest"),
    FaultCase("tag-not-rewritten", "image_tag_rewritten", "automatic update by pipeline bot"),
    # Every stage passes; the teardown's check that nothing outlives the run is what catches it.
    FaultCase("runtime-not-cleaned-up", TEARDOWN, "left behind: namespace pr-demo-{suffix}", "failed"),
    # -- issue 8, side effects of register/initialise/push (helper "promises-setup") --
    # A save answered 200 that stored nothing, and one that stored another value than sent: the read-back
    # right after the save names the resource and the field (the pipeline would fail two stages later).
    FaultCase(
        "nautes-save-not-persisted=CodeRepoBinding",
        "initialise_product",
        "is not there: its save answered 200, and reading it back answers not found",
    ),
    FaultCase(
        "binding-permissions-stored-readonly",
        "initialise_product",
        'permissions: sent "readwrite", Nautes returns "readonly"',
    ),
    # Vault's deploy keys are not the ones GitLab has: the pipeline's clone would be refused much later.
    FaultCase("deploykey-mismatch", "initialise_product", "is not the key GitLab has as repo-"),
    # GitLab gives read-only deploy keys write access: nothing in the run would ever notice.
    FaultCase(
        "readonly-deploykey-can-push", "initialise_product", "has can_push=True, a readonly key must not push"
    ),
    # The event source's hook is there but deaf to pushes: said where the hook is made, not as "no run".
    FaultCase("webhook-push-events-off", "initialise_product", "exists but does not listen to push events"),
    # git says the force push went through; main is put back at once: both pushes name it, not the pipeline.
    FaultCase("main-put-back-after-force-push", "push_deployment_manifests", "not at the commit just pushed"),
    # The kubeconfig is in Vault but lost its token on the way: the operators could never reach the cluster.
    FaultCase("cluster-kubeconfig-credentials-dropped", "register_cluster", "does not work against https://"),
    # -- issue 8, side effects of the pipeline, image and tag rewrite (helper "promises-pipeline") --
    # The run says Succeeded; its manifest-update TaskRun says Failed: the stage names that TaskRun and the
    # line of its log that says why (not the image_tag_rewritten symptom a stage later).
    FaultCase(
        "pipelinerun-succeeds-despite-failed-task=manifest-update",
        "pipelinerun_succeeded",
        "(task manifest-update) is Failed",
    ),
    FaultCase("push-starts-two-runs", "pipelinerun_succeeded", "one push started 2 user PipelineRuns"),
    # A failed step's log ends in git's generic trailer: the diagnosis quotes GitLab's refusal before it.
    FaultCase(
        "task-fails=manifest-update",
        "pipelinerun_succeeded",
        "This deploy key does not have write access to this project.",
    ),
    # The image repository (devops-sample) is every run's: the registry cannot tell runs apart.
    FaultCase("image-blob-missing", "image_published", "cannot be pulled: its layer", own_stack=True),
    FaultCase("image-digest-mismatch", "image_published", "(the image's config digest, its image ID)"),
    FaultCase(
        "bot-commit-deletes-file",
        "image_tag_rewritten",
        "does more than rewrite the image line: deletes deployments/test/devops-sample-svc.yaml",
    ),
    # The init run succeeds; the user's run appears in the product namespace: said, not "no run appeared".
    FaultCase("pipelinerun-created-elsewhere", "pipelinerun_succeeded", "went to another namespace"),
    # -- issue 8, objects remove forgets (helper "inventory") --
    # Objects of two kinds no hand-made list named (it had the readonly/readwrite deploy keys and the
    # runtime namespace): the teardown's inventory finds them by the ids the run learned, repo-<id> and
    # product-<id>, whose GitLab repositories and group are gone by then.
    FaultCase(
        "remove-forgets-vault-secret", TEARDOWN, "/default/accesstoken-api (project access token)", "failed"
    ),
    FaultCase("remove-forgets-product-namespace", TEARDOWN, "left behind: namespace product-", "failed"),
    # -- issue 11, virtual cluster (helper "virtual-cluster") --
    # The host never installs the vcluster: the wait for its kubeconfig names what the host lacks.
    FaultCase(
        "vcluster-never-installed",
        "register_cluster",
        "host host-{suffix} runs no vcluster vcluster-{suffix}",
        own_stack=True,
        options=("--cluster-type", "virtual"),
    ),
]


@dataclass(frozen=True)
class GreenCase:
    """A fault the harness must absorb: the run passes, and the fault really acted."""

    fault: str
    why: str


#: Faults a real installation shows in good health (slow answers within the timeouts, transient errors):
#: each must leave the run green.
GREEN_CASES: list[GreenCase] = [
    # -- issue 8, transient and slow answers the run must absorb (helper "transient") --
    GreenCase(
        "gitlab-502-first-request",
        "a restarting GitLab answers each REST path's first request 502: the harness and go-gitlab resend it",
    ),
    GreenCase("nautes-api-slow", "a busy Nautes answers late, within the client's timeout: nothing is cut"),
    GreenCase("webhook-delivered-late", "a late webhook starts the run within pipelinerun_succeeded's wait"),
]
