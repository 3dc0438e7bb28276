"""The exit codes of a run (pytester): 0 passed, 1 a stage failed, 2 interrupted, 3 a harness bug, 4 a
configuration or usage error, 5 nothing collected — and what the terminal and report.json say in each case.

The configuration errors are raised where the real ones are: in a session fixture, the way the ``world``
and ``scenario`` fixtures raise a bad target file or scenario at the setup of the first stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.plugin.errors import configuration_error
from nautes_e2e.report import ExitCode
from nautes_e2e.scenario import ScenarioError
from nautes_e2e.targets import TargetError, TargetFileError
from nautes_e2e.worlds.settings import WorldConfigError

pytest_plugins = ["pytester"]

TARGET_PROBLEM = (
    "/ci/job/target.yaml: gitlab.tokenEnv: environment variable NAUTES_E2E_GITLAB_TOKEN is not set"
)

#: Two stages; the first asks for a session fixture ``world`` that the test replaces with ``RAISE``.
SUITE = """
import pytest
from nautes_e2e.scenario import ScenarioError
from nautes_e2e.targets import TargetError, TargetFileError
from nautes_e2e.targets.cluster import PreflightError
from nautes_e2e.worlds.settings import WorldConfigError


@pytest.fixture(scope="session")
def world(e2e_run):
    RAISE


@pytest.mark.stage("preflight")
def test_preflight(stage, world):
    stage.fact("target", "existing")


@pytest.mark.stage("register_cluster", needs=("preflight",))
def test_register_cluster(stage, world):
    pass
