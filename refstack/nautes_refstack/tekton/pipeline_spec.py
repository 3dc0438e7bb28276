"""Turning a PipelineRun into something runnable, with Tekton v0.37's checks, reasons and messages.

Each check raises :class:`RunFailure` with the reason and the message the PipelineRun reconciler writes
(``pkg/reconciler/pipelinerun/pipelinerun.go`` and ``resources/``), in the same order, so a broken
PipelineRun fails here exactly as it would on a cluster.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from nautes_refstack.kube import KubeError, ObjectStore
from nautes_refstack.tekton.variables import ParamValue, Variables, result_references

JsonObject = dict[str, Any]
TEKTON_API = "tekton.dev/v1beta1"


class RunFailure(Exception):
    """The PipelineRun cannot run: ``reason`` and ``message`` go into its Succeeded=False condition."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class PipelineTask:
    name: str
    spec: JsonObject
    run_after: list[str]

    @property
    def task_ref(self) -> JsonObject:
        return dict(self.spec.get("taskRef") or {})

    def dependencies(self) -> list[str]:
        """``runAfter`` plus every task whose results this task references (Tekton's ``Deps()``)."""
        referenced = [task for task, _ in result_references(self.spec.get("params") or [])]
        return list(dict.fromkeys(self.run_after + referenced))


@dataclass
class ResolvedPipeline:
    name: str
    spec: JsonObject
    tasks: list[PipelineTask]
    params: dict[str, ParamValue]


def param_type(param_spec: JsonObject) -> str:
    """A ParamSpec's type: explicit, else inferred from the default (Tekton's defaulting webhook)."""
    declared = param_spec.get("type")
    if declared:
        return str(declared)
    return "array" if isinstance(param_spec.get("default"), list) else "string"


def value_type(value: Any) -> str:
    return "array" if isinstance(value, list) else "string"


def pipeline_spec(store: ObjectStore, pipeline_run: JsonObject) -> tuple[str, JsonObject]:
    """The pipeline's name and spec: embedded ``pipelineSpec`` (named after the run) or ``pipelineRef``."""
    metadata, spec = pipeline_run["metadata"], pipeline_run.get("spec") or {}
    namespace, name = metadata["namespace"], metadata["name"]
    if spec.get("pipelineSpec"):
        return name, copy.deepcopy(spec["pipelineSpec"])
    reference = spec.get("pipelineRef") or {}
    if not reference.get("name"):
        raise RunFailure(
            "CouldntGetPipeline",
            f"Error retrieving pipeline for pipelinerun {namespace}/{name}: "
            "expected exactly one, got neither: spec.pipelineRef, spec.pipelineSpec",
        )
    if reference.get("bundle") or reference.get("resolver"):
        raise RunFailure(
            "CouldntGetPipeline",
            f"Error retrieving pipeline for pipelinerun {namespace}/{name}: "
            "bundles and remote resolution are not available in the reference stack",
        )
    try:
        pipeline = store.get(TEKTON_API, "Pipeline", namespace, reference["name"])
    except KubeError as error:
        raise RunFailure(
            "CouldntGetPipeline",
            f"Error retrieving pipeline for pipelinerun {namespace}/{name}: {error.message}",
        ) from None
    return reference["name"], copy.deepcopy(pipeline.get("spec") or {})


def resolve(store: ObjectStore, pipeline_run: JsonObject) -> ResolvedPipeline:
    """Validate ``pipeline_run`` against its pipeline and apply params and context (status.pipelineSpec)."""
    metadata, run_spec = pipeline_run["metadata"], pipeline_run.get("spec") or {}
    namespace, run_name = metadata["namespace"], metadata["name"]
    pipeline_name, spec = pipeline_spec(store, pipeline_run)
    tasks = [
        PipelineTask(task["name"], task, list(task.get("runAfter") or [])) for task in spec.get("tasks") or []
    ]
    _check_graph(namespace, run_name, tasks)
    _check_supported(namespace, pipeline_name, spec)
    params = _check_params(namespace, run_name, pipeline_name, spec, run_spec)
    _check_workspaces(namespace, run_name, pipeline_name, spec, run_spec)
    _check_task_run_specs(namespace, run_name, tasks, run_spec)
    context: dict[str, ParamValue] = {
        "context.pipelineRun.name": run_name,
        "context.pipelineRun.namespace": namespace,
        "context.pipelineRun.uid": metadata.get("uid", ""),
        "context.pipeline.name": pipeline_name,
    }
    variables = Variables({**{f"params.{key}": value for key, value in params.items()}, **context})
    applied = variables.apply(spec)
    resolved_tasks = [
        PipelineTask(task["name"], task, list(task.get("runAfter") or []))
        for task in applied.get("tasks") or []
    ]
    return ResolvedPipeline(pipeline_name, applied, resolved_tasks, params)


