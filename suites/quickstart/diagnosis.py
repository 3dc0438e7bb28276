"""Why the quickstart's pipeline did not run or did not pass, in words a Nautes user acts on.

What Tekton, Argo Events and GitLab show is read here, so that a stage only decides *that* it failed:
the PipelineRuns of the runtime namespace as they come and go (:class:`PipelineRunTracker`), the failed
task with its step's last log line, the source repository's webhooks and the Argo Events pods in
CrashLoopBackOff when no run started at all.
"""

from __future__ import annotations

import re
from typing import Any

from nautes_e2e.suite import GitLabClient, KubeClient, Observation, StageContext
from suites.quickstart.names import QuickstartNames
from suites.quickstart.probes import ARGO_EVENTS_NAMESPACE, CORE, TEKTON, event_handling_ready

#: The user's PipelineRun: ``main-pipiline-n<4 hex>`` (sic: the quickstart file's name plus the runtime
#: operator's ``nameSuffix``, contract §4.4).
PIPELINERUN_NAME = re.compile(r"^main-pipiline-n[0-9a-f]{4}$")


def no_run_diagnosis(
    stage: StageContext, gitlab: GitLabClient, kube: KubeClient, names: QuickstartNames, consumer: str
) -> str:
    """Why no run started: the push's webhook is the first suspect, then the event source and the Sensors
    (which the runtime operator creates after the hook, contract §4.3), then the Argo Events pods."""
    hooks = gitlab.project_hooks(f"{names.product}/{names.source_repo}")
    stage.evidence("source-repo-webhooks.json", hooks)
    hook_urls = [str(hook.get("url")) for hook in hooks if hook.get("push_events")]
    lines = [
        f"no PipelineRun appeared in {names.runtime_namespace} within {stage.timeout_s:g}s of the push: "
        "the push webhook was not delivered or did not trigger the Sensor "
        f"(push webhooks on {names.source_repo}: {hook_urls or 'none'})"
    ]
    handling = event_handling_ready(kube, consumer, names.pipeline_triggers)
    if not handling.done:
        lines.append(f"Argo Events is not ready to act on it: {handling.state}")
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


def stuck_pods(stage: StageContext, kube: KubeClient, namespace: str) -> str:
    """The pods of ``namespace`` that never started, each with why the kubelet says so: its Warning
    events (a ``FailedMount`` of a missing Secret, a failed image pull) and its containers' waiting
    reasons. A run that stays Running at the timeout usually has one. Empty when no pod is stuck."""
    pending = [
        pod
        for pod in kube.list(CORE, "Pod", namespace)
        if (pod.get("status") or {}).get("phase") == "Pending"
    ]
    if not pending:
        return ""
    events = kube.events(namespace)
    stage.evidence("runtime-namespace-events.json", events)
    found = []
    for pod in pending:
        name = pod["metadata"]["name"]
        warnings = sorted(
            {
                f"{event.get('reason')}: {event.get('message')}"
                for event in events
                if event.get("type") == "Warning" and (event.get("involvedObject") or {}).get("name") == name
            }
        )
        statuses = [
            *((pod.get("status") or {}).get("initContainerStatuses") or []),
            *((pod.get("status") or {}).get("containerStatuses") or []),
        ]
        waiting = sorted(
            {
                f"{status.get('name')}: {reason}"
                for status in statuses
                if (reason := ((status.get("state") or {}).get("waiting") or {}).get("reason"))
            }
        )
        found.append(f"pod {name} is Pending ({'; '.join(warnings + waiting) or 'no event says why'})")
    return "; ".join(found)


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
        condition = succeeded_condition(run)
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
            if succeeded_condition(taskrun).get("status") in ("True", "False")
        )
        state = f"{name}: {reason}, {finished}/{len(tasks)} tasks done"
        return Observation(done=condition.get("status") in ("True", "False"), state=state)


def succeeded_condition(resource: dict[str, Any]) -> dict[str, Any]:
    status = resource.get("status", resource)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Succeeded":
            return dict(condition)
    return {}


def failed_tasks(stage: StageContext, kube: KubeClient, namespace: str, run: dict[str, Any]) -> str:
    """Name each failed task with its reason and the last log line of its failed step (the full log of
    that step goes to the evidence), because Tekton's run message only counts failures."""
    found = []
    for taskrun in ((run.get("status") or {}).get("taskRuns") or {}).values():
        status = taskrun.get("status") or {}
        condition = succeeded_condition(taskrun)
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


def taskrun_outcomes(kube: KubeClient, namespace: str, pipelinerun: str) -> dict[str, str]:
    outcomes = {}
    for taskrun in kube.list(
        TEKTON, "TaskRun", namespace, label_selector=f"tekton.dev/pipelineRun={pipelinerun}"
    ):
        task = (taskrun["metadata"].get("labels") or {}).get(
            "tekton.dev/pipelineTask", taskrun["metadata"]["name"]
        )
        condition = succeeded_condition(taskrun)
        outcomes[task] = f"{condition.get('reason', 'Unknown')}: {condition.get('message', '')}".strip()
    return outcomes
