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

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.kube import KubeError, ObjectStore
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.supervision import log_survived_error
from nautes_refstack.tekton.durations import POD_START_SECONDS
from nautes_refstack.tekton.objects import child_name, now, owner_reference, succeeded_condition
from nautes_refstack.tekton.pipeline_spec import TEKTON_API, param_type
from nautes_refstack.tekton.pods import TaskPod
from nautes_refstack.tekton.secret_volume import FAILED_MOUNT, failed_mount_message, mount_when_present
from nautes_refstack.tekton.task_api import (
    ClusterTaskImplementation,
    StepFailed,
    StepState,
    TaskContext,
    TaskOutcome,
    cluster_task_implementation,
)
from nautes_refstack.tekton.variables import ParamValue, Variables
from nautes_refstack.tekton.vault_agent import (
    AGENT_IMAGE,
    INIT_CONTAINER,
    Injection,
    VaultAgent,
    VaultAgentError,
    injection_from_annotations,
    injector_auth_path,
)
from nautes_refstack.tekton.workspaces import WorkspaceError, WorkspaceMounter, validate_bindings

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
MANAGED_BY = {"app.kubernetes.io/managed-by": "tekton-pipelines"}
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True)
class Environment:
    """What every run of one controller shares: the cluster's store, Vault, the work directory, faults,
    and the pace (under ``real`` pods take time to start and steps to run, :mod:`.durations`)."""

    store: ObjectStore
    vault_url: str
    work_dir: Path
    faults: Faults = NO_FAULTS
    pace: Pace = INSTANT
    #: A scheduler binds the cluster's pods (its control plane runs, :mod:`..kube.control_plane`): the
    #: kubelet then reports a pod only once it is bound. The Tekton worlds of the unit tests have none.
    scheduler: bool = False

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

    @property
    def task_name(self) -> str:
        return str(self.task_object["metadata"]["name"])


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
        provided = {param["name"]: param.get("value", "") for param in plan.params}
        self._params = self._param_values(provided)
        self._steps = {state.name: state for state in self._declared_steps()}
        pod_name = child_name(plan.name, "-pod")
        self._pod = TaskPod(self._store, plan.namespace, pod_name, self._steps)
        self._pod_root = environment.pods_root / plan.namespace / pod_name
        self._status: JsonObject = {}
        self._task_run: JsonObject = {}

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
            message = f'TaskRun "{self._plan.name}" was cancelled'
            self._finish(False, "TaskRunCancelled", message, best_effort=True)
            raise
        finally:
            mounter.unmount_pod_volumes()
            shutil.rmtree(self._pod_root, ignore_errors=True)
        if outcome.results:
            results = outcome.results.items()
            self._status["taskResults"] = [{"name": name, "value": value} for name, value in results]
        self._finish(True, "Succeeded", outcome.message or "All Steps have completed executing")
        return TaskRunResult(True, self._status, outcome.results)

    # --- phases ------------------------------------------------------------------------------------
    async def _execute(self, mounter: WorkspaceMounter) -> TaskOutcome:
        implementation = self._implementation()
        problem = validate_bindings(self._task_spec.get("workspaces") or [], self._plan.workspaces)
        if problem:
            raise TaskRunFailed("TaskRunValidationFailed", problem)
        self._check_service_account()
        injection = injection_from_annotations(
            self._task_run["metadata"]["annotations"], injector_auth_path(self._env.store)
        )
        self._pod.create(self._task_run, self._plan.workspaces, vault_agent=injection is not None)
        self._pod_root.mkdir(parents=True, exist_ok=True)
        self._status["podName"] = self._pod.name
        self._publish()
        if self._env.scheduler:
            await self._pod.wait_until_bound()  # the kubelet of its node reports it, not before
        workspaces = self._mount_workspaces(mounter)
        if injection is not None and injection.tls_secret:
            await self._mount_secret_volume(injection.tls_secret)
        await self._env.pace.wait(POD_START_SECONDS)
        if injection is not None:
            await self._run_vault_agent(injection)
        self._status["conditions"] = [
            succeeded_condition("Unknown", "Running", "Not all Steps in the Task have finished executing")
        ]
        self._show_steps()
        context = TaskContext(
            store=self._store,
            namespace=self._plan.namespace,
            task_run=self._plan.name,
            pod=self._pod.name,
            pipeline_task=self._plan.pipeline_task_name,
            cluster_task=self._plan.task_name,
            service_account=self._plan.service_account,
            params=self._step_params(workspaces),
            workspaces=workspaces,
            pod_root=self._pod_root,
            steps=self._steps,
            on_step_change=self._show_steps,
            faults=self._env.faults,
            pace=self._env.pace,
        )
        if self._injected_failure():
            implementation = _first_step_fails
        try:
            outcome = await implementation(context)
        except StepFailed as failure:
            raise TaskRunFailed("Failed", self._step_failure_message(failure)) from None
        except (OSError, ValueError, TypeError, RuntimeError) as error:
            log_survived_error("the %s implementation failed", self._plan.task_name)
            self._fail_running_step(f"internal error: {error}")
            message = f"the reference stack's {self._plan.task_name} implementation failed: {error}"
            raise TaskRunFailed("Failed", message) from None
        declared = {result["name"] for result in self._task_spec.get("results") or []}
        outcome.results = {name: value for name, value in outcome.results.items() if name in declared}
        return outcome

    def _injected_failure(self) -> bool:
        """Faults ``task-fails=<pipeline task>`` and ``pipelinerun-succeeds-despite-failed-task=<pipeline
        task>`` (whose failure the PipelineRun then loses): in the user's runs, never in the Nautes init
        (hooks-) run."""
        task, namespace = self._plan.pipeline_task_name, str(self._plan.pipeline_run["metadata"]["namespace"])
        return not str(self._plan.pipeline_run["metadata"]["name"]).startswith("hooks-") and (
            self._env.faults.active("task-fails", task, about=namespace)
            or self._env.faults.active("pipelinerun-succeeds-despite-failed-task", task, about=namespace)
        )

    def _implementation(self) -> ClusterTaskImplementation:
        kind, name = self._plan.task_object["kind"], self._plan.task_name
        implementation = cluster_task_implementation(name) if kind == "ClusterTask" else None
        if implementation is None:
            raise TaskRunFailed(
                "TaskRunValidationFailed",
                f'{kind} "{name}" cannot be executed in the reference stack: '
                "only ClusterTasks with a built-in implementation run here",
            )
        return implementation

    def _check_service_account(self) -> None:
        """Tekton reads the service account to build the pod: a missing one fails pod creation."""
        try:
            self._store.get("v1", "ServiceAccount", self._plan.namespace, self._plan.service_account)
        except KubeError as error:
            raise TaskRunFailed(
                "CouldntGetTask",
                f'failed to create task run pod "{self._plan.name}": '
                f"translating TaskSpec to Pod: {error.message}. "
                f"Maybe missing or invalid Task {self._plan.namespace}/{self._plan.task_name}",
            ) from None

    def _mount_workspaces(self, mounter: WorkspaceMounter) -> dict[str, Path]:
        try:
            return {binding["name"]: mounter.mount(binding) for binding in self._plan.workspaces}
        except WorkspaceError as error:
            self._pod.show_config_error(str(error))
            message = f"Failed to create pod due to config error: {error}"
            raise TaskRunFailed("CreateContainerConfigError", message) from None

    async def _mount_secret_volume(self, name: str) -> None:
        """The kubelet retries a Secret volume until the Secret exists: the pod waits ``Pending`` in
        ``Init:0/1`` with a ``FailedMount`` Event, and the TaskRun stays ``Pending`` meanwhile (Tekton v0.37
        ``MarkResourceOngoing``). Under ``real`` the kubelet's retries, with their backoff, are those of
        :mod:`.secret_volume`; under ``instant`` the first failure is recorded and the Secret watched."""
        namespace = self._plan.namespace
        try:
            self._store.get("v1", "Secret", namespace, name)
            return
        except KubeError:
            pass
        log.warning("pod %s/%s: %s", namespace, self._pod.name, failed_mount_message(name))
        if not self._env.pace.real:
            # The kubelet's first failed mount, as in the real pace (the retries are what instant drops).
            self._pod.show_initializing()
            self._pod.warn(FAILED_MOUNT, failed_mount_message(name))
        incomplete = f'"containers with incomplete status: [{INIT_CONTAINER}]"'
        self._status["conditions"] = [
            succeeded_condition(
                "Unknown", "Pending", f'pod status "Initialized":"False"; message: {incomplete}'
            )
        ]
        self._publish()
        if self._env.pace.real:
            await mount_when_present(self._store, self._pod, name, self._env.pace)
            return
        stream = self._store.watch("v1", "Secret", namespace, field_selector=f"metadata.name={name}")
        try:
            await stream.next_event()  # ADDED once it exists (at once if it appeared meanwhile)
        finally:
            stream.close()

    async def _run_vault_agent(self, injection: Injection) -> None:
        agent = VaultAgent(self._env.vault_url, lambda line: self._pod.log(INIT_CONTAINER, line + "\n"))
        try:
            jwt = self._store.issue_service_account_token(self._plan.namespace, self._plan.service_account)
            await agent.inject(injection, jwt, lambda path: self._pod_root / path.lstrip("/"))
        except VaultAgentError as error:
            self._pod.show_init_failure()
            raise TaskRunFailed(
                "Failed",
                f'init container failed, "{INIT_CONTAINER}" exited with code 1 (image: "{AGENT_IMAGE}"): '
                f"{error}; for logs run: "
                f"kubectl -n {self._plan.namespace} logs {self._pod.name} -c {INIT_CONTAINER}\n",
            ) from None

    # --- params and steps --------------------------------------------------------------------------
    def _param_values(self, provided: dict[str, Any]) -> dict[str, ParamValue]:
        """Every declared param: the provided value, else the default."""
        values: dict[str, ParamValue] = {}
        for param in self._task_spec.get("params") or []:
            default: Any = param.get("default", [] if param_type(param) == "array" else "")
            value = provided.get(param["name"], default)
            values[param["name"]] = list(value) if isinstance(value, list) else str(value)
        return values

    def _declared_steps(self) -> list[StepState]:
        """The task's steps with their images resolved (``$(params.gitInitImage)`` etc.)."""
        variables = Variables({f"params.{key}": value for key, value in self._params.items()})
        return [
            StepState(step.get("name", f"unnamed-{index}"), variables.string(step.get("image", "")))
            for index, step in enumerate(self._task_spec.get("steps") or [])
        ]

    def _step_params(self, workspaces: dict[str, Path]) -> dict[str, ParamValue]:
        """Param values as the steps see them: workspace paths, result paths and context substituted."""
        values: dict[str, ParamValue] = {
            "context.taskRun.name": self._plan.name,
            "context.taskRun.namespace": self._plan.namespace,
            "context.taskRun.uid": self._task_run["metadata"]["uid"],
            "context.task.name": self._plan.task_name,
        }
        for declared in self._task_spec.get("workspaces") or []:
            name = declared["name"]
            values[f"workspaces.{name}.bound"] = "true" if name in workspaces else "false"
            values[f"workspaces.{name}.path"] = str(workspaces[name]) if name in workspaces else ""
        for result in self._task_spec.get("results") or []:
            values[f"results.{result['name']}.path"] = str(self._pod_root / "tekton/results" / result["name"])
        variables = Variables(values)
        return {name: variables.apply(value) for name, value in self._params.items()}

    def _fail_running_step(self, text: str) -> None:
        running = next(
            (state for state in self._steps.values() if state.started_at and state.exit_code is None), None
        )
        if running is not None:
            self._pod.log(running.container, text + "\n")
            running.exit_code, running.finished_at = 1, now()

    def _skip_remaining_steps(self) -> None:
        """After a failed step, later steps exit 1 without running, as Tekton's entrypoint makes them."""
        failed_seen = False
        for state in self._steps.values():
            if state.exit_code not in (None, 0):
                failed_seen = True
            elif state.exit_code is None and failed_seen:
                self._pod.log(state.container, "Skipping step because a previous step failed\n")
                state.exit_code, state.started_at, state.finished_at = 1, now(), now()

    def _step_failure_message(self, failure: StepFailed) -> str:
        failed = next((state for state in self._steps.values() if state.exit_code not in (None, 0)), None)
        if failed is None:
            return failure.reason
        return (
            f'"{failed.container}" exited with code {failed.exit_code} (image: "{failed.image}"); '
            f"for logs run: kubectl -n {self._plan.namespace} logs {self._pod.name} -c {failed.container}\n"
        )

    # --- objects and status ------------------------------------------------------------------------
    def _task_run_object(self) -> JsonObject:
        plan = self._plan
        run_metadata = plan.pipeline_run["metadata"]
        kind = plan.task_object["kind"]
        labels = {
            **(run_metadata.get("labels") or {}),
            **(plan.metadata.get("labels") or {}),
            **MANAGED_BY,
            "tekton.dev/pipeline": plan.pipeline_name,
            "tekton.dev/pipelineRun": run_metadata["name"],
            "tekton.dev/pipelineTask": plan.pipeline_task_name,
            "tekton.dev/task": plan.task_name,
        }
        if kind == "ClusterTask":
            labels["tekton.dev/clusterTask"] = plan.task_name
        annotations = {**(run_metadata.get("annotations") or {}), **(plan.metadata.get("annotations") or {})}
        annotations.pop(_LAST_APPLIED, None)
        spec: JsonObject = {
            "taskRef": {"name": plan.task_name, "kind": kind},
            "serviceAccountName": plan.service_account,
            "timeout": plan.timeout,
        }
        if plan.params:
            spec["params"] = plan.params
        if plan.workspaces:
            spec["workspaces"] = plan.workspaces
        metadata = {
            "name": plan.name,
            "namespace": plan.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner_reference(plan.pipeline_run)],
        }
        return {"apiVersion": TEKTON_API, "kind": "TaskRun", "metadata": metadata, "spec": spec}

    def _show_steps(self) -> None:
        """Publish the steps' states (pod containers and TaskRun ``status.steps``) while running."""
        self._pod.show_steps("Running", self._status["startTime"])
        self._publish()

    def _finish(self, succeeded: bool, reason: str, message: str, *, best_effort: bool = False) -> None:
        try:
            if not succeeded and self._pod.created:
                self._skip_remaining_steps()
            self._status["conditions"] = [
                succeeded_condition("True" if succeeded else "False", reason, message)
            ]
            self._status["completionTime"] = now()
            if self._pod.phase() in ("Pending", "Running") and reason != "CreateContainerConfigError":
                self._pod.show_steps("Succeeded" if succeeded else "Failed", self._status["startTime"])
            self._publish()
        except KubeError:
            if not best_effort:
                raise

    def _publish(self) -> None:
        """Write the TaskRun status (watchers see each transition) and tell the PipelineRun."""
        if self._pod.created:
            self._status["steps"] = [state.to_status() for state in self._steps.values()]
        # A status write takes nothing but the name and the status from what it is given (no
        # resourceVersion: no conflict check), so the whole TaskRun is not read and copied first.
        metadata = {"namespace": self._plan.namespace, "name": self._plan.name}
        self._store.update_status(
            {"apiVersion": TEKTON_API, "kind": "TaskRun", "metadata": metadata, "status": self._status}
        )
        self._on_change(self._status)