def _check_graph(namespace: str, run_name: str, tasks: list[PipelineTask]) -> None:
    """``dag.Build``: unique names, known dependencies, no cycles."""

    def invalid(detail: str) -> RunFailure:
        return RunFailure(
            "PipelineInvalidGraph", f"PipelineRun {namespace}/{run_name}'s Pipeline DAG is invalid: {detail}"
        )

    names: set[str] = set()
    for task in tasks:
        if task.name in names:
            raise invalid(
                f"task {task.name} is already present in Graph, can't add it again: duplicate pipeline task"
            )
        names.add(task.name)
    for task in tasks:
        for dependency in task.dependencies():
            if dependency not in names:
                raise invalid(
                    f"couldn't add link between {task.name} and {dependency}: task {task.name} depends on "
                    f"{dependency} but {dependency} wasn't present in Pipeline"
                )
    remaining = {task.name: set(task.dependencies()) for task in tasks}
    while remaining:
        ready = [name for name, dependencies in remaining.items() if not dependencies & remaining.keys()]
        if not ready:
            first = min(remaining)
            depends_on = ", ".join(f'"{name}"' for name in sorted(remaining[first] & remaining.keys()))
            raise invalid(f'cycle detected; task "{first}" depends on {depends_on}')
        for name in ready:
            del remaining[name]


def _check_supported(namespace: str, pipeline_name: str, spec: JsonObject) -> None:
    """Features of Tekton 0.37 the reference stack does not execute are refused up front, by name."""
    unsupported = []
    if spec.get("finally"):
        unsupported.append("finally tasks")
    for task in spec.get("tasks") or []:
        for feature, label in (
            ("when", "when expressions"),
            ("matrix", "matrix"),
            ("taskSpec", "embedded taskSpec"),
        ):
            if task.get(feature):
                unsupported.append(f"{label} (task {task['name']})")
        if not task.get("taskRef") and not task.get("taskSpec"):
            unsupported.append(f"a task without taskRef (task {task.get('name')})")
        if (task.get("taskRef") or {}).get("apiVersion"):
            unsupported.append(f"custom tasks (task {task['name']})")
        for binding in task.get("workspaces") or []:
            if binding.get("workspace") and binding["workspace"] not in {
                ws["name"] for ws in spec.get("workspaces") or []
            }:
                raise RunFailure(
                    "PipelineValidationFailed",
                    f"Pipeline {namespace}/{pipeline_name} can't be Run; it has an invalid spec: "
                    f'pipeline task "{task["name"]}" expects workspace with name "{binding["workspace"]}" '
                    "but none exists in pipeline spec",
                )
    if unsupported:
        raise RunFailure(
            "PipelineValidationFailed",
            f"Pipeline {namespace}/{pipeline_name} can't be Run in the reference stack: it uses "
            + ", ".join(unsupported),
        )


def _check_params(
    namespace: str, run_name: str, pipeline_name: str, spec: JsonObject, run_spec: JsonObject
) -> dict[str, ParamValue]:
    provided = {param["name"]: param.get("value", "") for param in run_spec.get("params") or []}
    declared = spec.get("params") or []
    missing = [
        param["name"] for param in declared if "default" not in param and param["name"] not in provided
    ]
    if missing:
        raise RunFailure(
            "ParameterMissing",
            f"PipelineRun {namespace} parameters is missing some parameters required by "
            f"Pipeline {run_name}'s parameters: PipelineRun missing parameters: [{' '.join(missing)}]",
        )
    wrong = [
        param["name"]
        for param in declared
        if param["name"] in provided and value_type(provided[param["name"]]) != param_type(param)
    ]
    if wrong:
        raise RunFailure(
            "ParameterTypeMismatch",
            f"PipelineRun {namespace}/{run_name} parameters have mismatching types with Pipeline "
            f"{namespace}/{pipeline_name}'s parameters: "
            f"parameters have inconsistent types : [{' '.join(wrong)}]",
        )
    values: dict[str, ParamValue] = {}
    for param in declared:
        value = provided.get(param["name"], param.get("default", ""))
        values[param["name"]] = list(value) if isinstance(value, list) else str(value)
    return values


