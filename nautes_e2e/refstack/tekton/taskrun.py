"""One TaskRun, honestly: its object, its pod, its workspaces, vault-agent injection, and its steps.

The TaskRun and its pod are real objects in the store whose status moves the way Tekton v0.37 and the
kubelet move it (``Pending`` -> ``Running`` -> ``Succeeded``/``Failed``); the steps are the registered
ClusterTask implementation, run on the host in a private directory standing for the pod's filesystem.
Failures carry Tekton's reasons: ``CouldntGetTask`` when the pod cannot be created (missing service
account), ``TaskRunValidationFailed``, ``CreateContainerConfigError`` (missing ConfigMap/Secret),
``Failed`` (vault-agent init or a step exited non-zero), ``TaskRunCancelled``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nautes_e2e.refstack.kube import KubeError, ObjectStore
from nautes_e2e.refstack.tekton.objects import child_name, now, owner_reference, succeeded_condition
from nautes_e2e.refstack.tekton.pipeline_spec import TEKTON_API, param_type
from nautes_e2e.refstack.tekton.task_api import (
    ClusterTaskImplementation,
    StepFailed,
    StepState,
    TaskContext,
    TaskOutcome,
    cluster_task_implementation,
)
from nautes_e2e.refstack.tekton.variables import ParamValue, Variables
from nautes_e2e.refstack.tekton.vault_agent import (
    AGENT_IMAGE,
    INIT_CONTAINER,
    VaultAgent,
    VaultAgentError,
    injection_from_annotations,
)
from nautes_e2e.refstack.tekton.workspaces import WorkspaceError, WorkspaceMounter, validate_bindings

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
TEKTON_RELEASE = "v0.37.5"
MANAGED_BY = {"app.kubernetes.io/managed-by": "tekton-pipelines"}


@dataclass(frozen=True)
class Environment:
    """What every run of one controller shares: the cluster's store, Vault, and the work directory."""

    store: ObjectStore
    vault_url: str
    cluster_name: str
    work_dir: Path

    @property
    def claims_root(self) -> Path:
        return self.work_dir / "claims"

    @property
    def pods_root(self) -> Path:
        return self.work_dir / "pods"


@dataclass
class TaskRunPlan:
    """Everything the PipelineRun decided for one pipeline task."""

    name: str
    pipeline_run: JsonObject
    pipeline_name: str
    pipeline_task_name: str
    task_object: JsonObject
    params: list[JsonObject]
    service_account: str
    workspaces: list[JsonObject]
    metadata: JsonObject = field(default_factory=dict)
    timeout: str = "1h0m0s"

    @property
    def namespace(self) -> str:
        return str(self.pipeline_run["metadata"]["namespace"])