"""


def run_suite(pytester: pytest.Pytester, raise_line: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_suite=SUITE.replace("RAISE", raise_line))
    return pytester.runpytest("--run-id", "run", *args)


def report(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "reports" / "run" / "report.json").read_text())
    return data


def report_run(pytester: pytest.Pytester) -> dict[str, Any]:
    run: dict[str, Any] = report(pytester)["run"]
    return run


def errors_section(result: pytest.RunResult) -> list[str]:
    """The lines pytest prints under ``ERRORS`` (up to the next ``===`` line)."""
    lines = result.outlines
    start = next(index for index, line in enumerate(lines) if " ERRORS " in line)
    end = next(index for index in range(start + 1, len(lines)) if lines[index].startswith("==="))
    return lines[start + 1 : end]


def test_the_codes_are_pytest_s_numbers() -> None:
    ours = {code.name: int(code) for code in ExitCode}
    pytest_s = {code.name: int(code) for code in pytest.ExitCode}
    assert list(ours.values()) == [0, 1, 2, 3, 4, 5]
    assert [pytest_s[name] for name in ("OK", "TESTS_FAILED", "INTERRUPTED")] == [0, 1, 2]
    assert [pytest_s[name] for name in ("INTERNAL_ERROR", "USAGE_ERROR", "NO_TESTS_COLLECTED")] == [3, 4, 5]


def test_every_stage_passed_exits_0(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "return 'a world'")

    assert result.ret == 0
    assert report_run(pytester)["result"] == "passed"
    assert report_run(pytester)["exit_code"] == 0


def test_a_failed_stage_exits_1(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_suite="""
        import pytest

        @pytest.mark.stage("preflight")
        def test_preflight(stage):
            stage.fail("GET /api/v1/clusters answered 500")
        """
    )

    result = pytester.runpytest("--run-id", "run")

    assert result.ret == 1
    run = report_run(pytester)
    assert (run["result"], run["exit_code"], run["error"]) == ("failed", 1, None)
    result.stdout.fnmatch_lines(["preflight: GET /api/v1/clusters answered 500"])


@pytest.mark.parametrize(
    ("raise_line", "problem"),
    [
        (f"raise TargetFileError({TARGET_PROBLEM!r})", TARGET_PROBLEM),
        (
            "raise ScenarioError('scenarios/x/scenario.yaml: name: must be a non-empty string')",
            "scenario.yaml: name",
        ),
        ("raise WorldConfigError('world.yaml: ports.kubeApi: must be an integer')", "ports.kubeApi"),
        (
            "raise PreflightError('preflight of the k3d world failed; nothing was created:\\n  - k3d: no')",
            "k3d",
        ),
    ],
    ids=["target-file", "scenario", "world-config", "preflight"],
)
def test_a_configuration_error_exits_4_with_its_message_and_no_traceback(
    pytester: pytest.Pytester, raise_line: str, problem: str
) -> None:
    result = run_suite(pytester, raise_line)

    assert result.ret == ExitCode.CONFIGURATION_ERROR
    section = errors_section(result)
    assert section[0].startswith("___")
    assert "ERROR at setup of test_preflight" in section[0]
    assert section[1].startswith("configuration error: ")
    assert problem in section[1]
    assert len(section) <= 3, "the message, not a traceback through the fixtures"
    assert not any(line.startswith(("E   ", ">   ", "Traceback")) for line in result.outlines)
    run = report_run(pytester)
    assert (run["result"], run["exit_code"], run["error"]["kind"]) == ("error", 4, "configuration")
    assert problem in run["error"]["message"]


def test_a_configuration_error_re_raised_by_a_target_is_still_one(pytester: pytest.Pytester) -> None:
    """The k3d/kind targets re-raise a bad world config as their own TargetError ``from None``."""
    raise_line = (
        "try:\n"
        "        raise WorldConfigError('world.yaml: ports.kubeApi: must be an integer')\n"
        "    except WorldConfigError as error:\n"
        "        raise TargetError(str(error)) from None"
    )

    result = run_suite(pytester, raise_line)

    assert result.ret == 4
    assert report_run(pytester)["error"]["message"] == "world.yaml: ports.kubeApi: must be an integer"


def test_configuration_error_is_found_in_the_chain_only() -> None:
    plain = TargetError("the reference stack did not start")
    assert configuration_error(plain) is None
    cause = WorldConfigError("world.yaml: name: too long")
    wrapped = TargetError("the world config is invalid")
    wrapped.__context__ = cause
    assert configuration_error(wrapped) is cause
    assert configuration_error(ScenarioError("x")) is not None
    assert configuration_error(TargetFileError("x")) is not None


def test_a_multi_line_configuration_error_is_listed_whole_under_the_table(pytester: pytest.Pytester) -> None:
    problems = f"{TARGET_PROBLEM}\\n/ci/job/target.yaml: clusters: must be a non-empty list"

    result = run_suite(pytester, f"raise TargetFileError('{problems}')")

    assert result.ret == 4
    result.stdout.fnmatch_lines(
        [
            "*= nautes-e2e stages: error (configuration) =*",
            "stage *status *duration  details",
            "preflight *error *",
            "register_cluster *skipped *blocked by preflight",
            "configuration error (exit 4):",
            f"  {TARGET_PROBLEM}",
            "  /ci/job/target.yaml: clusters: must be a non-empty list",
            "reports: *",
        ]
    )


def test_a_configuration_error_next_to_a_failed_stage_exits_1(pytester: pytest.Pytester) -> None:
    """A stage that found the world broken wins: 4 promises that only the configuration went wrong."""
    pytester.makepyfile(
        test_suite=f"""
        import pytest
        from nautes_e2e.targets import TargetFileError

        @pytest.fixture(scope="session")
        def world():
            raise TargetFileError({TARGET_PROBLEM!r})

        @pytest.mark.stage("preflight")
        def test_preflight(stage):
            stage.fail("GitLab answered 502")

        @pytest.mark.stage("register_cluster")
        def test_register_cluster(stage, world):
            pass
        """
    )

    result = pytester.runpytest("--run-id", "run")

    assert result.ret == 1
    assert (report_run(pytester)["result"], report_run(pytester)["error"]) == ("failed", None)


def test_a_configuration_error_next_to_a_failed_plain_test_exits_1(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="def test_plain():\n    assert False\n",
    )

    result = run_suite(pytester, f"raise TargetFileError({TARGET_PROBLEM!r})")

    assert result.ret == 1
    assert report_run(pytester)["result"] == "failed"


def test_a_bring_up_step_that_fails_on_the_configuration_keeps_exit_4(pytester: pytest.Pytester) -> None:
    """The k3d/kind preflight is a recorded ``world-preflight`` step, failed with the same text the target
    then raises; that step is the configuration error too, not a second failure."""
    message = "preflight of the kind world failed; nothing was created:\\n  - kind: not installed"
    raise_line = (
        "with e2e_run.recorder.stage('world-preflight'):\n"
        f"        raise RuntimeError('{message}')\n"
        f"    raise PreflightError('{message}')"
    )

    result = run_suite(pytester, raise_line)

    assert result.ret == 4
    run = report_run(pytester)
    assert run["error"]["kind"] == "configuration"
    stages = {stage["name"]: stage["status"] for stage in report(pytester)["stages"]}
    assert stages["world-preflight"] == "failed"


def test_under_xdist_a_configuration_error_still_exits_4(pytester: pytest.Pytester) -> None:
    """The error's text travels from the worker on the test report (exceptions do not)."""
    pytester.makepyfile(test_suite=SUITE.replace("RAISE", f"raise TargetFileError({TARGET_PROBLEM!r})"))

    result = pytester.runpytest_subprocess("-n", "1", "--run-id", "run")

    assert result.ret == 4
    assert report_run(pytester)["error"]["message"] == TARGET_PROBLEM


