"""Scenario instances without a world: the matrix file's rules (each error names the file, the field and the
value), ``--cluster-type`` lists, the scheduler's unit (a module and an instance), the instances' reports
and exit code (pytester, in process), and what ``--rerun-failed`` reads back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.plugin.instances import (
    Instance,
    InstanceDefaults,
    InstancesError,
    instance_in_nodeid,
    instances_for_cluster_types,
    load_instances,
)
from nautes_e2e.plugin.matrix_file import read_rerun, worst_exit_code
from nautes_e2e.plugin.xdist import ChainScheduling
from nautes_e2e.report.exit_codes import ExitCode

pytest_plugins = ["pytester"]


@pytest.fixture
def defaults(tmp_path: Path) -> InstanceDefaults:
    return InstanceDefaults("physical", None, tmp_path)


def matrix_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "matrix.yaml"
    path.write_text(text)
    return path


def test_a_matrix_file_gives_each_instance_its_options(tmp_path: Path, defaults: InstanceDefaults) -> None:
    (tmp_path / "other").mkdir()
    path = matrix_file(
        tmp_path,
        "instances:\n  - {name: p, suffix: s1}\n  - {name: v, clusterType: virtual, scenarioDir: other}\n",
    )

    assert load_instances(path, defaults) == (
        Instance("p", "physical", "s1", tmp_path),
        Instance("v", "virtual", "v", (tmp_path / "other").resolve()),
    )


def test_an_instance_suffix_defaults_to_the_run_suffix_and_its_name(tmp_path: Path) -> None:
    path = matrix_file(tmp_path, "instances: [{name: p}]\n")

    assert load_instances(path, InstanceDefaults("virtual", "ci", tmp_path))[0].suffix == "ci-p"
    assert load_instances(path, InstanceDefaults("virtual", "ci", tmp_path))[0].cluster_type == "virtual"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("instances: []\n", "instances: must be a non-empty list"),
        ("instances: [{name: a}, {name: a}]\n", "instances[1].name: duplicate instance name a"),
        ("instances: [{name: A_1}]\n", "instances[0].name: must be lowercase letters, digits and inner "
         "dashes, not 'A_1'"),
        ("instances: [{name: a, suffix: x_y}]\n", "instances[0].suffix: must be lowercase letters"),
        ("instances: [{name: a, clusterType: vcluster}]\n", "instances[0].clusterType: must be 'physical' or "
         "'virtual'"),
        ("instances: [{name: a, sufix: b}]\n", "instances[0].sufix: unknown key"),
        ("instances: [{name: a, suffix: b}, {name: b}]\n", "instances[1].suffix: instance b has the suffix "
         "'b' of instance a"),
        ("instances: [{name: a, scenarioDir: nowhere}]\n", "instances[0].scenarioDir: no such directory"),
        ("instances: [{name: a}\n", "not valid YAML at line 2"),
    ],
)  # fmt: skip
def test_a_bad_matrix_file_is_refused_naming_file_field_and_value(
    tmp_path: Path, defaults: InstanceDefaults, text: str, error: str
) -> None:
    path = matrix_file(tmp_path, text)

    with pytest.raises(InstancesError) as raised:
        load_instances(path, defaults)

    assert str(raised.value).startswith(f"{path}: ")
    assert error in str(raised.value)


def test_a_cluster_type_list_is_one_instance_per_type(defaults: InstanceDefaults, tmp_path: Path) -> None:
    assert instances_for_cluster_types("physical,virtual", defaults) == (
        Instance("physical", "physical", "physical", tmp_path),
        Instance("virtual", "virtual", "virtual", tmp_path),
    )
    with pytest.raises(InstancesError, match=r"not 'vcluster' \(item 2 of 'physical,vcluster'\)"):
        instances_for_cluster_types("physical,vcluster", defaults)
    with pytest.raises(InstancesError, match="names 'virtual' twice"):
        instances_for_cluster_types("virtual,virtual", defaults)


def test_an_instance_is_found_by_the_start_of_its_test_id() -> None:
    names = ["a", "a-b", "virtual"]
    assert instance_in_nodeid("suites/q/test_q.py::test_preflight[a]", names) == "a"
    assert instance_in_nodeid("suites/q/test_q.py::test_refusal[a-b-bad-name]", names) == "a-b"
    assert instance_in_nodeid("suites/q/test_q.py::test_refusal[virtual-case]", names) == "virtual"
    assert instance_in_nodeid("suites/q/test_q.py::test_refusal[other]", names) is None
    assert instance_in_nodeid("suites/q/test_q.py::test_preflight", names) is None


def test_the_scheduler_keeps_an_instance_of_a_module_together() -> None:
    scheduling = ChainScheduling.__new__(ChainScheduling)  # its scope needs nothing of a live session
    scheduling.instances = ["physical", "virtual"]

    scopes = {
        scheduling._split_scope(f"suites/q/test_q.py::{test}[{name}]")
        for test in ("test_preflight", "test_push")
        for name in ("physical", "virtual")
    }

    assert scopes == {"suites/q/test_q.py[physical]", "suites/q/test_q.py[virtual]"}
    assert scheduling._split_scope("suites/q/test_q.py::test_preflight") == "suites/q/test_q.py"


def test_the_worst_instance_decides_the_exit_code() -> None:
    assert worst_exit_code([ExitCode.PASSED, ExitCode.FAILED]) == ExitCode.FAILED
    assert worst_exit_code([ExitCode.FAILED, ExitCode.CONFIGURATION_ERROR]) == ExitCode.CONFIGURATION_ERROR
    assert worst_exit_code([ExitCode.CONFIGURATION_ERROR, ExitCode.INTERRUPTED]) == ExitCode.INTERRUPTED
    assert worst_exit_code([]) == ExitCode.PASSED


CHAIN = """
import pytest

