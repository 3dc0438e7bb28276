"""The quickstart's judgements of the pipeline stage, on the objects Tekton writes: which runs belong to the
push (a kept world's earlier runs do not), when the wait is decided (a second run of the same push is seen
before it ends), whether a Succeeded run's TaskRuns bear it out, which log lines carry a step's error,
and what else than the image line the bot's commit changed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from nautes_e2e.clients import KubeError
from nautes_e2e.suite import KubeClient
from suites.quickstart.bot_commit import unexpected_changes
from suites.quickstart.diagnosis import error_lines, went_elsewhere
from suites.quickstart.names import QuickstartNames
from suites.quickstart.push_runs import PushRuns
from suites.quickstart.taskruns import disagreements

COMMIT, OLD_COMMIT = "a" * 40, "b" * 40
PUSHED_AT = datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)


def run(name: str, created: str, status: str | None = None, commit: str | None = None) -> dict[str, Any]:
    conditions = [{"type": "Succeeded", "status": status, "reason": "R"}] if status else []
    results = [{"name": "commit", "value": commit}] if commit else []
    taskruns = {f"{name}-clone": {"pipelineTaskName": "clone", "status": {"taskResults": results}}}
    return {
        "metadata": {"name": name, "creationTimestamp": f"2026-12-05T{created}Z"},
        "spec": {},
        "status": {"conditions": conditions, "taskRuns": taskruns},
    }


def judge(runs: PushRuns, *objects: dict[str, Any]) -> bool:
    return [runs.judge(("ADDED", obj)) for obj in objects][-1].done


def test_runs_of_an_earlier_push_neither_end_the_wait_nor_count() -> None:
    runs = PushRuns(COMMIT, PUSHED_AT)
    before = run("main-pipiline-n0001", "09:58:00", "True", OLD_COMMIT)
    old_init = run("hooks-old", "09:57:59", "False")
    same_second_old = run("main-pipiline-n0002", "10:00:01", "True", OLD_COMMIT)
    assert not judge(runs, before, old_init, same_second_old)
    assert sorted(runs.earlier) == ["hooks-old", "main-pipiline-n0001", "main-pipiline-n0002"]
    assert runs.failed_init_run() is None
    assert judge(
        runs, run("hooks-new", "10:00:02", "True"), run("main-pipiline-n0003", "10:00:03", "True", COMMIT)
    )
    assert list(runs.user_runs) == ["main-pipiline-n0003"]


def test_a_second_run_of_the_push_is_waited_for_until_it_shows_its_commit() -> None:
    runs = PushRuns(COMMIT, PUSHED_AT)
    first = run("main-pipiline-n0001", "10:00:03", "True", COMMIT)
    second = run("main-pipiline-n0002", "10:00:03", "Unknown")
    assert not judge(runs, run("hooks-1", "10:00:02", "True"), run("hooks-2", "10:00:02", "Unknown"), first)
    assert not judge(runs, run("hooks-2", "10:00:02", "True"), second)
    assert judge(runs, run("main-pipiline-n0002", "10:00:03", "Unknown", COMMIT))
    assert sorted(runs.user_runs) == ["main-pipiline-n0001", "main-pipiline-n0002"]


def test_a_failed_init_run_of_the_push_decides_at_once() -> None:
    runs = PushRuns(COMMIT, PUSHED_AT)
    assert judge(runs, run("hooks-1", "10:00:02", "False"))
    assert runs.failed_init_run() is not None


def taskrun(task: str, status: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"r-{task}", "labels": {"tekton.dev/pipelineTask": task}},
        "status": {
            "conditions": [{"type": "Succeeded", "status": status, "reason": "Failed", "message": "m"}]
        },
    }


def test_a_succeeded_run_with_a_failed_or_missing_taskrun_disagrees() -> None:
    pipeline = {"tasks": [{"name": "a"}, {"name": "b"}, {"name": "c"}], "finally": [{"name": "f"}]}
    succeeded = {"status": {"pipelineSpec": pipeline, "skippedTasks": [{"name": "c"}]}}
    found = disagreements(succeeded, [taskrun("a", "True"), taskrun("b", "False")])
    assert [text for text, _ in found] == [
        "its TaskRun r-b (task b) is Failed: m",
        "task f has no TaskRun and is not among the skipped tasks",
    ]
    assert disagreements(succeeded, [taskrun("a", "True"), taskrun("b", "True"), taskrun("f", "True")]) == []


def test_the_lines_before_a_generic_trailer_are_the_error() -> None:
    git = (
        "+ git push origin HEAD:main --force\nremote: \nremote: " + "=" * 72 + "\nremote: \n"
        "remote: This deploy key does not have write access to this project.\nremote: \n"
        "fatal: Could not read from remote repository.\n\n"
        "Please make sure you have the correct access rights\nand the repository exists.\n"
    )
    assert error_lines(git) == ["This deploy key does not have write access to this project."]
    maven = (
        "[INFO] BUILD FAILURE\n[ERROR] Failed to execute goal x: Could not resolve dependencies\n"
        "[ERROR] -> [Help 1]\n[ERROR] \n"
        "[ERROR] Re-run Maven using the -X switch to enable full debug logging.\n"
        "[ERROR] [Help 1] http://cwiki.apache.org/confluence/display/MAVEN/X\n"
    )
    assert error_lines(maven) == ["[ERROR] Failed to execute goal x: Could not resolve dependencies"]
    kaniko = "INFO[0001] RUN make\nmake: *** No rule to make target\nerror building image: exit status 2\n"
    assert error_lines(kaniko) == ["INFO[0001] RUN make", "make: *** No rule to make target"]
    assert error_lines("error building image: waiting for process to exit: exit status 1\n") == [
        "error building image: waiting for process to exit: exit status 1"
    ]


PUSHED = {
    "deployments/test/app.yaml": b"kind: Deployment\nspec:\n  containers:\n    - name: a\n"
    b"      image: old:1\n",
    "deployments/test/svc.yaml": b"kind: Service\n",
}


def test_the_bot_commit_may_change_the_image_line_only() -> None:
    rewritten = dict(
        PUSHED,
        **{"deployments/test/app.yaml": PUSHED["deployments/test/app.yaml"].replace(b"old:1", b"new:2")},
    )
    assert unexpected_changes(PUSHED, rewritten, "deployments/test/app.yaml", "new:2") == []
    assert unexpected_changes(PUSHED, rewritten, "deployments/test/app.yaml", "new:3") == [
        "replaces deployments/test/app.yaml line 5: image: new:2"
    ]
    lost = {"deployments/test/app.yaml": rewritten["deployments/test/app.yaml"], "extra.txt": b"x"}
    assert unexpected_changes(PUSHED, lost, "deployments/test/app.yaml", "new:2") == [
        "deletes deployments/test/svc.yaml",
        "adds extra.txt",
    ]
    reindented = dict(
        rewritten, **{"deployments/test/app.yaml": rewritten["deployments/test/app.yaml"] + b"# x\n"}
    )
    assert unexpected_changes(PUSHED, reindented, "deployments/test/app.yaml", "new:2") == [
        "inserts deployments/test/app.yaml line 6: # x"
    ]


def test_a_run_that_cloned_the_pushed_commit_before_the_push_points_at_the_clocks() -> None:
    runs = PushRuns(COMMIT, PUSHED_AT)
    assert not judge(runs, run("main-pipiline-n0001", "09:59:00", "True", COMMIT))
    assert "clocks differ by more than 5 s" in runs.earlier["main-pipiline-n0001"]


class AllNamespaces:
    """What ``went_elsewhere`` reads: every PipelineRun of the cluster, or a 403 for a narrow kubeconfig."""

    def __init__(self, runs: list[dict[str, Any]] | None) -> None:
        self.runs = runs

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        assert (kind, namespace) == ("PipelineRun", None)
        if self.runs is None:
            raise KubeError("list pipelineruns", 403, "Forbidden", "cannot list at the cluster scope")
        return self.runs


def test_a_run_of_the_push_in_another_namespace_is_said() -> None:
    names = QuickstartNames("demo", "c", ("sc",), "sc", "deploy", "pr-demo", "pr-demo", 1)
    runs = PushRuns(COMMIT, PUSHED_AT)
    elsewhere = run("main-pipiline-n0001", "10:00:03", "Unknown")
    elsewhere["metadata"]["namespace"] = "product-7"
    older = run("main-pipiline-n0002", "09:00:00", "True")
    older["metadata"]["namespace"] = "other"
    kube = cast(KubeClient, AllNamespaces([elsewhere, older]))
    assert went_elsewhere(kube, names, runs) == (
        "the push's PipelineRun went to another namespace than the runtime's pr-demo (the "
        "destination.namespace of pr-demo): product-7/main-pipiline-n0001"
    )
    assert went_elsewhere(cast(KubeClient, AllNamespaces([older])), names, runs) is None
    assert went_elsewhere(cast(KubeClient, AllNamespaces(None)), names, runs) is None
