"""Each quickstart stage catches the breakage it names: proven by running the real main job against a
reference stack started with that breakage injected (``NAUTES_E2E_REFSTACK_FAULTS``).

For every fault the run must exit 1 with the named stage ``failed`` and a diagnosis that names the
breakage; the stages after it that need it skipped as "blocked by" it; the stages before it passed; the
teardown passed (or, where the breakage also breaks removal, failed and said why); the fault really acted
(the stack's log says so); and nothing of the run left running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.faults

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "run"
STAGE_TIMEOUT_S = "8"  # generous: under `-n auto` load a healthy stage must never time out
RUN_TIMEOUT_S = 300.0
# How the reference stack learns its faults: an environment variable, the one interface the two packages share
# besides the command line (nautes_refstack.faults.FAULTS_ENV; the harness never imports the stack).
FAULTS_ENV = "NAUTES_E2E_REFSTACK_FAULTS"
TEARDOWN = "teardown"
# Every process the run starts inherits this variable (the stack's children that get a fresh
# environment are found by the run's directory in their command line, environment or working directory).
RUN_MARKER = "NAUTES_E2E_FAULT_RUN"


@dataclass(frozen=True)
class FaultCase:
    fault: str
    stage: str
    keyword: str
    teardown: str = "passed"
    teardown_keyword: str = ""


CASES = [
    FaultCase("gitlab-token-rejected", "preflight", "401"),
    FaultCase("nautes-api-500=Cluster", "register_cluster", "500"),
    FaultCase("cluster-kubeconfig-not-stored", "register_cluster", "cluster/data/kubernetes/"),
    # The next CodeRepo save (and every CodeRepo delete) re-reads the readwrite keys, so Nautes itself fails
    # on the missing secret, with its path, and the teardown cannot remove the repositories either.
    FaultCase("deploykey-not-stored", "initialise_product", "gitlab/repo-", "failed", "SECRET_NOT_FOUND"),
    FaultCase("namespace-never-created", "initialise_product", "namespace not created yet"),
    # Argo CD never syncs the tenant repository: the Environment save keeps answering that the cluster
    # does not exist, and the stage stops waiting at its timeout, saying so.
    FaultCase(
        "tenant-repo-never-syncs", "initialise_product", "did not sync cluster physical-worker-quickstart"
    ),
    # The hook exists (the event source runs) but no Sensor pod does: a push now would be lost.
    FaultCase("sensors-never-ready", "initialise_product", "its pod not running yet"),
    FaultCase("configmap-data-dropped", "registry_auth", "config.json"),
    FaultCase("force-push-setting-ignored", "push_deployment_manifests", "allow_force_push"),
    FaultCase("webhook-not-delivered", "pipelinerun_succeeded", "webhook"),
    FaultCase("argo-events-crashloop", "pipelinerun_succeeded", "CrashLoopBackOff"),
    FaultCase("hooks-run-fails", "pipelinerun_succeeded", "init run"),
    # The vault-agent init container needs Secret ca (vault.hashicorp.com/tls-secret): the task pod stays
    # Pending and the run Running until the timeout; the diagnosis names the stuck pod.
    FaultCase("ca-secret-missing", "pipelinerun_succeeded", "is Pending"),
    FaultCase("task-fails=image-build", "pipelinerun_succeeded", "image-build"),
    FaultCase("wrong-image-tag", "image_published", "0.0.1-latest"),
    FaultCase("tag-not-rewritten", "image_tag_rewritten", "automatic update by pipeline bot"),
    # Every stage passes; the teardown's check that nothing outlives the run is what catches it.
    FaultCase("runtime-not-cleaned-up", TEARDOWN, "left behind: namespace pr-demo-quickstart", "failed"),
]


@dataclass(frozen=True)
class QuickstartRun:
    """One finished ``pytest suites/quickstart`` run: exit code, output, report, and where it ran."""

    returncode: int
    output: str
    work_dir: Path
    marker: str

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        report_path = self.work_dir / "reports" / RUN_ID / "report.json"
        assert report_path.is_file(), f"the run wrote no report.json; its output:\n{self.tail()}"
        report: dict[str, Any] = json.loads(report_path.read_text())
        return {stage["name"]: stage for stage in report["stages"]}

    def stack_log(self) -> str:
        """The stack's own log, as the run keeps it in its evidence (the world's directory is gone)."""
        evidence = self.work_dir / "reports" / RUN_ID / "evidence"
        logs = sorted(evidence.rglob("stack/logs/refstack.log"))
        assert logs, f"no stack/logs/refstack.log in {evidence}; output:\n{self.tail()}"
        return logs[0].read_text()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_quickstart(fault: str, work_dir: Path) -> QuickstartRun:
    """The main job, as CI runs it, against a reference stack started with ``fault``.

    Reports, pytest's temporary directories and every temporary directory of the run (``TMPDIR``: the
    world's, hence the stack's) live under ``work_dir``, and the stack picks free ports, so runs can go in
    parallel (``-n 2``)."""
    marker = uuid.uuid4().hex
    temporary = work_dir / "tmp"
    temporary.mkdir()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    environment |= {FAULTS_ENV: fault, RUN_MARKER: marker, "TMPDIR": str(temporary)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "suites/quickstart",
        "-q",
        "-p",
        "no:cacheprovider",
        "--reports-dir",
        str(work_dir / "reports"),
        "--stage-timeout",
        STAGE_TIMEOUT_S,
        "--run-id",
        RUN_ID,
        "--basetemp",
        str(work_dir / "basetemp"),
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        output += f"\n(killed after {RUN_TIMEOUT_S:g} s)"
    return QuickstartRun(process.returncode, output, work_dir, marker)


def transitive_dependents(stages: dict[str, dict[str, Any]], root: str) -> set[str]:
    """The stages that need ``root``, directly or through other stages."""
    dependents: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, stage in stages.items():
            if name not in dependents and {root, *dependents} & set(stage["needs"]):
                dependents.add(name)
                changed = True
    return dependents


def processes_of_run(run: QuickstartRun) -> list[str]:
    """Live processes started by the run: they carry its marker, or its directory in their command line,
    environment or working directory. Zombies (exited, not reaped by this machine's PID 1) do not count."""
    directory = str(run.work_dir).encode()
    left: list[str] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            cwd = os.readlink(entry / "cwd").encode()
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if (
            directory in cmdline
            or directory in environ
            or run.marker.encode() in environ
            or cwd.startswith(directory)
        ):
            argv = cmdline.split(b"\0")[:3]  # never the whole command line: it may hold a token
            left.append(f"pid {entry.name}: {b' '.join(argv).decode(errors='replace')}")
    return left


@pytest.mark.parametrize("case", CASES, ids=[case.fault for case in CASES])
def test_the_stage_that_names_the_breakage_catches_it(case: FaultCase, tmp_path: Path) -> None:
    run = run_quickstart(case.fault, tmp_path)

    assert processes_of_run(run) == [], "the run left processes behind"
    assert f"fault {case.fault} acts" in run.stack_log(), "the fault never acted: the test proves nothing"
    stages = run.stages
    order = list(stages)
    failed = stages[case.stage]
    assert failed["status"] == "failed", f"{case.stage} is {failed['status']}; output:\n{run.tail()}"
    assert case.keyword in (failed["diagnosis"] or ""), (
        f"the diagnosis of {case.stage} does not name {case.keyword!r}: {failed['diagnosis']!r}"
    )
    assert run.returncode == 1, run.tail()
    failed_stages = sorted(name for name, stage in stages.items() if stage["status"] == "failed")
    before = order[: order.index(case.stage)]
    assert {name: stages[name]["status"] for name in before} == dict.fromkeys(before, "passed")
    for name in sorted(transitive_dependents(stages, case.stage) - {TEARDOWN}):
        stage = stages[name]
        assert stage["status"] == "skipped", f"{name} needs {case.stage} but is {stage['status']}"
        # A block names the root failure: this stage, or another stage the same breakage failed too
        # (force-push-setting-ignored fails both pushes).
        blocker = str(stage["skip_reason"]).removeprefix("blocked by ")
        assert blocker in failed_stages, f"{name}: {stage['skip_reason']!r}, failed stages {failed_stages}"
    # Nothing was applied before preflight, so then there is nothing to tear down (and no teardown stage).
    if case.stage != "preflight" or TEARDOWN in stages:
        teardown = stages[TEARDOWN]
        assert teardown["status"] == case.teardown, teardown["diagnosis"]
        assert case.teardown_keyword in (teardown["diagnosis"] or ""), teardown["diagnosis"]
