"""How long a stage waits: its marker's ``timeout_s`` (a real installation's pace), replaced by the world's
``timeouts.stages``, both replaced by ``--stage-timeout``."""

from __future__ import annotations

import json

import pytest

from nautes_e2e.stages.timeouts import FALLBACK_TIMEOUT_S, MINIMUM_TIMEOUT_S, StageTimeouts

pytest_plugins = ["pytester"]

TIMED_STAGES = """
import pytest

@pytest.mark.stage("declared", timeout_s=900)
def test_declared(stage):
    stage.fact("declared", stage.timeout_s)

@pytest.mark.stage("undeclared")
def test_undeclared(stage):
    stage.fact("undeclared", stage.timeout_s)
"""


def test_the_world_replaces_a_declared_default_and_the_command_line_replaces_both() -> None:
    timeouts = StageTimeouts()
    timeouts.declare("initialise_product", 900)
    assert timeouts.for_stage("initialise_product") == 900
    assert timeouts.for_stage("anything_else") == FALLBACK_TIMEOUT_S

    timeouts.use_world({"initialise_product": 20})
    assert timeouts.for_stage("initialise_product") == 20

    timeouts.override_s = 5
    assert timeouts.for_stage("initialise_product") == 5
    assert timeouts.for_stage("anything_else") == 5


def test_a_faster_world_scales_the_declared_defaults_but_never_below_a_minute() -> None:
    timeouts = StageTimeouts()
    timeouts.declare("pipelinerun_succeeded", 1800)
    timeouts.declare("preflight", 60)
    timeouts.use_world({}, scale=0.1)
    assert timeouts.for_stage("pipelinerun_succeeded") == 180
    assert timeouts.for_stage("preflight") == MINIMUM_TIMEOUT_S
    assert timeouts.for_stage("undeclared") == MINIMUM_TIMEOUT_S

    timeouts.use_world({}, scale=2)  # a slower world: twice every default, no floor needed
    assert timeouts.for_stage("pipelinerun_succeeded") == 3600
    assert timeouts.for_stage("undeclared") == 2 * FALLBACK_TIMEOUT_S


def test_the_world_s_own_value_for_a_stage_is_not_scaled() -> None:
    timeouts = StageTimeouts()
    timeouts.declare("initialise_product", 900)
    timeouts.use_world({"initialise_product": 20}, scale=0.01)
    assert timeouts.for_stage("initialise_product") == 20


def facts_of(pytester: pytest.Pytester) -> dict[str, float]:
    report = json.loads((pytester.path / "reports" / "run" / "report.json").read_text())
    return dict(report["facts"])


def test_a_stage_waits_as_long_as_its_marker_says(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_timed=TIMED_STAGES)

    pytester.runpytest("--run-id", "run").assert_outcomes(passed=2)

    assert facts_of(pytester) == {"declared": 900.0, "undeclared": FALLBACK_TIMEOUT_S}


def test_stage_timeout_on_the_command_line_replaces_every_stage_s_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_timed=TIMED_STAGES)

    pytester.runpytest("--run-id", "run", "--stage-timeout", "7").assert_outcomes(passed=2)

    assert facts_of(pytester) == {"declared": 7.0, "undeclared": 7.0}


@pytest.mark.parametrize("bad", ["0", "-3", "'soon'", "True"])
def test_a_marker_with_a_bad_timeout_is_a_usage_error(pytester: pytest.Pytester, bad: str) -> None:
    pytester.makepyfile(
        test_bad=f"""
        import pytest

        @pytest.mark.stage("bad", timeout_s={bad})
        def test_bad(stage):
            pass
        """
    )

    result = pytester.runpytest("--run-id", "run")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*use @pytest.mark.stage('name', needs=('stage', ...), timeout_s=SECONDS)*"])


def test_a_non_positive_stage_timeout_option_is_refused(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--stage-timeout", "0")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--stage-timeout must be positive, not 0*"])


def test_a_target_file_replaces_the_declared_defaults(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("E2E_TIMEOUT_TEST_TOKEN", "glpat-timeout-test")
    pytester.path.joinpath("kubeconfig.yaml").write_text("apiVersion: v1\nkind: Config\n")
    pytester.path.joinpath("target.yaml").write_text(
        "schema: 1\nnautes: {url: 'http://127.0.0.1:9'}\n"
        "gitlab: {url: 'http://127.0.0.1:9', sshUrl: 'ssh://git@127.0.0.1:9',"
        " tokenEnv: E2E_TIMEOUT_TEST_TOKEN}\n"
        "vault: {url: 'http://127.0.0.1:9', tokenEnv: E2E_TIMEOUT_TEST_TOKEN}\n"
        "registry: {url: '127.0.0.1:9'}\n"
        "clusters: [{name: runtime, kubeconfig: kubeconfig.yaml, apiServer: 'http://127.0.0.1:9',"
        " ip: 127.0.0.1}]\n"
        "timeouts: {stages: {declared: 3}}\n"
    )
    pytester.makeconftest('pytest_plugins = ["fixtures.target"]')
    pytester.makepyfile(
        test_timed="""
        import pytest

        @pytest.mark.stage("declared", timeout_s=900)
        def test_declared(stage, world):
            stage.fact("declared", stage.timeout_s)

        @pytest.mark.stage("undeclared")
        def test_undeclared(stage, world):
            stage.fact("undeclared", stage.timeout_s)
        """
    )

    result = pytester.runpytest("--run-id", "run", "--target", "existing", "--target-file", "target.yaml")

    result.assert_outcomes(passed=2)
    assert facts_of(pytester) == {"declared": 3.0, "undeclared": FALLBACK_TIMEOUT_S}
