"""The reports a run writes (pytester): report.json, junit.xml, summary.md, evidence and the terminal table,
and that a planted secret appears in none of them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

PLANTED = "glpat-PLANTED-secret-4f1c9e"

SUITE = f"""
import pytest
from nautes_e2e.report import ScenarioSummary, TargetSummary
from nautes_e2e.scenario import Note
from nautes_e2e.secrets import Secret

TOKEN = Secret({PLANTED!r})


@pytest.fixture(scope="session", autouse=True)
def described(e2e_run):
    e2e_run.recorder.describe_target(TargetSummary(
        name="local", simulated=True,
        endpoints={{
            "nautes": "http://127.0.0.1:8000",
            "gitlab": "http://oauth2:" + TOKEN.reveal() + "@127.0.0.1:8001",
        }},
    ))
    e2e_run.recorder.describe_scenario(ScenarioSummary(
        name="quickstart",
        notes=(Note(topic="Cluster", quickstart="usage: worker", behaviour="also needs workerType",
                            source="contract §2.6.1"),),
    ))


@pytest.mark.stage("preflight")
def test_preflight(stage):
    stage.fact("gitlab_user", "root")
    stage.fact("repo_ids", {{"coderepo-sc-demo": 57}})
    stage.fact("token_echo", TOKEN.reveal())
    stage.note("the API server answered without TLS; token " + TOKEN.reveal())
    stage.progress("GET /api/v1/clusters with Bearer " + TOKEN.reveal())
    stage.evidence("headers", "Authorization: Bearer " + TOKEN.reveal())
    stage.evidence("reply", {{"token": TOKEN.reveal(), "user": "root"}})
    stage.evidence("raw.bin", b"\\x00" + TOKEN.reveal().encode())


@pytest.mark.stage("register_cluster", needs=("preflight",))
def test_register_cluster(stage):
    stage.fact("cluster", "physical-worker-quickstart")
    stage.fail(
        "POST cluster answered 500 for token " + TOKEN.reveal(),
        error_body={{"message": TOKEN.reveal()}},
    )


@pytest.mark.stage("initialise_product", needs=("register_cluster",))
def test_initialise_product(stage):
    pass


@pytest.mark.stage("registry_ping", needs=("preflight",))
def test_registry_ping(stage):
    assert False, "registry refused " + TOKEN.reveal()
