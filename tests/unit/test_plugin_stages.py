"""The plugin running stage suites (pytester): blocking, ordering checks, progress lines under capture,
stages outside a test, and when reports are (not) written."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import pytest

pytest_plugins = ["pytester"]

CHAIN = """
import pytest

@pytest.mark.stage("preflight")
def test_preflight(stage):
    stage.fact("target", "local")

@pytest.mark.stage("register_cluster", needs=("preflight",))
def test_register_cluster(stage):
    stage.fail("GET cluster physical-worker-x answered 404")

@pytest.mark.stage("initialise_product", needs=("register_cluster",))
def test_initialise_product(stage):
    raise AssertionError("must not run")

@pytest.mark.stage("push_pipeline", needs=("initialise_product",))
def test_push_pipeline(stage):
    raise AssertionError("must not run")

@pytest.mark.stage("registry_ping", needs="preflight")
def test_registry_ping(stage):
    stage.fact("registry", "ok")
"""


def report_json(pytester: pytest.Pytester, run_id: str = "run") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "reports" / run_id / "report.json").read_text())
    return data


def stages_by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {stage["name"]: stage for stage in report["stages"]}


def test_a_failed_stage_blocks_its_dependants_and_not_the_others(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_chain=CHAIN)

    result = pytester.runpytest("--run-id", "run", "-rs")

    result.assert_outcomes(passed=2, failed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*SKIPPED [[]1[]] test_chain.py:*: blocked by register_cluster",
            "*SKIPPED [[]1[]] test_chain.py:*: blocked by register_cluster",
        ]
    )
    stages = stages_by_name(report_json(pytester))
    assert [name for name in stages] == [
        "preflight",
        "register_cluster",
        "initialise_product",
        "push_pipeline",
        "registry_ping",
    ]
    assert {name: stage["status"] for name, stage in stages.items()} == {
        "preflight": "passed",
        "register_cluster": "failed",
        "initialise_product": "skipped",
        "push_pipeline": "skipped",
        "registry_ping": "passed",
    }
    assert stages["initialise_product"]["skip_reason"] == "blocked by register_cluster"
    assert stages["push_pipeline"]["skip_reason"] == "blocked by register_cluster"
    assert stages["initialise_product"]["attempts"] == 0
    assert stages["register_cluster"]["attempts"] == 1


def test_a_stage_whose_need_did_not_run_is_blocked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_chain=CHAIN)

    result = pytester.runpytest("--run-id", "run", "-k", "registry_ping or initialise_product")

    result.assert_outcomes(skipped=2)
    stages = stages_by_name(report_json(pytester))
    assert stages["initialise_product"]["skip_reason"] == "blocked by register_cluster"
    assert stages["registry_ping"]["skip_reason"] == "blocked by preflight"


def test_a_blocked_stage_starts_none_of_its_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixtures="""
        import pytest

        @pytest.fixture
        def world():
            raise AssertionError("the world must not start for a blocked stage")

        @pytest.mark.stage("preflight")
        def test_preflight(stage):
            stage.fail("no Nautes API")

        @pytest.mark.stage("register_cluster", needs=("preflight",))
        def test_register_cluster(stage, world):
            pass
        """
    )

    result = pytester.runpytest("--run-id", "run")

    result.assert_outcomes(failed=1, skipped=1)
    assert stages_by_name(report_json(pytester))["register_cluster"]["status"] == "skipped"


def test_an_error_in_a_stage_fixture_is_recorded_as_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixtures="""
        import pytest

        @pytest.fixture
        def world():
            raise RuntimeError("refstack did not write its ready file within 60 s")

        @pytest.mark.stage("preflight")
        def test_preflight(stage, world):
            pass
        """
    )

    result = pytester.runpytest("--run-id", "run")

    result.assert_outcomes(errors=1)
    stage = stages_by_name(report_json(pytester))["preflight"]
    assert stage["status"] == "error"
    assert stage["diagnosis"] == "RuntimeError: refstack did not write its ready file within 60 s"


@pytest.mark.parametrize(
    ("suite", "message"),
    [
        (
            """
            import pytest

            @pytest.mark.stage("b", needs=("a",))
            def test_b(stage): pass

            @pytest.mark.stage("a")
            def test_a(stage): pass
            """,
            "*stage 'b' needs 'a', which runs after it*",
        ),
        (
            """
            import pytest

            @pytest.mark.stage("a")
            def test_a(stage): pass

            @pytest.mark.stage("a")
            def test_a_again(stage): pass
            """,
            "*stage 'a' is declared twice*",
        ),
        (
            """
            import pytest

            @pytest.mark.stage(needs=("a",))
            def test_nameless(stage): pass
            """,
            "*use @pytest.mark.stage('name', needs=('stage', ...), timeout_s=SECONDS)*",
        ),
    ],
    ids=["need-runs-later", "duplicate-name", "no-name"],
)
def test_stage_declarations_are_checked_at_collection(
    pytester: pytest.Pytester, suite: str, message: str
) -> None:
    pytester.makepyfile(test_bad=suite)

    result = pytester.runpytest("--run-id", "run")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert not (pytester.path / "reports").exists()


def test_the_stage_fixture_requires_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain(stage): pass")

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the 'stage' fixture needs @pytest.mark.stage(...)*"])


def test_no_reports_are_written_when_no_stage_ran(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain(): pass")

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()
    result.stdout.no_fnmatch_line("*nautes-e2e stages*")


def test_progress_lines_reach_the_terminal_while_output_is_captured(pytester: pytest.Pytester) -> None:
    # A subprocess: only real file descriptors show whether a line escapes pytest's capturing.
    pytester.makepyfile(
        test_progress="""
        import pytest

        @pytest.mark.stage("pipelinerun_succeeded")
        def test_pipelinerun(stage):
            print("captured print")
            stage.progress("waiting for PipelineRun main-pipiline-n1a2b: Running, 3/5 tasks done")
        """
    )

    result = pytester.runpytest_subprocess("--run-id", "run")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "[[]pipelinerun_succeeded *s[]] waiting for PipelineRun main-pipiline-n1a2b: "
            "Running, 3/5 tasks done"
        ]
    )
    result.stdout.no_fnmatch_line("*captured print*")


TEARDOWN_SUITE = """
import pytest

