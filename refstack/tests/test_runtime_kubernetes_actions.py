"""The ``kubernetes-actions`` ClusterTask running the pipeline-run script of a hooks PipelineRun.

The script is the one the runtime operator renders, with the params Tekton substitutes; the task runs
against a real ObjectStore and writes its step log to the TaskRun pod, as the executor would have it do.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from nautes_refstack.kube import ObjectStore
from nautes_refstack.runtime import pipeline_script
from nautes_refstack.runtime.kubernetes_actions import run_kubernetes_actions
from nautes_refstack.tekton.task_api import StepFailed, StepState, TaskContext
from nautes_refstack.tekton.variables import Variables
from support.nautes import USER_PIPELINE_FILE

NAMESPACE = "pr-demo"
POD = "hooks-abcde-pipeline-run-pod"


def _context(store: ObjectStore, tmp_path: Path, script: str) -> TaskContext:
    """The task's context with the script as Tekton hands it over (pipeline params substituted)."""
    workspace = tmp_path / "pipelines"
    (workspace / "pipelines").mkdir(parents=True, exist_ok=True)
    (workspace / "pipelines" / "main.yaml").write_text(USER_PIPELINE_FILE)
    params = Variables({"params.PipelineFile": "pipelines/main.yaml", "params.Revision": "refs/heads/main"})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": POD, "namespace": NAMESPACE}}
    pod["spec"] = {"containers": [{"name": "step-kubectl", "image": "kubectl"}]}
    store.create(pod)
    return TaskContext(
        store=store,
        namespace=NAMESPACE,
        task_run="hooks-abcde-pipeline-run",
        pod=POD,
        pipeline_task="pipeline-run",
        cluster_task="kubernetes-actions",
        service_account="pr-demo",
        params={"script": params.string(script), "image": "kubectl"},
        workspaces={"manifest-dir": workspace},
        pod_root=tmp_path / "root",
        steps={"kubectl": StepState("kubectl", "kubectl")},
    )


@pytest.fixture
def store() -> ObjectStore:
    store = ObjectStore()
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    return store


def _script(label: str = "main") -> str:
    return pipeline_script.render(
        label, NAMESPACE, [pipeline_script.UserParam("Revision", "/spec/params/0/value")]
    )


def test_creates_the_users_pipeline_run_suffixed_and_labelled(store: ObjectStore, tmp_path: Path) -> None:
    context = _context(store, tmp_path, _script())

    asyncio.run(run_kubernetes_actions(context))

    [run] = store.list("tekton.dev/v1beta1", "PipelineRun", NAMESPACE)
    assert re.fullmatch(r"main-pipiline-n[0-9a-f]{4}", run["metadata"]["name"])
    assert run["metadata"]["labels"] == {"branch": "main"}
    assert run["spec"]["params"][0] == {"name": "REVISION", "value": "refs/heads/main"}
    assert context.steps["kubectl"].exit_code == 0
    log = store.pod_log(NAMESPACE, POD, "step-kubectl")
    assert f"pipelinerun.tekton.dev/{run['metadata']['name']} created" in log
    assert "branch: main" in (tmp_path / "pipelines" / "kustomization.yaml").read_text()


def test_a_second_run_gets_another_suffix(store: ObjectStore, tmp_path: Path) -> None:
    asyncio.run(run_kubernetes_actions(_context(store, tmp_path / "one", _script())))
    store.delete("v1", "Pod", NAMESPACE, POD)
    asyncio.run(run_kubernetes_actions(_context(store, tmp_path / "two", _script())))

    names = {run["metadata"]["name"] for run in store.list("tekton.dev/v1beta1", "PipelineRun", NAMESPACE)}
    assert len(names) == 2


def test_without_label_the_second_run_fails_with_already_exists(store: ObjectStore, tmp_path: Path) -> None:
    asyncio.run(run_kubernetes_actions(_context(store, tmp_path / "one", _script(label=""))))
    store.delete("v1", "Pod", NAMESPACE, POD)
    context = _context(store, tmp_path / "two", _script(label=""))

    with pytest.raises(StepFailed) as failure:
        asyncio.run(run_kubernetes_actions(context))

    assert failure.value.exit_code == 1
    assert "AlreadyExists" in failure.value.reason
    assert context.steps["kubectl"].exit_code == 1
    assert [r["metadata"]["name"] for r in store.list("tekton.dev/v1beta1", "PipelineRun", NAMESPACE)] == [
        "main-pipiline"
    ]


def test_other_scripts_fail_the_step(store: ObjectStore, tmp_path: Path) -> None:
    context = _context(store, tmp_path, "kubectl get pods")

    with pytest.raises(StepFailed) as failure:
        asyncio.run(run_kubernetes_actions(context))

    assert failure.value.exit_code == 127
    assert store.list("tekton.dev/v1beta1", "PipelineRun", NAMESPACE) == []
