"""Why the quickstart's pipeline did not run or did not pass, in words a Nautes user acts on.

What Tekton, Argo Events and GitLab show is read here, so that a stage only decides *that* it failed: the
failed task with the lines of its step's log that say why (not the generic trailer a tool ends with), the
source repository's webhooks, runs of the push that went to another namespace, and the Argo Events pods in
CrashLoopBackOff when no run started at all.
"""

from __future__ import annotations

import re
from typing import Any

from nautes_e2e.clients import KubeError
from nautes_e2e.suite import GitLabClient, KubeClient, StageContext
from suites.quickstart.names import QuickstartNames
from suites.quickstart.probes import ARGO_EVENTS_NAMESPACE, CORE, TEKTON, event_handling_ready
from suites.quickstart.push_runs import (
    INIT_RUN_PREFIX,
    PIPELINERUN_NAME,
    PushRuns,
    created_at,
    succeeded_condition,
)

#: Lines a tool prints after the error that say nothing of it; a diagnosis quotes the lines before them.
GENERIC_TRAILERS = tuple(
    re.compile(pattern)
    for pattern in (
        r"exit status \d+$",  # Go's exec error: kaniko's "error building image: ...: exit status 1"
        r"^fatal: Could not read from remote repository\.$",  # git connect.c, after any refusal
        r"^Please make sure you have the correct access rights$",
        r"^and the repository exists\.$",
        r"^error: failed to push some refs to ",  # git push, after any rejection
        r"^remote: *=*$",  # gitlab-shell's box around its message
        r"^\[(?:ERROR|INFO)\] *$",  # Maven's blank lines and its help trailer
        r"^\[INFO\] (?:BUILD FAILURE|-{3,}|Total time:.*|Finished at:.*)$",
        r"^\[ERROR\] (?:-> \[Help \d+\]|\[Help \d+\] http.*|To see the full stack trace.*|Re-run Maven .*)$",
        r"^\[ERROR\] For more information about the errors and possible solutions.*$",
        r"^Skipping step because a previous step failed$",  # Tekton's entrypoint for later steps
    )
)
#: How many lines of the real error a diagnosis quotes, each cut at :data:`QUOTED_LINE_CHARS`.
QUOTED_LINES = 2
QUOTED_LINE_CHARS = 300


def no_run_diagnosis(
    stage: StageContext,
    gitlab: GitLabClient,
    kube: KubeClient,
    names: QuickstartNames,
    consumer: str,
    runs: PushRuns,
) -> str:
    """Why no run of the push started at all: the push's webhook is the first suspect, then the event
    source and the Sensors (which the runtime operator creates after the hook, contract §4.3), then the Argo
    Events pods."""
    hooks = gitlab.project_hooks(f"{names.product}/{names.source_repo}")
    stage.evidence("source-repo-webhooks.json", hooks)
    hook_urls = [str(hook.get("url")) for hook in hooks if hook.get("push_events")]
    lines = [
        f"no PipelineRun appeared in {names.runtime_namespace} within {stage.timeout_s:g}s of the push: "
        "the push webhook was not delivered or did not trigger the Sensor "
        f"(push webhooks on {names.source_repo}: {hook_urls or 'none'})"
    ]
    if runs.earlier:
        earlier = sorted(runs.earlier.items())
        lines.append(
            "only runs of earlier pushes are there: " + "; ".join(f"{n} ({why})" for n, why in earlier)
        )
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


def went_elsewhere(kube: KubeClient, names: QuickstartNames, runs: PushRuns) -> str | None:
    """When no user run of the push is in the runtime namespace: the quickstart's runs (init or user)
    created since the push in any other namespace, said as where the run went; None when there are none,
    or when the kubeconfig may not list PipelineRuns across namespaces (403: nothing to say then)."""
    try:
        everywhere = kube.list(TEKTON, "PipelineRun")
    except KubeError as error:
        if error.status != 403:
            raise
        return None
    found = []
    for run in everywhere:
        metadata = run["metadata"]
        name, namespace, created = str(metadata["name"]), metadata.get("namespace"), created_at(run)
        quickstart = name.startswith(INIT_RUN_PREFIX) or PIPELINERUN_NAME.match(name) is not None
        if quickstart and namespace != names.runtime_namespace and created and created >= runs.since:
            found.append(f"{namespace}/{name}")
    if not found:
        return None
    return (
        f"the push's PipelineRun went to another namespace than the runtime's {names.runtime_namespace} "
        f"(the destination.namespace of {names.pipeline_runtime}): {', '.join(sorted(found))}"
    )


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


def failed_tasks(stage: StageContext, kube: KubeClient, namespace: str, run: dict[str, Any]) -> str:
    """Name each failed task with its reason and the lines of its failed step's log that say why (the
    full log of that step goes to the evidence), because Tekton's run message only counts failures."""
    found = []
    for taskrun in ((run.get("status") or {}).get("taskRuns") or {}).values():
        condition = succeeded_condition(taskrun)
        if condition.get("status") != "False":
            continue
        text = (
            f"task {taskrun.get('pipelineTaskName')}: {condition.get('reason')}: {condition.get('message')}"
        )
        found.append(text + failed_step_quote(stage, kube, namespace, taskrun.get("status") or {}))
    return "; ".join(found) or "no task reports a failure"


def failed_step_quote(stage: StageContext, kube: KubeClient, namespace: str, status: dict[str, Any]) -> str:
    """`` (step <name>: <the lines that say why>)`` for the first failed step of a TaskRun ``status``, its
    log kept as evidence; empty when no step failed or the TaskRun has no pod."""
    failed_steps = [
        step for step in status.get("steps") or [] if (step.get("terminated") or {}).get("exitCode", 0) != 0
    ]
    if not failed_steps or not status.get("podName"):
        return ""
    step = failed_steps[0]
    log = kube.pod_log(namespace, status["podName"], step.get("container"))
    stage.evidence(f"{status['podName']}-{step.get('container')}.log", log)
    return f" (step {step.get('name')}: {' / '.join(error_lines(log)) or 'no output'})"


def error_lines(log: str) -> list[str]:
    """The last lines of ``log`` that carry its error: the :data:`QUOTED_LINES` lines before the generic
    trailer a tool ends with (``fatal: Could not read from remote repository.``, Maven's ``[Help 1]``
    block, ``exit status 1``); the last line when there is nothing but a trailer."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    end = len(lines)
    while end and _generic(lines[end - 1]):
        end -= 1
    quoted: list[str] = []
    while end and len(quoted) < QUOTED_LINES and not _generic(lines[end - 1]):
        quoted.insert(0, lines[end - 1])
        end -= 1
    return [line.removeprefix("remote: ")[:QUOTED_LINE_CHARS] for line in quoted or lines[-1:]]


def _generic(line: str) -> bool:
    return any(pattern.search(line) for pattern in GENERIC_TRAILERS)