@pytest.fixture(scope="session")
def applied(e2e_run):
    yield
    with e2e_run.recorder.stage("teardown") as stage:
        stage.progress("nautes remove Cluster physical-worker-x")
        stage.fail("nautes remove failed: Cluster physical-worker-x: 500")

@pytest.mark.stage("register_cluster")
def test_register_cluster(stage, applied):
    stage.fact("cluster", "physical-worker-x")
"""


def test_a_failed_teardown_is_its_own_stage_and_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_teardown=TEARDOWN_SUITE)

    result = pytester.runpytest("--run-id", "run")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1)
    report = report_json(pytester)
    stages = stages_by_name(report)
    assert stages["register_cluster"]["status"] == "passed"
    assert stages["teardown"]["status"] == "failed"
    assert stages["teardown"]["diagnosis"] == "nautes remove failed: Cluster physical-worker-x: 500"
    assert report["run"]["result"] == "failed"


def test_under_xdist_the_controller_reports_what_the_workers_recorded(pytester: pytest.Pytester) -> None:
    # --dist loadfile keeps each module's stages on one worker; see the next test for loadgroup.
    pytester.makepyfile(test_chain=CHAIN, test_teardown=TEARDOWN_SUITE.replace("register_cluster", "cleanup"))

    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadfile", "--run-id", "run")

    result.assert_outcomes(passed=3, failed=1, skipped=2)
    report = report_json(pytester)
    stages = stages_by_name(report)
    assert stages["register_cluster"]["diagnosis"] == "GET cluster physical-worker-x answered 404"
    assert stages["push_pipeline"]["skip_reason"] == "blocked by register_cluster"
    assert stages["teardown"]["status"] == "failed"
    assert report["facts"] == {"target": "local", "registry": "ok", "cluster": "physical-worker-x"}
    assert sorted(path.name for path in (pytester.path / "reports").iterdir()) == ["run"]


WORKER_RECORDING_CHAIN = "import os\nimport pytest\n" + "".join(
    f"""
@pytest.mark.stage("s{index}", needs=({f'"s{index - 1}",' if index else ""}))
def test_s{index}(stage):
    stage.fact("s{index}", os.environ["PYTEST_XDIST_WORKER"])