"""


@pytest.fixture
def run(pytester: pytest.Pytester) -> tuple[pytest.RunResult, Path]:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("--run-id", "run", "--deselect", PLANTED, "--keep-env")
    return result, pytester.path / "reports" / "run"


def load_report(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return data


def test_report_json_holds_the_run_target_scenario_stages_facts_and_environment(
    run: tuple[pytest.RunResult, Path],
) -> None:
    result, run_dir = run
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    report = load_report(run_dir)

    assert report["schema_version"] == 2
    assert report["run"]["id"] == "run"
    assert report["run"]["result"] == "failed"
    assert report["run"]["exit_code"] == result.ret == 1
    assert report["run"]["error"] is None
    assert report["run"]["kept_environment"] is True
    assert report["run"]["started"].endswith("Z")
    assert report["run"]["finished"] >= report["run"]["started"]
    assert report["run"]["duration_s"] >= 0
    assert report["run"]["command_line"].startswith("pytest --run-id run --deselect *** --keep-env")
    assert report["target"] == {
        "name": "local",
        "simulated": True,
        "endpoints": {"nautes": "http://127.0.0.1:8000", "gitlab": "http://oauth2:***@127.0.0.1:8001"},
    }
    assert report["scenario"]["name"] == "quickstart"
    assert report["scenario"]["notes"] == [
        {
            "topic": "Cluster",
            "quickstart": "usage: worker",
            "behaviour": "also needs workerType",
            "source": "contract §2.6.1",
        }
    ]
    preflight, register, initialise, registry = report["stages"]
    assert preflight["status"] == "passed"
    assert preflight["facts"] == {
        "gitlab_user": "root",
        "repo_ids": {"coderepo-sc-demo": 57},
        "token_echo": "***",
    }
    assert preflight["evidence"] == [
        "evidence/preflight/headers.txt",
        "evidence/preflight/reply.json",
        "evidence/preflight/raw.bin",
    ]
    assert preflight["start"].endswith("Z")
    assert preflight["attempts"] == 1
    assert preflight["notes"] == ["the API server answered without TLS; token ***"]
    assert register["status"] == "failed"
    assert register["diagnosis"] == "POST cluster answered 500 for token ***"
    assert register["evidence"] == ["evidence/register_cluster/error_body.json"]
    assert initialise["status"] == "skipped"
    assert initialise["skip_reason"] == "blocked by register_cluster"
    assert registry["status"] == "failed"
    assert registry["diagnosis"].startswith("AssertionError: registry refused ***")
    assert report["facts"] == {
        "gitlab_user": "root",
        "repo_ids": {"coderepo-sc-demo": 57},
        "token_echo": "***",
        "cluster": "physical-worker-quickstart",
    }
    assert report["environment"]["pytest"] == metadata.version("pytest")
    assert report["environment"]["python-gitlab"] == metadata.version("python-gitlab")
    assert {"python", "platform", "kubernetes", "hvac", "aiohttp"} <= set(report["environment"])
    for stage in report["stages"]:
        for path in stage["evidence"]:
            assert (run_dir / path).is_file()


def test_junit_has_one_testcase_per_stage_with_outcome_and_facts(run: tuple[pytest.RunResult, Path]) -> None:
    _, run_dir = run
    suite = ET.parse(run_dir / "junit.xml").getroot().find("testsuite")
    assert suite is not None

    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        "quickstart",
        "4",
        "2",
        "1",
    )
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["preflight", "register_cluster", "initialise_product", "registry_ping"]
    preflight_facts = {p.get("name"): p.get("value") for p in cases["preflight"].iter("property")}
    assert preflight_facts == {
        "gitlab_user": "root",
        "repo_ids": '{"coderepo-sc-demo":57}',
        "token_echo": "***",
    }
    failure = cases["register_cluster"].find("failure")
    assert failure is not None
    assert failure.get("message") == "POST cluster answered 500 for token ***"
    assert "evidence: evidence/register_cluster/error_body.json" in (failure.text or "")
    skipped = cases["initialise_product"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "blocked by register_cluster"
    assert float(cases["preflight"].get("time") or -1) >= 0


def test_summary_has_the_stage_table_the_diagnosis_and_the_notes(run: tuple[pytest.RunResult, Path]) -> None:
    _, run_dir = run
    summary = (run_dir / "summary.md").read_text()

    assert summary.startswith("## nautes-e2e quickstart on `local` (simulated): failed")
    assert "environment kept (--keep-env)" in summary
    assert "| stage | status | duration | details |" in summary
    assert "| preflight | ✅ passed |" in summary
    assert "| initialise_product | ⏭️ skipped | 0.0 s | blocked by register_cluster |" in summary
    assert "**register_cluster** (failed)\n\n```text\nPOST cluster answered 500 for token ***\n```" in summary
    assert "- **preflight**: the API server answered without TLS; token ***" in summary
    assert "- **Cluster**: the quickstart says usage: worker; v0.4.x also needs workerType" in summary


def test_the_terminal_ends_with_the_stage_table_then_each_failed_stage_s_diagnosis(
    run: tuple[pytest.RunResult, Path],
) -> None:
    result, run_dir = run

    result.stdout.fnmatch_lines(
        [
            "*= nautes-e2e stages: failed =*",
            "stage *status *duration  details",
            "preflight *passed *s  gitlab_user=root, repo_ids=*",
            "register_cluster *failed *s  POST cluster answered 500 for token ***",
            "initialise_product *skipped *s  blocked by register_cluster",
            "registry_ping *failed *s  AssertionError: registry refused ***",
            "register_cluster: POST cluster answered 500 for token ***",
            "registry_ping: AssertionError: registry refused ***",
            f"reports: {run_dir}",
        ]
    )
    result.stdout.fnmatch_lines(["[[]preflight *s[]] GET /api/v1/clusters with Bearer ***"])


def test_a_planted_secret_appears_in_no_report_file(run: tuple[pytest.RunResult, Path]) -> None:
    result, run_dir = run
    files = [path for path in run_dir.rglob("*") if path.is_file()]

    assert {path.relative_to(run_dir).as_posix() for path in files} >= {
        "report.json",
        "junit.xml",
        "summary.md",
        "evidence/preflight/headers.txt",
        "evidence/preflight/reply.json",
        "evidence/preflight/raw.bin",
        "evidence/register_cluster/error_body.json",
    }
    for path in files:
        content = path.read_bytes()
        assert PLANTED.encode() not in content, f"{path} leaks the planted secret"
        assert b"***" in content, f"{path} should hold the masked value"
    progress_and_table = [line for line in result.outlines if line.startswith(("[preflight", "preflight "))]
    assert progress_and_table
    assert not any(PLANTED in line for line in progress_and_table)


def test_reports_dir_and_header(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_one="import pytest\n\n@pytest.mark.stage('preflight')\ndef test_one(stage): pass\n"
    )

    result = pytester.runpytest("--reports-dir", "out/reports", "--run-id", "r1", "--target", "local")

    result.assert_outcomes(passed=1)
    run_dir = pytester.path / "out" / "reports" / "r1"
    result.stdout.fnmatch_lines([f"nautes-e2e: target local, reports in {run_dir}"])
    assert load_report(run_dir)["run"]["result"] == "passed"
    assert not (pytester.path / "reports").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run-id", "../elsewhere"], "*--run-id must be one folder name*"),
        (["--target", "existing"], "*--target existing needs --target-file PATH*"),
        (["--stage-timeout", "0"], "*--stage-timeout must be positive, not 0*"),
        (["--suffix", "Demo_X"], "*--suffix must be lowercase letters, digits and inner dashes*'Demo_X'*"),
        (["--suffix", "x-"], "*--suffix must be lowercase letters, digits and inner dashes*'x-'*"),
        (["--target", "minikube"], "*argument --target: invalid choice: 'minikube'*"),
    ],
)
def test_bad_options_are_usage_errors(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    result = pytester.runpytest(*args)

    assert result.ret in (pytest.ExitCode.USAGE_ERROR, 4)
    result.stderr.fnmatch_lines([message])