# What the first step of a catalog task prints when its tool fails (faults task-fails and
# pipelinerun-succeeds-despite-failed-task): the lines that say why, then the tool's own generic trailer,
# as the real tools print them, and nothing of the emulation's.
_RULER = "remote: " + "=" * 72
_NO_REMOTE = (
    "fatal: Could not read from remote repository.\n\n"
    "Please make sure you have the correct access rights\nand the repository exists."
)
_TOOL_FAILURES = {
    # OpenSSH's refusal of a key the server does not know, then git's (transport.c) trailer.
    "git-clone": f"git@127.0.0.1: Permission denied (publickey).\n{_NO_REMOTE}",
    # Maven 3.8 on a cluster that cannot reach Maven Central: the cause, then its standard help trailer.
    "maven": "[INFO] BUILD FAILURE\n"
    "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-jar-plugin:3.2.0:jar (default-jar) on "
    "project devops-sample: Plugin org.apache.maven.plugins:maven-jar-plugin:3.2.0 or one of its "
    "dependencies could not be resolved: Could not transfer artifact "
    "org.apache.maven.plugins:maven-jar-plugin:pom:3.2.0 from/to central "
    "(https://repo.maven.apache.org/maven2): Connect to repo.maven.apache.org:443 failed: "
    "Connection timed out\n"
    "[ERROR] -> [Help 1]\n[ERROR] \n"
    "[ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch.\n"
    "[ERROR] Re-run Maven using the -X switch to enable full debug logging.\n[ERROR] \n"
    "[ERROR] For more information about the errors and possible solutions, please read the following "
    "articles:\n[ERROR] [Help 1] http://cwiki.apache.org/confluence/display/MAVEN/PluginResolutionException",
    "kaniko": "error building image: error building stage: failed to execute command: "
    "waiting for process to exit: exit status 1",
    # GitLab refusing a push with a deploy key that may not write (lib/gitlab/git_access.rb
    # ERROR_MESSAGES[:deploy_key_upload], boxed by gitlab-shell as the stack's GitLab does), then git's
    # trailer.
    "git-cli": "\n".join(
        [
            "remote: ",
            _RULER,
            "remote: ",
            "remote: This deploy key does not have write access to this project.",
            "remote: ",
            _RULER,
            "remote: ",
            _NO_REMOTE,
        ]
    ),
}


async def _first_step_fails(ctx: TaskContext) -> TaskOutcome:
    """Fault ``task-fails``: the task's first step exits 1 with the error its tool prints."""
    async with ctx.step(next(iter(ctx.steps))):
        raise StepFailed(1, _TOOL_FAILURES.get(ctx.cluster_task, "error: exit status 1"))