"""
    for index in range(8)
)


@pytest.mark.parametrize("dist", ["load", "loadgroup", "worksteal"])
def test_under_xdist_a_suite_s_stage_chain_stays_on_one_worker(pytester: pytest.Pytester, dist: str) -> None:
    """Selecting ``suites/`` with ``-n`` schedules by module, whatever ``--dist`` asks for chains."""
    pytester.mkpydir("suites")
    pytester.path.joinpath("suites", "test_chain.py").write_text(WORKER_RECORDING_CHAIN)

    result = pytester.runpytest_subprocess("suites", "-n", "2", "--dist", dist, "--run-id", "run")

    result.assert_outcomes(passed=8)
    assert len(set(report_json(pytester)["facts"].values())) == 1


def test_an_interrupted_run_still_tears_down_and_reports(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_interrupt="""
        import pytest

        @pytest.fixture(scope="session")
        def applied(e2e_run):
            yield
            with e2e_run.recorder.stage("teardown") as stage:
                stage.fact("removed", 6)

        @pytest.mark.stage("pipelinerun_succeeded")
        def test_pipelinerun(stage, applied):
            raise KeyboardInterrupt

        @pytest.mark.stage("image_published", needs=("pipelinerun_succeeded",))
        def test_image(stage):
            pass
        """
    )

    # A subprocess: in-process, the interrupt would stop this test run too.
    result = pytester.runpytest_subprocess("--run-id", "run")

    assert result.ret == pytest.ExitCode.INTERRUPTED
    report = report_json(pytester)
    stages = stages_by_name(report)
    assert list(stages) == ["pipelinerun_succeeded", "teardown"]
    assert stages["pipelinerun_succeeded"]["status"] == "error"
    assert stages["pipelinerun_succeeded"]["diagnosis"] == "interrupted before the stage finished"
    assert stages["teardown"]["status"] == "passed"
    assert stages["teardown"]["facts"] == {"removed": 6}
    assert report["run"]["result"] == "interrupted"


def test_pytest_own_failure_output_masks_a_revealed_secret(pytester: pytest.Pytester) -> None:
    planted = "glpat-" + "planted-in-a-local-" + "7c1e"  # split so the source line shows no value
    pytester.makepyfile(
        test_leak=f"""
        import pytest
        from nautes_e2e.secrets import Secret

        @pytest.mark.stage("preflight")
        def test_preflight(stage):
            token = Secret({planted[:6]!r} + {planted[6:]!r})
            sent = token.reveal()
            print("sending", sent)
            assert sent == "expected"
        """
    )

    result = pytester.runpytest("--run-id", "run", "-l", "-vv", "--junitxml=pytest-junit.xml")

    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "sent       = '***'" in output
    assert "sending ***" in output
    assert planted not in output
    assert planted not in (pytester.path / "pytest-junit.xml").read_text()


KEEPING_TARGET_CONFTEST = """
import pytest

import nautes_e2e.targets

pytest_plugins = ["fixtures.target"]


class FilesTarget(nautes_e2e.targets.Target):
    # A target that, like the local one, leaves files in its working directory.
    def __init__(self, work_dir, real_world):
        self.work_dir = work_dir
        self.real_world = real_world

    def _start(self):
        (self.work_dir / "data.txt").write_text("repositories, logs")
        return self.real_world

    def stop(self):
        pass


def fake_open_target(name, request):
    real = nautes_e2e.targets.ExistingTarget(request.target_file, request.environ)
    return FilesTarget(request.work_dir, real.start())


@pytest.fixture(scope="session", autouse=True)
def files_target():
    # Undone after the inner session: pytester runs it in this process, next to other tests.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nautes_e2e.targets, "open_target", fake_open_target)
        yield
"""


@pytest.mark.parametrize("leaves_files", [True, False], ids=["target-with-files", "existing-target"])
def test_keep_env_shows_where_the_world_s_files_are_kept(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, leaves_files: bool
) -> None:
    """``--keep-env`` names the kept folder when the target left files in it; an empty folder (the
    ``existing`` target keeps nothing there) is removed rather than announced."""
    monkeypatch.setenv("E2E_TEST_GITLAB_TOKEN", "glpat-keep-env-test")
    monkeypatch.setenv("E2E_TEST_VAULT_TOKEN", "vault-keep-env-test")
    monkeypatch.setattr(tempfile, "tempdir", str(pytester.path))  # the kept folder stays in the test's
    pytester.path.joinpath("kubeconfig.yaml").write_text("apiVersion: v1\nkind: Config\n")
    pytester.path.joinpath("target.yaml").write_text(
        "schema: 1\nnautes: {url: 'http://127.0.0.1:9'}\n"
        "gitlab: {url: 'http://127.0.0.1:9', sshUrl: 'ssh://git@127.0.0.1:9',"
        " tokenEnv: E2E_TEST_GITLAB_TOKEN}\n"
        "vault: {url: 'http://127.0.0.1:9', tokenEnv: E2E_TEST_VAULT_TOKEN}\n"
        "registry: {url: '127.0.0.1:9'}\n"
        "clusters: [{name: runtime, kubeconfig: kubeconfig.yaml, apiServer: 'http://127.0.0.1:9',"
        " ip: 127.0.0.1}]\n"
    )
    if leaves_files:
        pytester.makeconftest(KEEPING_TARGET_CONFTEST)
    else:
        pytester.makeconftest('pytest_plugins = ["fixtures.target"]')
    pytester.makepyfile(
        test_world="""
        import pytest

        @pytest.mark.stage("preflight")
        def test_preflight(stage, world):
            stage.fact("target", world.target)
        """
    )

    result = pytester.runpytest(
        "--run-id", "run", "--target", "existing", "--target-file", "target.yaml", "--keep-env"
    )

    result.assert_outcomes(passed=1)
    kept = sorted(pytester.path.glob("nautes-e2e-world-*"))
    if leaves_files:
        result.stdout.fnmatch_lines(
            [f"nautes-e2e: the world's files are kept in {pytester.path}/nautes-e2e-world-*"]
        )
        assert [path.joinpath("data.txt").read_text() for path in kept] == ["repositories, logs"]
    else:
        assert "the world's files are kept" not in result.stdout.str()
        assert kept == []
