"""One PipelineRun: validation, the task graph, TaskRuns in dependency order, and Tekton-shaped status.

Tasks start as soon as every task they depend on (``runAfter`` and result references) has succeeded, so
independent tasks run concurrently as on a cluster. When a task fails the run stops: running tasks finish,
tasks not started yet are skipped (``PipelineRun was stopping``), and the run fails. Every transition is
written with ``update_status`` so watchers see ``Running`` with N/M tasks done, as Tekton v0.37 reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
from typing import Any

from nautes_refstack.kube import MERGE_PATCH, KubeError
from nautes_refstack.tekton.objects import child_name, now, succeeded_condition
from nautes_refstack.tekton.pipeline_spec import (
    TEKTON_API,
    PipelineTask,
    ResolvedPipeline,
    RunFailure,
    check_result_references,
    check_task_params,
    resolve,
    resolve_task,
)
from nautes_refstack.tekton.taskrun import Environment, TaskRunExecution, TaskRunPlan, TaskRunResult
from nautes_refstack.tekton.variables import Variables
from nautes_refstack.tekton.workspaces import claim_name, task_run_bindings

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
DEFAULT_TIMEOUT = "1h0m0s"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
STOPPING_SKIP = "PipelineRun was stopping"


def parse_duration(text: str) -> float:
    """Go ``time.ParseDuration`` for the forms Tekton timeouts use (``1h0m0s``, ``90s``, ``0``)."""
    if text.strip() in ("0", ""):
        return 0.0
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text.strip():
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def template_claim_names(pipeline_run: JsonObject) -> list[str]:
    """The PVCs Tekton makes from this run's ``volumeClaimTemplate`` workspaces (removed with the run)."""
    uid = pipeline_run["metadata"].get("uid", "")
    bindings = (pipeline_run.get("spec") or {}).get("workspaces") or []
    return [
        claim_name(binding, uid) for binding in bindings if binding.get("volumeClaimTemplate") is not None
    ]