def _check_workspaces(
    namespace: str, run_name: str, pipeline_name: str, spec: JsonObject, run_spec: JsonObject
) -> None:
    bound = {binding["name"] for binding in run_spec.get("workspaces") or []}
    for workspace in spec.get("workspaces") or []:
        if not workspace.get("optional") and workspace["name"] not in bound:
            raise RunFailure(
                "InvalidWorkspaceBindings",
                f"PipelineRun {namespace}/{run_name} doesn't bind Pipeline {namespace}/{pipeline_name}'s "
                f'Workspaces correctly: pipeline requires workspace with name "{workspace["name"]}" '
                "be provided by pipelinerun",
            )


def _check_task_run_specs(
    namespace: str, run_name: str, tasks: list[PipelineTask], run_spec: JsonObject
) -> None:
    names = {task.name for task in tasks}
    for task_run_spec in run_spec.get("taskRunSpecs") or []:
        if task_run_spec.get("pipelineTaskName") not in names:
            raise RunFailure(
                "InvalidServiceAccountMappings",
                f"PipelineRun {namespace}/{run_name} doesn't define taskRunSpecs correctly: "
                "PipelineRun's taskrunSpecs defined wrong taskName: "
                f'"{task_run_spec.get("pipelineTaskName")}", does not exist in Pipeline',
            )


def resolve_task(store: ObjectStore, namespace: str, pipeline_name: str, task: PipelineTask) -> JsonObject:
    """The ClusterTask (or namespaced Task) a pipeline task refers to, else Tekton's CouldntGetTask."""
    reference = task.task_ref
    kind = reference.get("kind") or "Task"
    try:
        if kind == "ClusterTask":
            return store.get(TEKTON_API, "ClusterTask", None, reference.get("name", ""))
        return store.get(TEKTON_API, "Task", namespace, reference.get("name", ""))
    except KubeError as error:
        raise RunFailure(
            "CouldntGetTask",
            f"Pipeline {namespace}/{pipeline_name} can't be Run; it contains Tasks that don't exist: "
            f'Couldn\'t retrieve Task "{reference.get("name", "")}": {error.message}',
        ) from None


def check_task_params(task: PipelineTask, task_object: JsonObject) -> None:
    """``ValidateResolvedTaskResources``: params match the task's declaration (names and types)."""
    declared = (task_object.get("spec") or {}).get("params") or []
    provided = {param["name"]: param.get("value", "") for param in task.spec.get("params") or []}
    declared_names = [param["name"] for param in declared]
    problem = None
    missing = [
        param["name"] for param in declared if "default" not in param and param["name"] not in provided
    ]
    extra = [name for name in provided if name not in declared_names]
    types = {param["name"]: param_type(param) for param in declared}
    wrong = [name for name, value in provided.items() if name in types and value_type(value) != types[name]]
    if missing:
        problem = f"missing values for these params which have no default values: [{' '.join(missing)}]"
    elif extra:
        problem = f"didn't need these params but they were provided anyway: [{' '.join(extra)}]"
    elif wrong:
        problem = f"param types don't match the user-specified type: [{' '.join(wrong)}]"
    if problem:
        task_name = task_object["metadata"]["name"]
        raise RunFailure("PipelineValidationFailed", f"invalid input params for task {task_name}: {problem}")


def check_result_references(tasks: list[PipelineTask], task_objects: dict[str, JsonObject]) -> None:
    """``ValidatePipelineTaskResults``: every ``$(tasks.T.results.R)`` names a result T declares."""
    for task in tasks:
        for referenced, result in result_references(task.spec.get("params") or []):
            declared = {
                item["name"] for item in (task_objects[referenced].get("spec") or {}).get("results") or []
            }
            if result not in declared:
                raise RunFailure(
                    "InvalidTaskResultReference",
                    f'invalid result reference in pipeline task "{task.name}": '
                    f'"{result}" is not a named result returned by pipeline task "{referenced}"',
                )
