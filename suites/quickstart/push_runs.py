"""Which PipelineRuns of the runtime namespace the quickstart's push started, and when that is decided.

The runtime namespace may hold the runs of earlier pushes (a rerun against a kept world with the same
suffix): they must neither end the wait nor count. A run belongs to this push when

* it was created after the pushed commit was made (the cluster's ``creationTimestamp`` against the
  commit's date, allowing :data:`CLOCK_SKEW_S` between the two clocks), and
* once it has run its clones, one of them cloned the pushed commit: the catalog git-clone task reports the
  commit it checked out as its ``commit`` result (tekton catalog task/git-clone/0.6). A finished user run
  none of whose ``commit`` results is the pushed commit built an earlier push.

The push's webhook starts one init (``hooks-``) run, which creates one user run ``main-pipiline-n<hex>``
(contract §4.4). The wait is decided when an init run of the push failed, or when a user run of the push
is decided, no init run of the push is still running (each may yet create a user run) and every user run
still running has shown which commit it cloned: then :attr:`PushRuns.user_runs` holds every user run the
push started, and more than one is a promise broken.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from nautes_e2e.suite import Observation

#: How far the clocks of the machine that committed and of the cluster may disagree (README "Shared
#: worlds": machines sharing a world must agree within seconds).
CLOCK_SKEW_S = 5.0
INIT_RUN_PREFIX = "hooks-"
#: The user's PipelineRun: ``main-pipiline-n<4 hex>`` (sic: the quickstart file's name plus the runtime
#: operator's ``nameSuffix``, contract §4.4).
PIPELINERUN_NAME = re.compile(r"^main-pipiline-n[0-9a-f]{4}$")
#: The result a clone task reports the commit it checked out as (catalog git-clone; git-cli too).
COMMIT_RESULT = "commit"


def succeeded_condition(resource: dict[str, Any]) -> dict[str, Any]:
    """The ``Succeeded`` condition of a PipelineRun or TaskRun (or of the status given), else {}."""
    status = resource.get("status", resource)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Succeeded":
            return dict(condition)
    return {}


def is_decided(resource: dict[str, Any]) -> bool:
    return succeeded_condition(resource).get("status") in ("True", "False")


def created_at(resource: dict[str, Any]) -> datetime | None:
    stamp = (resource.get("metadata") or {}).get("creationTimestamp")
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
    except ValueError:
        return None


def cloned_commits(run: dict[str, Any]) -> set[str]:
    """The ``commit`` results the run's TaskRuns reported so far (v1beta1 ``status.taskRuns``, the full
    embedded status Tekton v0.37 writes by default)."""
    return {
        str(result.get("value", "")).strip()
        for taskrun in ((run.get("status") or {}).get("taskRuns") or {}).values()
        for result in (taskrun.get("status") or {}).get("taskResults") or []
        if result.get("name") == COMMIT_RESULT
    }


class PushRuns:
    """Judges the PipelineRun events of the runtime namespace for the push of ``commit``, made at
    ``committed`` (the commit's own date)."""

    def __init__(self, commit: str, committed: datetime) -> None:
        self.commit = commit
        self.since = committed - timedelta(seconds=CLOCK_SKEW_S)
        self.init_runs: dict[str, dict[str, Any]] = {}
        self.user_runs: dict[str, dict[str, Any]] = {}
        #: Runs of earlier pushes, seen and ignored, with why.
        self.earlier: dict[str, str] = {}

    def judge(self, event: tuple[str, dict[str, Any]]) -> Observation:
        kind, run = event
        name = str(run["metadata"]["name"])
        if kind != "DELETED":
            self._sort(name, run)
        return Observation(done=self.decided(), state=self.state())

    def _sort(self, name: str, run: dict[str, Any]) -> None:
        created = created_at(run)
        if created is not None and created < self.since:
            skewed = self.commit in cloned_commits(run)  # only a clock ahead of the cluster's makes this
            self.earlier[name] = f"created {created:%H:%M:%S}, before the push" + (
                f", yet it cloned {self.commit}: do this machine's and the cluster's clocks differ by more "
                f"than {CLOCK_SKEW_S:g} s?"
                if skewed
                else ""
            )
            return
        if name.startswith(INIT_RUN_PREFIX):
            self.init_runs[name] = run
        elif PIPELINERUN_NAME.match(name):
            cloned = cloned_commits(run)
            if is_decided(run) and cloned and self.commit not in cloned:
                self.user_runs.pop(name, None)
                self.earlier[name] = f"cloned {', '.join(sorted(cloned))}, not {self.commit}"
            else:
                self.user_runs[name] = run

    def failed_init_run(self) -> dict[str, Any] | None:
        return next(
            (run for run in self.init_runs.values() if succeeded_condition(run).get("status") == "False"),
            None,
        )

    def decided(self) -> bool:
        if self.failed_init_run() is not None:
            return True
        if not any(is_decided(run) for run in self.user_runs.values()):
            return False
        if not all(is_decided(run) for run in self.init_runs.values()):
            return False
        return all(is_decided(run) or self.commit in cloned_commits(run) for run in self.user_runs.values())

    def state(self) -> str:
        parts = [f"init run {name}: {_reason(run)}" for name, run in sorted(self.init_runs.items())]
        for name, run in sorted(self.user_runs.items()):
            status = run.get("status") or {}
            tasks = (status.get("pipelineSpec") or run["spec"].get("pipelineSpec") or {}).get("tasks", [])
            finished = sum(1 for taskrun in (status.get("taskRuns") or {}).values() if is_decided(taskrun))
            parts.append(f"{name}: {_reason(run)}, {finished}/{len(tasks)} tasks done")
        if self.earlier:
            parts.append(f"{len(self.earlier)} run(s) of earlier pushes ignored")
        return "; ".join(parts) or "no run of this push yet"


def _reason(run: dict[str, Any]) -> str:
    return str(succeeded_condition(run).get("reason", "Pending"))