@pytest.mark.stage("preflight")
def test_preflight(stage, e2e_run):
    stage.fact("suffix", e2e_run.options.suffix)

@pytest.mark.stage("register_cluster", needs=("preflight",))
def test_register_cluster(stage, e2e_run):
    if e2e_run.options.instance == "bad":
        stage.fail("GET cluster physical-worker-bad answered 404")
"""


def run_dir(pytester: pytest.Pytester) -> Path:
    return pytester.path / "reports" / "run"


def matrix_json(pytester: pytest.Pytester) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((run_dir(pytester) / "matrix.json").read_text())
    return document


def test_each_instance_is_judged_and_reported_on_its_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_chain=CHAIN)
    pytester.makefile(".yaml", matrix="instances: [{name: good}, {name: bad, suffix: b2}]\n")

    result = pytester.runpytest("--run-id", "run", "--instances", "matrix.yaml")

    assert result.ret == ExitCode.FAILED
    result.assert_outcomes(passed=3, failed=1)
    document = matrix_json(pytester)
    assert [(entry["name"], entry["result"], entry["exit_code"]) for entry in document["instances"]] == [
        ("good", "passed", 0),
        ("bad", "failed", 1),
    ]
    assert document["run"]["exit_code"] == 1
    for name, suffix in (("good", "good"), ("bad", "b2")):
        report = json.loads((run_dir(pytester) / "instances" / name / "report.json").read_text())
        assert report["facts"]["suffix"] == suffix
        instance = report["instance"]
        assert (instance["name"], instance["suffix"]) == (name, suffix)
        assert [stage["test_id"] for stage in report["stages"]] == [
            f"test_chain.py::test_preflight[{name}]",
            f"test_chain.py::test_register_cluster[{name}]",
        ]
    assert "| register_cluster |" in (run_dir(pytester) / "summary.md").read_text()
    result.stdout.fnmatch_lines(
        [
            "*= nautes-e2e instances: bad did not pass =*",
            "stage *good*bad",
            "register_cluster *passed*failed",
            "*- instance bad: failed -*",
            "register_cluster: GET cluster physical-worker-bad answered 404",
        ]
    )


def test_a_rerun_runs_the_failed_instances_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_chain=CHAIN)
    pytester.makefile(".yaml", matrix="instances: [{name: good}, {name: bad}]\n")
    pytester.runpytest("--run-id", "run", "--instances", "matrix.yaml")

    result = pytester.runpytest("--run-id", "again", "--rerun-failed", "reports/run")

    result.assert_outcomes(passed=1, failed=1)
    again = json.loads((pytester.path / "reports" / "again" / "matrix.json").read_text())
    assert [entry["name"] for entry in again["instances"]] == ["bad"]
    assert again["run"]["rerun_of"] == str(run_dir(pytester) / "matrix.json")


def test_instances_and_a_cluster_type_list_together_are_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_chain=CHAIN)
    pytester.makefile(".yaml", matrix="instances: [{name: good}]\n")

    result = pytester.runpytest("--instances", "matrix.yaml", "--cluster-type", "physical,virtual")

    assert result.ret == ExitCode.CONFIGURATION_ERROR
    result.stderr.fnmatch_lines(["*give one of --instances and a list of --cluster-type, not both*"])
    assert not (pytester.path / "reports").exists()


def test_a_rerun_of_a_run_that_passed_has_nothing_to_do(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"run": {"result": "passed"}, "stages": []}))

    assert read_rerun(tmp_path, tmp_path).nothing_failed


def test_a_rerun_of_a_run_of_one_takes_its_command_line_options(tmp_path: Path) -> None:
    run = {"result": "failed", "command_line": "pytest suites/quickstart --suffix x1 --cluster-type virtual"}
    (tmp_path / "report.json").write_text(json.dumps({"run": run, "stages": []}))

    single = read_rerun(tmp_path / "report.json", tmp_path).single

    assert single is not None
    assert (single.suffix, single.cluster_type, single.scenario_dir) == ("x1", "virtual", None)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "holds neither matrix.json nor report.json"),
        ("{", "report.json: not a JSON document"),
        ("[]", "report.json: not a JSON object"),
        ('{"schema_version": 2}', "report.json is neither a matrix.json nor a report.json"),
    ],
)
def test_what_is_no_report_or_matrix_is_refused_naming_the_file(
    tmp_path: Path, content: str | None, error: str
) -> None:
    if content is not None:
        (tmp_path / "report.json").write_text(content)

    with pytest.raises(InstancesError, match=f"--rerun-failed: {tmp_path}"):
        read_rerun(tmp_path, tmp_path)
    with pytest.raises(InstancesError) as raised:
        read_rerun(tmp_path, tmp_path)
    assert error in str(raised.value)


def test_a_stage_marked_on_a_parametrized_case_runs_in_each_instance(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_cases="""
        import pytest

        @pytest.mark.parametrize("case", [pytest.param("x", marks=pytest.mark.stage("refuses-x"))])
        def test_refused(case, stage):
            stage.fact("case", case)
        """
    )

    result = pytester.runpytest("--run-id", "run", "--cluster-type", "physical,virtual")

    result.assert_outcomes(passed=2)
    for name in ("physical", "virtual"):
        report = json.loads((run_dir(pytester) / "instances" / name / "report.json").read_text())
        assert [stage["test_id"] for stage in report["stages"]] == [f"test_cases.py::test_refused[{name}-x]"]


def test_a_rerun_of_a_failed_run_of_one_runs_it_again_with_its_suffix(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_chain=CHAIN.replace('== "bad"', "is None and e2e_run.options.suffix == 'bad'"))
    pytester.runpytest("--run-id", "run", "--suffix", "bad")

    result = pytester.runpytest("--run-id", "again", "--rerun-failed", "reports/run/report.json")

    result.assert_outcomes(passed=1, failed=1)
    again = json.loads((pytester.path / "reports" / "again" / "report.json").read_text())
    assert again["facts"]["suffix"] == "bad"
    assert not (pytester.path / "reports" / "again" / "matrix.json").exists(), "a run of one stays one"


def test_a_rerun_when_nothing_failed_says_so_and_exits_0(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_chain=CHAIN)
    pytester.makefile(".yaml", matrix="instances: [{name: good}]\n")
    pytester.runpytest("--run-id", "run", "--instances", "matrix.yaml")

    result = pytester.runpytest("--run-id", "again", "--rerun-failed", "reports/run")

    assert result.ret == ExitCode.PASSED
    result.stderr.fnmatch_lines(["*nautes-e2e: nothing to rerun: everything */matrix.json reports passed*"])
    assert not (pytester.path / "reports" / "again").exists()


def test_a_rerun_of_a_file_that_is_no_report_exits_4_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_chain=CHAIN)
    pytester.makefile(".json", notes='{"hello": 1}')

    result = pytester.runpytest("--rerun-failed", "notes.json")

    assert result.ret == ExitCode.CONFIGURATION_ERROR
    result.stderr.fnmatch_lines(["*--rerun-failed: */notes.json is neither a matrix.json nor a report.json*"])


def test_an_instance_report_tells_its_own_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_chain="""
        import time
        import pytest

        @pytest.mark.stage("preflight")
        def test_preflight(stage, e2e_run):
            time.sleep(0.3 if e2e_run.options.instance == "slow" else 0)
        """
    )

    pytester.makefile(".yaml", matrix="instances: [{name: slow}, {name: quick}]\n")
    pytester.runpytest("--run-id", "run", "--instances", "matrix.yaml")

    def duration(name: str) -> float:
        report = json.loads((run_dir(pytester) / "instances" / name / "report.json").read_text())
        return float(report["run"]["duration_s"])

    assert duration("slow") >= 0.3
    assert duration("quick") < 0.3, "the other instance's time is not its own"
