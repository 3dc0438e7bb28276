"""A PipelineRun's TaskRuns as the API server keeps them, and whether they bear out the run's ``Succeeded``.

In Tekton v1beta1 a PipelineRun is ``Succeeded=True`` only when every task of its pipeline (``tasks`` and
``finally``) ran a TaskRun that succeeded, or was skipped and listed in ``status.skippedTasks`` (when
expressions; pkg/reconciler/pipelinerun/resources/pipelinerunstate.go ``GetPipelineConditionStatus``).
The run's condition is the controller's summary; the TaskRuns are the objects themselves, labelled
``tekton.dev/pipelineRun`` and ``tekton.dev/pipelineTask`` (pkg/reconciler/pipelinerun/pipelinerun.go
``getTaskrunLabels``). Reading them catches a controller that lost a failure.
"""

from __future__ import annotations

from typing import Any

from nautes_e2e.suite import KubeClient
from suites.quickstart.probes import TEKTON
from suites.quickstart.push_runs import succeeded_condition

PIPELINE_RUN_LABEL = "tekton.dev/pipelineRun"
PIPELINE_TASK_LABEL = "tekton.dev/pipelineTask"


def taskruns_of(kube: KubeClient, namespace: str, pipelinerun: str) -> list[dict[str, Any]]:
    return kube.list(TEKTON, "TaskRun", namespace, label_selector=f"{PIPELINE_RUN_LABEL}={pipelinerun}")


def pipeline_task(taskrun: dict[str, Any]) -> str:
    labels = taskrun["metadata"].get("labels") or {}
    return str(labels.get(PIPELINE_TASK_LABEL, taskrun["metadata"]["name"]))


def outcomes(taskruns: list[dict[str, Any]]) -> dict[str, str]:
    """``{pipeline task: "<reason>: <message>"}``, what the report shows of each TaskRun."""
    found = {}
    for taskrun in taskruns:
        condition = succeeded_condition(taskrun)
        text = f"{condition.get('reason', 'Unknown')}: {condition.get('message', '')}".strip()
        found[pipeline_task(taskrun)] = text
    return found


def results(taskruns: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """``{pipeline task: {result: value}}``: what each TaskRun reported (v1beta1 ``status.taskResults``)."""
    return {
        pipeline_task(taskrun): {
            str(result.get("name")): str(result.get("value", "")).strip()
            for result in (taskrun.get("status") or {}).get("taskResults") or []
        }
        for taskrun in taskruns
    }


def disagreements(run: dict[str, Any], taskruns: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Why the TaskRuns do not bear out a Succeeded run: each task of its pipeline that was not skipped
    and has no TaskRun, or whose TaskRun did not succeed (with that TaskRun's status), in pipeline order."""
    status = run.get("status") or {}
    spec = status.get("pipelineSpec") or (run.get("spec") or {}).get("pipelineSpec") or {}
    tasks = [str(task["name"]) for task in [*(spec.get("tasks") or []), *(spec.get("finally") or [])]]
    skipped = {str(entry.get("name")) for entry in status.get("skippedTasks") or []}
    by_task = {pipeline_task(taskrun): taskrun for taskrun in taskruns}
    found: list[tuple[str, dict[str, Any]]] = []
    for task in tasks:
        if task in skipped:
            continue
        taskrun = by_task.get(task)
        if taskrun is None:
            found.append((f"task {task} has no TaskRun and is not among the skipped tasks", {}))
            continue
        condition = succeeded_condition(taskrun)
        if condition.get("status") != "True":
            found.append(
                (
                    f"its TaskRun {taskrun['metadata']['name']} (task {task}) is "
                    f"{condition.get('reason', 'Unknown')}: {str(condition.get('message', '')).strip()}",
                    taskrun.get("status") or {},
                )
            )
    return found
