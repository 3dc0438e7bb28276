"""``--from-stage STAGE`` with ``--reuse-env NAME`` (pytester, no world): the stages before STAGE are restored
from the kept world's saved stages, the rest run and read the restored facts; every way to misuse it stops
the run with exit 4 before any stage, saying what to fix. And the saved stages themselves: only passed (or
restored) stages, redacted, a secret-holding fact withheld and then refused."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.secrets import Secret
from nautes_e2e.stages import StageRecord
from nautes_e2e.stages.saved_facts import (
    SAVED_STAGES_FILE,
    SavedStagesError,
    keep_stages,
    load_saved_stages,
    save_stages,
)
from nautes_e2e.worlds.state import STATE_DIR_ENV

pytest_plugins = ["pytester"]

WORLD = "nautes-e2e-world-kept"
CHAIN = """
import pytest

from nautes_e2e.plugin.run import run_state

@pytest.fixture
def facts(request):
    return run_state(request.config).recorder.facts

@pytest.mark.stage("preflight")
def test_preflight(stage):
    raise AssertionError("restored: must not run")

@pytest.mark.stage("push_pipeline", needs=("preflight",))
def test_push_pipeline(stage):
    raise AssertionError("restored: must not run")

@pytest.mark.stage("pipelinerun_succeeded", needs=("push_pipeline",))
def test_pipelinerun_succeeded(stage, facts):
    stage.fact("pipelinerun", "main-pipiline-n" + facts["source_commit"][:5])

@pytest.mark.stage("image_published", needs=("pipelinerun_succeeded",))
def test_image_published(stage, facts):
    stage.fact("image_url", "registry/devops-sample:0.0.1-" + facts["source_commit"])
"""


def record(name: str, status: str = "passed", **facts: Any) -> StageRecord:
    return StageRecord(name=name, status=status, facts=dict(facts))  # type: ignore[arg-type]


@pytest.fixture
def state_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "state"
    monkeypatch.setenv(STATE_DIR_ENV, str(root))
    return root


def kept_world(root: Path, *records: StageRecord) -> Path:
    """A kept world's state directory with the saved stages of a run ``kept-1``."""
    directory = root / WORLD
    directory.mkdir(parents=True)
    return save_stages(directory, records, "kept-1")


def report(pytester: pytest.Pytester, run_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((pytester.path / "reports" / run_id / "report.json").read_text())
    return document


def test_the_stages_before_are_restored_and_the_rest_run_on_their_facts(
    pytester: pytest.Pytester, state_root: Path
) -> None:
    saved = kept_world(
        state_root,
        record("preflight", target="local"),
        record("push_pipeline", source_commit="1497b9f6f7b2"),
        record("pipelinerun_succeeded", "failed"),
    )
    pytester.makepyfile(test_chain=CHAIN)

    result = pytester.runpytest(
        "--reuse-env", WORLD, "--from-stage", "pipelinerun_succeeded", "--run-id", "resumed", "-rs"
    )

    result.assert_outcomes(passed=2, skipped=2)
    reason = f"restored from {saved} (passed in run kept-1)"
    result.stdout.fnmatch_lines([f"*SKIPPED [[]1[]] test_chain.py:*: {reason}"] * 2)
    stages = {stage["name"]: stage for stage in report(pytester, "resumed")["stages"]}
    assert stages["preflight"]["status"] == "skipped"
    assert stages["preflight"]["skip_reason"] == reason
    assert stages["push_pipeline"]["facts"] == {"source_commit": "1497b9f6f7b2"}
    assert stages["image_published"]["facts"] == {"image_url": "registry/devops-sample:0.0.1-1497b9f6f7b2"}
    assert report(pytester, "resumed")["run"]["kept_environment"] is True, "a resumed run keeps its world"


def test_from_stage_without_reuse_env_is_refused(pytester: pytest.Pytester, state_root: Path) -> None:
    pytester.makepyfile(test_chain=CHAIN)

    result = pytester.runpytest("--from-stage", "pipelinerun_succeeded")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--from-stage pipelinerun_succeeded resumes a kept world: give it with --reuse-env NAME*"]
    )


