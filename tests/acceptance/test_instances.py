"""Scenario instances, as CI runs them: four instances (both cluster types, two suffixes each) on ``-n 4``
each run on one worker, pass, and write four reports, ``matrix.json`` and the run's summary; a matrix with
one failing instance fails (exit 1, the gate names it), and ``--rerun-failed`` runs that instance alone
again, then finds nothing more to rerun.

Each instance costs a quickstart (about 6 CPU-seconds), so these are the only runs of more than one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.cli import main as cli_main
from tests.support.quickstart import RUN_ID, QuickstartRun, processes_of_run, run_quickstart
from tests.support.warm_stack import WarmStack, start_warm_stack

#: A fault armed for one instance's suffix: its register_cluster fails (the stack's Nautes answers 500).
FAULT = "nautes-api-500=Cluster"
_WORKER_LINE = re.compile(r"\[(gw\d+)\][^\n]*? (?:PASSED|FAILED|SKIPPED|ERROR) \S+?\[([a-z0-9-]+)\]")


def write_matrix(path: Path, instances: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps({"instances": instances}))  # JSON is YAML
    return path


def matrix_of(run_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((run_dir / "matrix.json").read_text())
    return document


def workers_by_instance(run: QuickstartRun) -> dict[str, set[str]]:
    workers: dict[str, set[str]] = {}
    for worker, instance in _WORKER_LINE.findall(run.output):
        workers.setdefault(instance, set()).add(worker)
    return workers


def test_four_instances_on_four_workers_pass_and_report_each(tmp_path: Path) -> None:
    names = ["physical-a", "virtual-a", "physical-b", "virtual-b"]
    matrix = write_matrix(
        tmp_path / "matrix.yaml",
        [{"name": name, "clusterType": name.split("-")[0], "suffix": f"i{name}"} for name in names],
    )
    work = tmp_path / "run"
    run = run_quickstart(work, {}, arguments=["--instances", str(matrix), "-n", "4", "-vv"])

    assert processes_of_run(run) == [], "the run left processes behind"
    assert run.returncode == 0, run.tail(80)
    run_dir = work / "reports" / RUN_ID
    document = matrix_of(run_dir)
    assert [entry["name"] for entry in document["instances"]] == names
    assert {entry["result"] for entry in document["instances"]} == {"passed"}
    assert document["run"]["exit_code"] == 0
    for name in names:
        report = json.loads((run_dir / "instances" / name / "report.json").read_text())
        assert report["run"]["result"] == "passed", name
        assert report["facts"]["cluster"].endswith(f"-i{name}"), "each instance registers its own cluster"
        for file in ("junit.xml", "summary.md", "report.html"):
            assert (run_dir / "instances" / name / file).is_file(), (name, file)
    assert (run_dir / "summary.md").is_file()
    assert (run_dir / "report.html").is_file()
    assert not (run_dir / "report.json").exists(), "a matrix run's folder holds the instances' reports only"
    workers = workers_by_instance(run)
    assert set(workers) == set(names), run.tail(80)
    assert all(len(used) == 1 for used in workers.values()), f"an instance's chain was split: {workers}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmStack]:
    """A standalone stack with two runtime clusters: a fault can be armed for one instance's suffix."""
    warm = start_warm_stack(tmp_path_factory.mktemp("instances") / "world", "--clusters", "2")
    try:
        yield warm
    finally:
        warm.stop()


def test_a_failed_instance_fails_the_run_and_is_all_that_reruns(
    stack: WarmStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = stack.new_suffix(), stack.new_suffix()
    matrix = write_matrix(
        tmp_path / "matrix.yaml", [{"name": "good", "suffix": good}, {"name": "bad", "suffix": bad}]
    )
    target = ["--target", "existing", "--target-file", str(stack.directory / "target.yaml")]
    stack.arm(bad, FAULT)
    first = run_quickstart(
        tmp_path / "first", stack.credentials, arguments=[*target, "--instances", str(matrix), "-n", "2"]
    )
    stack.disarm(bad)

    assert first.returncode == 1, first.tail(80)
    first_dir = tmp_path / "first" / "reports" / RUN_ID
    results = {entry["name"]: entry["result"] for entry in matrix_of(first_dir)["instances"]}
    assert results == {"good": "passed", "bad": "failed"}
    bad_report = json.loads((first_dir / "instances" / "bad" / "report.json").read_text())
    assert {stage["name"]: stage["status"] for stage in bad_report["stages"]}["register_cluster"] == "failed"
    assert cli_main(["gate", "--allow-simulated", str(first_dir)]) == 1
    gate = capsys.readouterr().out
    assert "bad" in gate.strip().splitlines()[-1], gate

    rerun = run_quickstart(
        tmp_path / "rerun", stack.credentials, arguments=[*target, "--rerun-failed", str(first_dir)]
    )

    assert rerun.returncode == 0, rerun.tail(80)
    rerun_dir = tmp_path / "rerun" / "reports" / RUN_ID
    document = matrix_of(rerun_dir)
    assert [(entry["name"], entry["result"]) for entry in document["instances"]] == [("bad", "passed")]
    assert document["instances"][0]["options"]["suffix"] == bad, "the rerun takes over the instance's options"
    assert document["run"]["rerun_of"] == str(first_dir / "matrix.json")
    assert [path.name for path in (rerun_dir / "instances").iterdir()] == ["bad"]

    again = run_quickstart(
        tmp_path / "again", stack.credentials, arguments=[*target, "--rerun-failed", str(rerun_dir)]
    )

    assert again.returncode == 0, again.tail()
    assert f"nothing to rerun: everything {rerun_dir / 'matrix.json'} reports passed" in again.output
    assert not (tmp_path / "again" / "reports").exists()
