"""Each quickstart stage catches the breakage it names: proven by running the real main job against a
reference stack started with that breakage injected (``NAUTES_E2E_REFSTACK_FAULTS``).

For every fault the run must exit 1 with the named stage ``failed`` and a diagnosis that names the
breakage; the stages after it that need it skipped as "blocked by" it; the stages before it passed; the
teardown passed (or, where the breakage also breaks removal, failed and said why); the fault really acted
(the stack's log says so); and nothing of the run left running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.quickstart import processes_of_run, run_quickstart

pytestmark = pytest.mark.faults

STAGE_TIMEOUT_S = "8"  # generous: under `-n auto` load a healthy stage must never time out
# How the reference stack learns its faults: an environment variable, the one interface the two packages share
# besides the command line (nautes_refstack.faults.FAULTS_ENV; the harness never imports the stack).
FAULTS_ENV = "NAUTES_E2E_REFSTACK_FAULTS"
TEARDOWN = "teardown"


@dataclass(frozen=True)
class FaultCase:
    fault: str
    stage: str
    keyword: str
    teardown: str = "passed"
    teardown_keyword: str = ""


CASES = [
    FaultCase("gitlab-token-rejected", "preflight", "401"),
    FaultCase("nautes-api-500=Cluster", "register_cluster", "500"),
    FaultCase("cluster-kubeconfig-not-stored", "register_cluster", "cluster/data/kubernetes/"),
    # The next CodeRepo save (and every CodeRepo delete) re-reads the readwrite keys, so Nautes itself fails
    # on the missing secret, with its path, and the teardown cannot remove the repositories either.
    FaultCase("deploykey-not-stored", "initialise_product", "gitlab/repo-", "failed", "SECRET_NOT_FOUND"),
    FaultCase("namespace-never-created", "initialise_product", "namespace not created yet"),
    # Argo CD never syncs the tenant repository: the Environment save keeps answering that the cluster
    # does not exist, and the stage stops waiting at its timeout, saying so. The cluster-operator never saw
    # the Cluster either, so it never deletes the cluster's kubeconfig from Vault: the teardown names it.
    FaultCase(
        "tenant-repo-never-syncs",
        "initialise_product",
        "did not sync cluster physical-worker-quickstart",
        "failed",
        "cluster/data/kubernetes/physical-worker-quickstart/default/admin (the cluster's kubeconfig)",
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
    FaultCase("runtime-not-cleaned-up", TEARDOWN, "left behind: namespace pr-demo-quickstart", "failed"),
]


def transitive_dependents(stages: dict[str, dict[str, Any]], root: str) -> set[str]:
    """The stages that need ``root``, directly or through other stages."""
    dependents: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, stage in stages.items():
            if name not in dependents and {root, *dependents} & set(stage["needs"]):
                dependents.add(name)
                changed = True
    return dependents


@pytest.mark.parametrize("case", CASES, ids=[case.fault for case in CASES])
def test_the_stage_that_names_the_breakage_catches_it(case: FaultCase, tmp_path: Path) -> None:
    run = run_quickstart(tmp_path, {FAULTS_ENV: case.fault}, stage_timeout_s=STAGE_TIMEOUT_S)

    assert processes_of_run(run) == [], "the run left processes behind"
    assert f"fault {case.fault} acts" in run.stack_log(), "the fault never acted: the test proves nothing"
    stages = run.stages
    order = list(stages)
    failed = stages[case.stage]
    assert failed["status"] == "failed", f"{case.stage} is {failed['status']}; output:\n{run.tail()}"
    assert case.keyword in (failed["diagnosis"] or ""), (
        f"the diagnosis of {case.stage} does not name {case.keyword!r}: {failed['diagnosis']!r}"
    )
    assert run.returncode == 1, run.tail()
    failed_stages = sorted(name for name, stage in stages.items() if stage["status"] == "failed")
    before = order[: order.index(case.stage)]
    assert {name: stages[name]["status"] for name in before} == dict.fromkeys(before, "passed")
    for name in sorted(transitive_dependents(stages, case.stage) - {TEARDOWN}):
        stage = stages[name]
        assert stage["status"] == "skipped", f"{name} needs {case.stage} but is {stage['status']}"
        # A block names the root failure: this stage, or another stage the same breakage failed too
        # (force-push-setting-ignored fails both pushes).
        blocker = str(stage["skip_reason"]).removeprefix("blocked by ")
        assert blocker in failed_stages, f"{name}: {stage['skip_reason']!r}, failed stages {failed_stages}"
    # Nothing was applied before preflight, so then there is nothing to tear down (and no teardown stage).
    if case.stage != "preflight" or TEARDOWN in stages:
        teardown = stages[TEARDOWN]
        assert teardown["status"] == case.teardown, teardown["diagnosis"]
        assert case.teardown_keyword in (teardown["diagnosis"] or ""), teardown["diagnosis"]
