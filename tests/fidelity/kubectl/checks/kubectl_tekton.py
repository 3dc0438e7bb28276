"""Tekton objects as a user debugging a pipeline sees them: a PipelineRun (on the catalog's ``git-cli``
ClusterTask, as the quickstart's pipeline uses it) applied, waited for, and read back through its TaskRun,
its pod, the pod's step logs and the events, as against K3s v1.21.14 with Tekton v0.37.5."""

from __future__ import annotations

import json

import pytest

from tests.fidelity.kubectl.checks.kubectl_stack import Kubectl, described_fields

pytestmark = pytest.mark.fidelity

# The catalog's git-cli 0.4 interface (tektoncd/catalog task/git-cli/0.4/git-cli.yaml), as a ClusterTask.
GIT_CLI = """\
apiVersion: tekton.dev/v1beta1
kind: ClusterTask
metadata:
  name: git-cli
  labels:
    app.kubernetes.io/version: "0.4"
spec:
  workspaces:
    - name: source
    - name: input
      optional: true
    - name: ssh-directory
      optional: true
    - name: basic-auth
      optional: true
  params:
    - name: BASE_IMAGE
      type: string
      default: cgr.dev/chainguard/git:root-2.39
    - name: GIT_USER_NAME
      type: string
      default: ""
    - name: GIT_USER_EMAIL
      type: string
      default: ""
    - name: GIT_SCRIPT
      type: string
      default: git help
    - name: USER_HOME
      type: string
      default: /root
    - name: VERBOSE
      type: string
      default: "true"
  results:
    - name: commit
  steps:
    - name: git
      image: $(params.BASE_IMAGE)
      workingDir: $(workspaces.source.path)
"""
PIPELINE_RUN = """\
apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata:
  name: hello
  labels:
    branch: main
spec:
  pipelineSpec:
    tasks:
      - name: say-hello
        taskRef:
          name: git-cli
          kind: ClusterTask
        workspaces:
          - name: source
            workspace: scratch
        params:
          - name: GIT_USER_NAME
            value: robot
          - name: GIT_USER_EMAIL
            value: robot@example.com
          - name: GIT_SCRIPT
            value: |
              git init -q .
              git commit -q --allow-empty -m first
              echo hello from the step
    workspaces:
      - name: scratch
  workspaces:
    - name: scratch
      emptyDir: {}
"""
POD = "hello-say-hello-pod"


@pytest.fixture(scope="module")
def finished_run(kubectl: Kubectl, namespace: str) -> str:
    """The PipelineRun ``hello``, applied and waited for until it succeeded."""
    applied = kubectl("apply", "-f", "-", stdin=GIT_CLI)
    assert applied.returncode == 0, applied.stderr
    created = kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=PIPELINE_RUN)
    assert created == "pipelinerun.tekton.dev/hello created\n"
    waited = kubectl.ok(
        "wait", "-n", namespace, "--for=condition=Succeeded", "pipelinerun/hello", "--timeout=60s"
    )
    assert waited == "pipelinerun.tekton.dev/hello condition met\n"
    return "hello"