class PipelineRunExecution:
    def __init__(self, environment: Environment, pipeline_run: JsonObject) -> None:
        self._env = environment
        self._store = environment.store
        self._run = pipeline_run
        self._namespace = str(pipeline_run["metadata"]["namespace"])
        self._name = str(pipeline_run["metadata"]["name"])
        self._api_version = str(pipeline_run.get("apiVersion") or TEKTON_API)
        self._status: JsonObject = {}
        self._states: dict[str, str] = {}
        self._results: dict[str, dict[str, str]] = {}

    async def run(self) -> None:
        """Run to completion; returns quietly if the PipelineRun is deleted meanwhile."""
        try:
            await self._run_to_completion()
        except KubeError as error:
            if error.code != 404:
                raise
            log.info("PipelineRun %s/%s disappeared while running", self._namespace, self._name)

    async def _run_to_completion(self) -> None:
        self._status = {"startTime": now(), "conditions": [succeeded_condition("Unknown", "Running", "")]}
        try:
            resolved = resolve(self._store, self._run)
            self._status["pipelineSpec"] = resolved.spec
            self._label_with_pipeline(resolved.name)
            task_objects = {
                task.name: resolve_task(self._store, self._namespace, resolved.name, task)
                for task in resolved.tasks
            }
            for task in resolved.tasks:
                check_task_params(task, task_objects[task.name])
            check_result_references(resolved.tasks, task_objects)
            timeout = parse_duration(self._timeout())
        except RunFailure as failure:
            self._finish("False", failure.reason, failure.message)
            return
        except ValueError as error:
            self._finish(
                "False", "PipelineValidationFailed", f"PipelineRun {self._namespace}/{self._name}: {error}"
            )
            return
        self._states = {task.name: "pending" for task in resolved.tasks}
        self._publish_progress()
        try:
            async with asyncio.timeout(timeout or None):
                await self._run_graph(resolved, task_objects)
        except TimeoutError:
            self._finish(
                "False",
                "PipelineRunTimeout",
                f'PipelineRun "{self._name}" failed to finish within "{self._timeout()}"',
            )
            return
        self._finish_from_states()

    def _label_with_pipeline(self, pipeline_name: str) -> None:
        """Tekton labels the run with its pipeline (``tekton.dev/pipeline``), the run's name if embedded."""
        labels = {"metadata": {"labels": {"tekton.dev/pipeline": pipeline_name}}}
        self._store.patch(self._api_version, "PipelineRun", self._namespace, self._name, labels, MERGE_PATCH)

    def _timeout(self) -> str:
        spec = self._run.get("spec") or {}
        return str((spec.get("timeouts") or {}).get("pipeline") or spec.get("timeout") or DEFAULT_TIMEOUT)

    # --- graph -------------------------------------------------------------------------------------
    async def _run_graph(self, resolved: ResolvedPipeline, task_objects: dict[str, JsonObject]) -> None:
        running: dict[asyncio.Task[TaskRunResult], str] = {}
        try:
            while True:
                if not self._stopping():
                    for task in resolved.tasks:
                        if self._states[task.name] == "pending" and self._ready(task):
                            self._states[task.name] = "running"
                            execution = self._task_run(resolved, task, task_objects[task.name])
                            running[asyncio.create_task(execution.run(), name=f"taskrun {task.name}")] = (
                                task.name
                            )
                if self._stopping():
                    self._skip_pending()
                if not running:
                    return
                self._publish_progress()
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for finished in done:
                    name = running.pop(finished)
                    result = finished.result()
                    succeeded = result.succeeded or self._failure_lost(name)
                    self._states[name] = "succeeded" if succeeded else "failed"
                    self._results[name] = result.results
        finally:
            for pending in running:
                pending.cancel()
            for pending in running:
                with contextlib.suppress(asyncio.CancelledError, KubeError):
                    await pending

    def _failure_lost(self, task_name: str) -> bool:
        """Fault ``pipelinerun-succeeds-despite-failed-task=<task>``: the controller counts that failed task
        of a user's run as succeeded (Tekton judges the run from its TaskRuns' Succeeded conditions: "all
        tasks are done and at least one has failed -> Failed", pkg/reconciler/pipelinerun/resources/
        pipelinerunstate.go ``GetPipelineConditionStatus``; the fault stands for a lost or stale read)."""
        return not self._name.startswith("hooks-") and self._env.faults.active(
            "pipelinerun-succeeds-despite-failed-task", task_name, about=self._namespace
        )

    def _ready(self, task: PipelineTask) -> bool:
        return all(self._states.get(dependency) == "succeeded" for dependency in task.dependencies())

    def _stopping(self) -> bool:
        return any(state == "failed" for state in self._states.values())

    def _skip_pending(self) -> None:
        for name, state in self._states.items():
            if state == "pending":
                self._states[name] = "skipped"
                self._status.setdefault("skippedTasks", []).append({"name": name, "reason": STOPPING_SKIP})

    def _task_run(
        self, resolved: ResolvedPipeline, task: PipelineTask, task_object: JsonObject
    ) -> TaskRunExecution:
        results = {
            f"tasks.{name}.results.{result}": value
            for name, values in self._results.items()
            for result, value in values.items()
        }
        spec = Variables(results).apply(task.spec)
        run_spec = self._run.get("spec") or {}
        task_run_spec: JsonObject = next(
            (
                item
                for item in run_spec.get("taskRunSpecs") or []
                if item.get("pipelineTaskName") == task.name
            ),
            {},
        )
        legacy_accounts = {
            item.get("taskName"): item.get("serviceAccountName")
            for item in run_spec.get("serviceAccountNames") or []
        }
        service_account = (
            task_run_spec.get("taskServiceAccountName")
            or legacy_accounts.get(task.name)
            or run_spec.get("serviceAccountName")
            or "default"
        )
        name = child_name(self._name, f"-{task.name}")
        plan = TaskRunPlan(
            name=name,
            pipeline_run=self._run,
            pipeline_name=resolved.name,
            pipeline_task_name=task.name,
            task_object=task_object,
            params=list(spec.get("params") or []),
            service_account=service_account,
            workspaces=task_run_bindings(
                spec, run_spec.get("workspaces") or [], self._run["metadata"].get("uid", "")
            ),
            metadata=dict(task_run_spec.get("metadata") or {}),
            timeout=self._timeout(),
        )

        def on_change(status: JsonObject) -> None:
            self._status.setdefault("taskRuns", {})[name] = {"pipelineTaskName": task.name, "status": status}
            self._publish()

        return TaskRunExecution(self._env, plan, on_change)

    # --- status ------------------------------------------------------------------------------------
    def _counts(self) -> tuple[int, int, int, int]:
        states = list(self._states.values())
        succeeded, failed, skipped = (
            states.count("succeeded"),
            states.count("failed"),
            states.count("skipped"),
        )
        return succeeded, failed, skipped, len(states) - succeeded - failed - skipped

    def _publish_progress(self) -> None:
        succeeded, failed, skipped, incomplete = self._counts()
        reason = "PipelineRunStopping" if failed else "Running"
        message = (
            f"Tasks Completed: {succeeded + failed} (Failed: {failed}, Cancelled 0), "
            f"Incomplete: {incomplete}, Skipped: {skipped}"
        )
        self._set_condition("Unknown", reason, message)
        self._publish()

    def _finish_from_states(self) -> None:
        succeeded, failed, skipped, _ = self._counts()
        message = f"Tasks Completed: {succeeded + failed} (Failed: {failed}, Cancelled 0), Skipped: {skipped}"
        if failed:
            self._finish("False", "Failed", message)
        else:
            self._finish("True", "Completed" if skipped else "Succeeded", message)

    def _finish(self, status: str, reason: str, message: str) -> None:
        self._set_condition(status, reason, message)
        self._status["completionTime"] = now()
        self._publish()

    def _set_condition(self, status: str, reason: str, message: str) -> None:
        current = (self._status.get("conditions") or [{}])[0]
        if (current.get("status"), current.get("reason"), current.get("message")) != (
            status,
            reason,
            message,
        ):
            self._status["conditions"] = [succeeded_condition(status, reason, message)]

    def _publish(self) -> None:
        # A status write takes nothing but the name and the status from what it is given (no
        # resourceVersion: no conflict check), so the whole run is not read and copied first.
        metadata = {"namespace": self._namespace, "name": self._name}
        self._store.update_status(
            {
                "apiVersion": self._api_version,
                "kind": "PipelineRun",
                "metadata": metadata,
                "status": self._status,
            }
        )


def remove_claims(environment: Environment, pipeline_run: JsonObject) -> None:
    """Delete the volumes of the run's ``volumeClaimTemplate`` PVCs (they are owned by the run)."""
    namespace = pipeline_run["metadata"]["namespace"]
    for claim in template_claim_names(pipeline_run):
        shutil.rmtree(environment.claims_root / namespace / claim, ignore_errors=True)