def test_from_stage_under_xdist_is_refused(pytester: pytest.Pytester, state_root: Path) -> None:
    kept_world(state_root, record("preflight"))
    pytester.makepyfile(test_chain=CHAIN)

    result = pytester.runpytest("-n", "2", "--reuse-env", WORLD, "--from-stage", "push_pipeline")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--from-stage push_pipeline resumes one stage chain: run it without -n*"])


def test_a_world_without_saved_stages_is_refused_naming_the_file(
    pytester: pytest.Pytester, state_root: Path
) -> None:
    pytester.makepyfile(test_chain=CHAIN)

    result = pytester.runpytest("--reuse-env", WORLD, "--from-stage", "pipelinerun_succeeded")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*--reuse-env {WORLD}: {state_root / WORLD / SAVED_STAGES_FILE}: no saved stage facts*"]
    )


def test_an_unknown_stage_is_refused_listing_the_suite_s_stages(
    pytester: pytest.Pytester, state_root: Path
) -> None:
    kept_world(state_root, record("preflight"))
    pytester.makepyfile(test_chain=CHAIN)

    result = pytester.runpytest("--reuse-env", WORLD, "--from-stage", "pipelinerun")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--from-stage pipelinerun: the suite has no such stage; its stages are preflight, "
            "push_pipeline, pipelinerun_succeeded, image_published*"
        ]
    )


def test_a_stage_the_kept_run_did_not_pass_cannot_be_restored(
    pytester: pytest.Pytester, state_root: Path
) -> None:
    saved = kept_world(state_root, record("preflight"), record("push_pipeline", "failed"))
    pytester.makepyfile(test_chain=CHAIN)

    result = pytester.runpytest("--reuse-env", WORLD, "--from-stage", "image_published")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*--from-stage image_published: {saved}: stage push_pipeline has no saved facts (the kept run "
            "did not pass it); stage pipelinerun_succeeded has no saved facts*"
        ]
    )


def test_a_fact_holding_a_secret_is_withheld_and_its_stage_refused(tmp_path: Path) -> None:
    token = Secret("glpat-resume-PLANTED-5c1e")
    path = save_stages(
        tmp_path,
        [
            record("preflight", target="local", echo=f"token {token.reveal()}"),
            record("registry_auth", "skipped"),
            record("teardown", "error"),
        ],
        "kept-1",
    )

    text = path.read_text(encoding="utf-8")
    assert token.reveal() not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = load_saved_stages(path)
    assert list(saved.stages) == ["preflight"], "only passed stages are saved"
    assert saved.stages["preflight"].facts == {"target": "local"}
    assert saved.stages["preflight"].withheld == ("echo",)
    with pytest.raises(
        SavedStagesError, match=r"stage preflight's facts echo held a secret and were not saved"
    ):
        saved.restorable(["preflight"])


def test_a_restored_stage_is_saved_again_with_the_run_it_passed_in(tmp_path: Path) -> None:
    restored = record("preflight", "skipped", target="local")
    restored.skip_reason = f"restored from {tmp_path / SAVED_STAGES_FILE} (passed in run kept-1)"

    keep_stages(tmp_path, [restored, record("push_pipeline", source_commit="abc")], "resumed-2", kept=True)
    saved = load_saved_stages(tmp_path / SAVED_STAGES_FILE)
    assert [(stage.name, stage.run_id) for stage in saved.stages.values()] == [
        ("preflight", "kept-1"),
        ("push_pipeline", "resumed-2"),
    ]

    keep_stages(tmp_path, [], "cleaned-3", kept=False)
    assert not (tmp_path / SAVED_STAGES_FILE).exists(), "a run that removed what it applied forgets them"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON (line 1, column 2)"),
        ('{"version": 2, "stages": []}', "not saved stage facts of version 1"),
        ('{"version": 1, "stages": {}}', "stages: a list is expected"),
        (
            '{"version": 1, "stages": [{"name": "a"}]}',
            "stages[0]: name, run, facts and withheld are expected",
        ),
    ],
)
def test_saved_stages_that_cannot_be_read_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / SAVED_STAGES_FILE
    path.write_text(content)

    with pytest.raises(SavedStagesError, match="^" + re.escape(f"{path}: {message}")):
        load_saved_stages(path)