def test_the_run_by_its_short_name_and_label(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    named = kubectl.ok("get", "pr", "-n", namespace, "-l", "branch=main", "-o", "name")
    assert named == "pipelinerun.tekton.dev/hello\n"


def test_the_run_in_each_served_version(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    for version in ("v1beta1", "v1alpha1"):
        api_version = kubectl.ok(
            "get",
            f"pipelineruns.{version}.tekton.dev",
            finished_run,
            "-n",
            namespace,
            "-o",
            "jsonpath={.apiVersion}",
        )
        assert api_version == f"tekton.dev/{version}"


def test_the_run_succeeded_with_its_task_run(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    run = json.loads(kubectl.ok("get", "pipelinerun", finished_run, "-n", namespace, "-o", "json"))
    succeeded = [c for c in run["status"]["conditions"] if c["type"] == "Succeeded"]
    assert [(c["status"], c["reason"]) for c in succeeded] == [("True", "Succeeded")]
    task_runs = kubectl.ok(
        "get", "taskruns", "-n", namespace, "-l", f"tekton.dev/pipelineRun={finished_run}", "-o", "name"
    )
    assert task_runs == "taskrun.tekton.dev/hello-say-hello\n"
    result = kubectl.ok(
        "get", "taskrun", "hello-say-hello", "-n", namespace, "-o", "jsonpath={.status.taskResults[0].name}"
    )
    assert result == "commit"


def test_a_custom_resource_takes_no_strategic_merge_patch(
    kubectl: Kubectl, namespace: str, finished_run: str
) -> None:
    refused = kubectl(
        "patch", "pipelinerun", finished_run, "-n", namespace, "-p", '{"metadata":{"labels":{"a":"b"}}}'
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: application/strategic-merge-patch+json is not supported by tekton.dev/v1beta1, "
        "Kind=PipelineRun: "
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )
    merged = kubectl.ok(
        "patch",
        "pipelinerun",
        finished_run,
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"metadata":{"labels":{"a":"b"}}}',
    )
    assert merged == "pipelinerun.tekton.dev/hello patched\n"


def test_the_pod_of_the_task_run(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    lines = kubectl.ok(
        "get", "pods", "-n", namespace, "-l", f"tekton.dev/pipelineRun={finished_run}"
    ).splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split()[:4] == [POD, "0/1", "Completed", "0"]
    succeeded = kubectl.ok(
        "get", "pods", "-n", namespace, "--field-selector", "status.phase=Succeeded", "-o", "name"
    )
    assert f"pod/{POD}" in succeeded.split()
    running = kubectl.ok(
        "get", "pods", "-n", namespace, "--field-selector", "status.phase=Running", "-o", "name"
    )
    assert running == ""
    wide = kubectl.ok("get", "pod", POD, "-n", namespace, "-o", "wide").splitlines()
    assert wide[0].split() == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]


def test_the_step_logs(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    logs = kubectl.ok("logs", POD, "-n", namespace, "-c", "step-git")
    assert "hello from the step\n" in logs
    assert kubectl.ok("logs", POD, "-n", namespace) == logs  # the one container is the default
    assert kubectl.ok("logs", POD, "-n", namespace, "-c", "step-git", "--follow") == logs  # it has ended
    tail = kubectl.ok("logs", POD, "-n", namespace, "-c", "step-git", "--tail=1")
    assert tail == logs.splitlines(keepends=True)[-1]
    by_label = kubectl.ok("logs", "-n", namespace, "-l", f"tekton.dev/pipelineRun={finished_run}", "--prefix")
    assert f"[pod/{POD}/step-git] hello from the step" in by_label.splitlines()


def test_logs_of_a_container_the_pod_does_not_have(
    kubectl: Kubectl, namespace: str, finished_run: str
) -> None:
    refused = kubectl("logs", POD, "-n", namespace, "-c", "step-nope")
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"error: container step-nope is not valid for pod {POD}"


def test_describe_the_pod(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    described = kubectl.ok("describe", "pod", POD, "-n", namespace)
    fields = described_fields(described)
    assert (fields["Name"], fields["Namespace"], fields["Status"]) == (POD, namespace, "Succeeded")
    assert fields["Controlled By"] == "TaskRun/hello-say-hello"
    assert "  step-git:\n" in described
    assert "      Reason:       Completed\n      Exit Code:    0\n" in described
    conditions = described[described.index("\nConditions:\n") :].splitlines()[2:7]
    assert [line.split() for line in conditions] == [
        ["Type", "Status"],
        ["Initialized", "True"],
        ["Ready", "False"],
        ["ContainersReady", "False"],
        ["PodScheduled", "True"],
    ]


def _reasons(kubectl: Kubectl, namespace: str, selector: str) -> list[str]:
    listed = kubectl.ok(
        "get", "events", "-n", namespace, "--field-selector", selector, "-o", "jsonpath={.items[*].reason}"
    )
    return listed.split()


def test_the_events_of_the_pod(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    reasons = _reasons(kubectl, namespace, f"involvedObject.kind=Pod,involvedObject.name={POD}")
    assert reasons == ["Scheduled", "Pulled", "Created", "Started"]
    lines = kubectl.ok(
        "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={POD}"
    ).splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert lines[1].split()[1:4] == ["Normal", "Scheduled", f"pod/{POD}"]


def test_the_events_of_the_runs(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    pipeline_run = _reasons(
        kubectl, namespace, f"involvedObject.kind=PipelineRun,involvedObject.name={finished_run}"
    )
    assert pipeline_run[0] == "Started"
    assert pipeline_run[-1] == "Succeeded"
    task_run = _reasons(kubectl, namespace, "involvedObject.kind=TaskRun,involvedObject.name=hello-say-hello")
    assert (task_run[0], task_run[-1]) == ("Started", "Succeeded")
    described = kubectl.ok("describe", "pipelinerun", finished_run, "-n", namespace)
    events = described[described.index("\nEvents:\n") :].splitlines()
    assert events[2].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert events[-1].split()[:2] == ["Normal", "Succeeded"]
    assert "PipelineRun  Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0" in events[-1]


def test_the_pod_ran_on_the_node(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    node = kubectl.ok("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")
    pod = json.loads(kubectl.ok("get", "pod", POD, "-n", namespace, "-o", "json"))
    assert pod["spec"]["nodeName"] == node
    assert pod["status"]["podIP"].startswith("10.42.")  # K3s's pod network
    on_node = kubectl.ok("get", "pods", "-A", "--field-selector", f"spec.nodeName={node}", "-o", "name")
    assert f"pod/{POD}" in on_node.split()


def test_the_runs_columns(kubectl: Kubectl, namespace: str, finished_run: str) -> None:
    runs = kubectl.ok("get", "pipelineruns", "-n", namespace).splitlines()
    assert runs[0].split() == ["NAME", "SUCCEEDED", "REASON", "STARTTIME", "COMPLETIONTIME"]
    assert runs[1].split()[:3] == [finished_run, "True", "Succeeded"]
    task_runs = kubectl.ok("get", "taskruns", "-n", namespace).splitlines()
    assert task_runs[0].split() == ["NAME", "SUCCEEDED", "REASON", "STARTTIME", "COMPLETIONTIME"]
    assert task_runs[1].split()[:3] == ["hello-say-hello", "True", "Succeeded"]
    tasks = kubectl.ok("get", "clustertasks", "git-cli").splitlines()
    assert tasks[0].split() == ["NAME", "AGE"]