class TaskRunFailed(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class TaskRunResult:
    succeeded: bool
    status: JsonObject
    results: dict[str, str]


class TaskRunExecution:
    """Creates and runs one TaskRun; ``on_change(status)`` is called after every status transition."""

    def __init__(
        self, environment: Environment, plan: TaskRunPlan, on_change: Callable[[JsonObject], None]
    ) -> None:
        self._env = environment
        self._plan = plan
        self._on_change = on_change
        self._store = environment.store
        self._task_spec: JsonObject = dict(plan.task_object.get("spec") or {})
        self._pod_name = child_name(plan.name, "-pod")
        self._pod_root = environment.pods_root / plan.namespace / self._pod_name
        self._steps: dict[str, StepState] = {}
        self._status: JsonObject = {}
        self._task_run: JsonObject = {}
        self._pod_created = False

    async def run(self) -> TaskRunResult:
        self._task_run = self._store.create(self._task_run_object())
        self._status = {
            "podName": "",
            "startTime": now(),
            "conditions": [succeeded_condition("Unknown", "Pending", "Pending")],
            "taskSpec": self._task_spec,
        }
        self._publish()
        mounter = WorkspaceMounter(self._store, self._env.claims_root, self._pod_root, self._plan.namespace)
        try:
            outcome = await self._execute(mounter)
        except TaskRunFailed as failure:
            self._finish(False, failure.reason, failure.message)
            return TaskRunResult(False, self._status, {})
        except asyncio.CancelledError:
            self._finish(
                False, "TaskRunCancelled", f'TaskRun "{self._plan.name}" was cancelled', best_effort=True
            )
            raise
        finally:
            mounter.unmount_pod_volumes()
            shutil.rmtree(self._pod_root, ignore_errors=True)
        message = outcome.message or "All Steps have completed executing"
        if outcome.results:
            self._status["taskResults"] = [
                {"name": key, "value": value} for key, value in outcome.results.items()
            ]
        self._finish(True, "Succeeded", message)
        return TaskRunResult(True, self._status, outcome.results)

    # --- phases ------------------------------------------------------------------------------------
    async def _execute(self, mounter: WorkspaceMounter) -> TaskOutcome:
        implementation = self._implementation()
        problem = validate_bindings(self._task_spec.get("workspaces") or [], self._plan.workspaces)
        if problem:
            raise TaskRunFailed("TaskRunValidationFailed", problem)
        self._check_service_account()
        self._create_pod()
        workspaces = self._mount_workspaces(mounter)
        await self._inject_vault_secrets()
        self._set_pod_phase("Running")
        self._status["conditions"] = [
            succeeded_condition("Unknown", "Running", "Not all Steps in the Task have finished executing")
        ]
        self._publish()
        context = TaskContext(
            store=self._store,
            namespace=self._plan.namespace,
            task_run=self._plan.name,
            pod=self._pod_name,
            pipeline_task=self._plan.pipeline_task_name,
            cluster_task=self._plan.task_object["metadata"]["name"],
            service_account=self._plan.service_account,
            params=self._task_params(workspaces),
            workspaces=workspaces,
            pod_root=self._pod_root,
            steps=self._steps,
        )
        try:
            outcome = await implementation(context)
        except StepFailed as failure:
            raise TaskRunFailed("Failed", self._step_failure_message(failure)) from None
        except (OSError, ValueError, TypeError, RuntimeError) as error:
            log.exception("ClusterTask %s implementation failed", context.cluster_task)
            running = next(
                (state for state in self._steps.values() if state.exit_code is None and state.started_at),
                None,
            )
            if running is not None:
                self._store.append_pod_log(
                    self._plan.namespace, self._pod_name, running.container, f"internal error: {error}\n"
                )
                running.exit_code, running.finished_at = 1, now()
            raise TaskRunFailed(
                "Failed", f"the reference stack's {context.cluster_task} implementation failed: {error}"
            ) from None
        declared = [result["name"] for result in self._task_spec.get("results") or []]
        outcome.results = {name: value for name, value in outcome.results.items() if name in declared}
        return outcome

    def _implementation(self) -> ClusterTaskImplementation:
        task_object = self._plan.task_object
        name = task_object["metadata"]["name"]
        implementation = cluster_task_implementation(name) if task_object["kind"] == "ClusterTask" else None
        if implementation is None:
            raise TaskRunFailed(
                "TaskRunValidationFailed",
                f'{task_object["kind"]} "{name}" cannot be executed in the reference stack: '
                "only ClusterTasks with a built-in implementation run here",
            )
        return implementation

    def _check_service_account(self) -> None:
        try:
            self._store.get("v1", "ServiceAccount", self._plan.namespace, self._plan.service_account)
        except KubeError as error:
            task_ref = self._plan.task_object["metadata"]["name"]
            raise TaskRunFailed(
                "CouldntGetTask",
                f'failed to create task run pod "{self._plan.name}": '
                f"translating TaskSpec to Pod: {error.message}. "
                f"Maybe missing or invalid Task {self._plan.namespace}/{task_ref}",
            ) from None

    def _mount_workspaces(self, mounter: WorkspaceMounter) -> dict[str, Path]:
        try:
            return {binding["name"]: mounter.mount(binding) for binding in self._plan.workspaces}
        except WorkspaceError as error:
            self._update_pod_status(
                {
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": state.container,
                            "image": state.image,
                            "ready": False,
                            "restartCount": 0,
                            "state": {
                                "waiting": {"reason": "CreateContainerConfigError", "message": str(error)}
                            },
                        }
                        for state in self._steps.values()
                    ],
                }
            )
            raise TaskRunFailed(
                "CreateContainerConfigError", f"Failed to create pod due to config error: {error}"
            ) from None

    async def _inject_vault_secrets(self) -> None:
        annotations = dict(self._task_run["metadata"].get("annotations") or {})
        injection = injection_from_annotations(annotations, self._env.cluster_name)
        if injection is None:
            return

        def agent_log(line: str) -> None:
            self._store.append_pod_log(self._plan.namespace, self._pod_name, INIT_CONTAINER, line + "\n")

        agent = VaultAgent(self._env.vault_url, agent_log)
        try:
            jwt = self._store.issue_service_account_token(self._plan.namespace, self._plan.service_account)
            await agent.inject(injection, jwt, lambda path: self._pod_root / path.lstrip("/"))
        except VaultAgentError as error:
            self._update_pod_status(
                {
                    "phase": "Failed",
                    "initContainerStatuses": [
                        {
                            "name": INIT_CONTAINER,
                            "image": AGENT_IMAGE,
                            "ready": False,
                            "restartCount": 0,
                            "state": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now()}},
                        }
                    ],
                }
            )
            raise TaskRunFailed(
                "Failed",
                f'init container failed, "{INIT_CONTAINER}" exited with code 1 (image: "{AGENT_IMAGE}"): '
                f"{error}; for logs run: "
                f"kubectl -n {self._plan.namespace} logs {self._pod_name} -c {INIT_CONTAINER}\n",
            ) from None

    # --- objects -----------------------------------------------------------------------------------
    def _task_run_object(self) -> JsonObject:
        plan = self._plan
        run_metadata = plan.pipeline_run["metadata"]
        task_object = plan.task_object
        task_name = task_object["metadata"]["name"]
        labels = {
            **(run_metadata.get("labels") or {}),
            **(plan.metadata.get("labels") or {}),
            **MANAGED_BY,
            "tekton.dev/pipeline": plan.pipeline_name,
            "tekton.dev/pipelineRun": run_metadata["name"],
            "tekton.dev/pipelineTask": plan.pipeline_task_name,
            "tekton.dev/task": task_name,
        }
        if task_object["kind"] == "ClusterTask":
            labels["tekton.dev/clusterTask"] = task_name
        annotations = {**(run_metadata.get("annotations") or {}), **(plan.metadata.get("annotations") or {})}
        annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
        for state in self._declared_steps({param["name"]: param.get("value", "") for param in plan.params}):
            self._steps[state.name] = state
        spec: JsonObject = {
            "taskRef": {"name": task_name, "kind": task_object["kind"]},
            "serviceAccountName": plan.service_account,
            "timeout": plan.timeout,
        }
        if plan.params:
            spec["params"] = plan.params
        if plan.workspaces:
            spec["workspaces"] = plan.workspaces
        return {
            "apiVersion": TEKTON_API,
            "kind": "TaskRun",
            "metadata": {
                "name": plan.name,
                "namespace": plan.namespace,
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [owner_reference(plan.pipeline_run)],
            },
            "spec": spec,
        }

    def _declared_steps(self, provided: dict[str, Any]) -> list[StepState]:
        """The task's steps with their images resolved (``$(params.gitInitImage)`` etc.)."""
        values = self._param_values(provided)
        variables = Variables({f"params.{key}": value for key, value in values.items()})
        return [
            StepState(step.get("name", f"unnamed-{index}"), variables.string(step.get("image", "")))
            for index, step in enumerate(self._task_spec.get("steps") or [])
        ]

    def _param_values(self, provided: dict[str, Any]) -> dict[str, ParamValue]:
        values: dict[str, ParamValue] = {}
        for param in self._task_spec.get("params") or []:
            default: Any = param.get("default", [] if param_type(param) == "array" else "")
            value = provided.get(param["name"], default)
            values[param["name"]] = list(value) if isinstance(value, list) else str(value)
        return values

    def _task_params(self, workspaces: dict[str, Path]) -> dict[str, ParamValue]:
        """Param values as the steps see them: workspace paths, result paths and context substituted."""
        provided = {param["name"]: param.get("value", "") for param in self._plan.params}
        task_variables: dict[str, ParamValue] = {
            "context.taskRun.name": self._plan.name,
            "context.taskRun.namespace": self._plan.namespace,
            "context.taskRun.uid": self._task_run["metadata"]["uid"],
            "context.task.name": self._plan.task_object["metadata"]["name"],
        }
        for declared in self._task_spec.get("workspaces") or []:
            name = declared["name"]
            task_variables[f"workspaces.{name}.bound"] = "true" if name in workspaces else "false"
            task_variables[f"workspaces.{name}.path"] = str(workspaces[name]) if name in workspaces else ""
        for result in self._task_spec.get("results") or []:
            task_variables[f"results.{result['name']}.path"] = str(
                self._pod_root / "tekton" / "results" / result["name"]
            )
        variables = Variables(task_variables)
        return {key: variables.apply(value) for key, value in self._param_values(provided).items()}

    def _create_pod(self) -> None:
        labels = {**self._task_run["metadata"]["labels"], "tekton.dev/taskRun": self._plan.name}
        annotations = {
            **self._task_run["metadata"]["annotations"],
            "pipeline.tekton.dev/release": TEKTON_RELEASE,
        }
        spec: JsonObject = {
            "serviceAccountName": self._plan.service_account,
            "restartPolicy": "Never",
            "containers": [{"name": state.container, "image": state.image} for state in self._steps.values()],
            "volumes": [
                {key: value for key, value in binding.items() if key != "subPath"}
                | {"name": f"ws-{binding['name']}"}
                for binding in self._plan.workspaces
            ],
        }
        if injection_from_annotations(annotations, self._env.cluster_name) is not None:
            spec["initContainers"] = [{"name": INIT_CONTAINER, "image": AGENT_IMAGE}]
        self._store.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": self._pod_name,
                    "namespace": self._plan.namespace,
                    "labels": labels,
                    "annotations": annotations,
                    "ownerReferences": [owner_reference(self._task_run)],
                },
                "spec": spec,
            }
        )
        self._pod_created = True
        self._pod_root.mkdir(parents=True, exist_ok=True)
        self._status["podName"] = self._pod_name
        self._publish()

    def _set_pod_phase(self, phase: str) -> None:
        statuses = []
        for state in self._steps.values():
            container_state = {
                key: value
                for key, value in state.to_status().items()
                if key in ("running", "terminated", "waiting")
            }
            statuses.append(
                {
                    "name": state.container,
                    "image": state.image,
                    "ready": phase == "Running",
                    "restartCount": 0,
                    "state": container_state,
                }
            )
        self._update_pod_status(
            {"phase": phase, "startTime": self._status["startTime"], "containerStatuses": statuses}
        )

    def _update_pod_status(self, status: JsonObject) -> None:
        if not self._pod_created:
            return
        try:
            pod = self._store.get("v1", "Pod", self._plan.namespace, self._pod_name)
            pod["status"] = {**(pod.get("status") or {}), **status}
            self._store.update_status(pod)
        except KubeError:
            log.debug("pod %s/%s is gone; status not updated", self._plan.namespace, self._pod_name)

    def _step_failure_message(self, failure: StepFailed) -> str:
        failed = next((state for state in self._steps.values() if state.exit_code not in (None, 0)), None)
        if failed is None:
            return failure.reason
        return (
            f'"{failed.container}" exited with code {failed.exit_code} (image: "{failed.image}"); '
            f"for logs run: kubectl -n {self._plan.namespace} logs {self._pod_name} -c {failed.container}\n"
        )

    # --- status ------------------------------------------------------------------------------------
    def _finish(self, succeeded: bool, reason: str, message: str, *, best_effort: bool = False) -> None:
        if not succeeded and self._pod_created:
            self._skip_remaining_steps()
        self._status["conditions"] = [succeeded_condition("True" if succeeded else "False", reason, message)]
        self._status["completionTime"] = now()
        if (
            self._pod_created
            and reason != "CreateContainerConfigError"
            and self._current_pod_phase() != "Failed"
        ):
            self._set_pod_phase("Succeeded" if succeeded else "Failed")
        try:
            self._publish()
        except KubeError:
            if not best_effort:
                raise

    def _skip_remaining_steps(self) -> None:
        """After a failed step, later steps exit 1 without running, as Tekton's entrypoint makes them."""
        failed_seen = False
        for state in self._steps.values():
            if state.exit_code not in (None, 0):
                failed_seen = True
            elif state.exit_code is None and failed_seen:
                self._store.append_pod_log(
                    self._plan.namespace,
                    self._pod_name,
                    state.container,
                    "Skipping step because a previous step failed\n",
                )
                state.exit_code, state.started_at, state.finished_at = 1, now(), now()

    def _current_pod_phase(self) -> str:
        try:
            return str(
                (self._store.get("v1", "Pod", self._plan.namespace, self._pod_name).get("status") or {}).get(
                    "phase", ""
                )
            )
        except KubeError:
            return ""

    def _publish(self) -> None:
        """Write the TaskRun status (the watchers see each transition) and tell the PipelineRun."""
        if self._pod_created:
            self._status["steps"] = [state.to_status() for state in self._steps.values()]
        current = self._store.get(TEKTON_API, "TaskRun", self._plan.namespace, self._plan.name)
        current["status"] = self._status
        self._store.update_status(current)
        self._on_change(self._status)