def test_an_interrupted_run_exits_2_and_reports_interrupted(pytester: pytest.Pytester) -> None:
    result_file = pytester.makepyfile(
        test_suite="""
        import pytest

        @pytest.mark.stage("preflight")
        def test_preflight(stage):
            raise KeyboardInterrupt
        """
    )
    assert result_file.exists()

    # A subprocess: in-process, the interrupt would stop this test run too.
    result = pytester.runpytest_subprocess("--run-id", "run")

    assert result.ret == ExitCode.INTERRUPTED
    run = report_run(pytester)
    assert (run["result"], run["exit_code"], run["error"]) == ("interrupted", 2, None)
    result.stdout.fnmatch_lines(["*= nautes-e2e stages: interrupted =*"])


def test_a_crash_of_the_harness_exits_3_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_runtest_logfinish(nodeid, location):
            raise RuntimeError("a bug in a hook")
        """
    )
    pytester.makepyfile(
        test_suite="""
        import pytest

        @pytest.mark.stage("preflight")
        def test_preflight(stage):
            pass
        """
    )

    result = pytester.runpytest_subprocess("--run-id", "run")

    assert result.ret == ExitCode.HARNESS_ERROR
    run = report_run(pytester)
    assert (run["result"], run["exit_code"]) == ("error", 3)
    assert run["error"] == {"kind": "harness", "message": "RuntimeError: a bug in a hook"}


def test_nothing_collected_exits_5_without_a_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite="def helper():\n    pass\n")

    result = pytester.runpytest("--run-id", "run")

    assert result.ret == ExitCode.NO_TESTS
    assert not (pytester.path / "reports" / "run").exists()


def test_a_bad_option_exits_4_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE.replace("RAISE", "return 'a world'"))

    result = pytester.runpytest_subprocess("--suffix", "Not_Valid")

    assert result.ret == ExitCode.CONFIGURATION_ERROR
    assert [line for line in result.errlines if line.strip()] == [
        "ERROR: --suffix must be lowercase letters, digits and inner dashes (it ends up in Kubernetes "
        "namespaces and GitLab paths), not 'Not_Valid'"
    ]


def test_a_narrow_terminal_still_shows_the_field(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table cuts the diagnosis to fit 60 columns; the line under it does not."""
    monkeypatch.setenv("COLUMNS", "60")
    long_path = "/builds/group/project/ci-artifacts/job-123456/worlds/nightly/target.yaml"
    problem = f"{long_path}: registry.passwordEnv: give both usernameEnv and passwordEnv, or neither"

    result = run_suite(pytester, f"raise TargetFileError({problem!r})")

    table_row = next(line for line in result.outlines if line.startswith("preflight "))
    assert table_row.endswith("…"), "the table cuts the diagnosis"
    assert "passwordEnv" not in table_row
    assert f"configuration error (exit 4): {problem}" in result.outlines
    assert Path(long_path).name in report_run(pytester)["error"]["message"]


STACK_BUG_SUITE = """
import pytest
from nautes_e2e.plugin.errors import STACK_BUGS_FACT


@pytest.fixture(scope="session")
def world(e2e_run):
    yield "a world"
    # What the world fixture records when the stack's log names a bug of its own (Target.stack_bugs).
    e2e_run.recorder.facts[STACK_BUGS_FACT] = ["Pod events stopped: KeyError('lastTransitionTime')"]


@pytest.mark.stage("preflight")
def test_preflight(stage, world):
    pass
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "1"]], ids=["in-process", "xdist-worker"])
def test_a_world_whose_stack_hit_a_bug_of_its_own_exits_3_whatever_the_stages_said(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makepyfile(test_suite=STACK_BUG_SUITE)

    result = pytester.runpytest_subprocess("--run-id", "run", *xdist)

    assert result.ret == ExitCode.HARNESS_ERROR
    run = report_run(pytester)
    assert (run["result"], run["exit_code"], run["error"]["kind"]) == ("error", 3, "harness")
    assert run["error"]["message"].startswith("the embedded reference stack hit a bug of its own")
    assert "Pod events stopped: KeyError('lastTransitionTime')" in run["error"]["message"]
    assert report(pytester)["stages"][0]["status"] == "passed"
