"""``nautes-e2e gate`` over hand-made report.json files, written by the real report model so that the gate is
held to the schema the plugin writes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nautes_e2e.cli import main as cli_main
from nautes_e2e.report import ExitCode, Report, RunError, RunSummary, TargetSummary
from nautes_e2e.report.model import RunResult
from nautes_e2e.stages import StageRecord, StageStatus

STARTED = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
STAGES = ("preflight", "register_cluster", "pipelinerun_succeeded", "teardown")


def write_report(
    folder: Path,
    run_id: str,
    *,
    simulated: bool = True,
    statuses: dict[str, StageStatus] | None = None,
    skip_reasons: dict[str, str] | None = None,
    stages: tuple[str, ...] = STAGES,
    result: RunResult | None = None,
    error: RunError | None = None,
) -> Path:
    """A run's report.json under ``folder/run_id/``; every stage passed unless ``statuses`` says otherwise,
    the run's result follows its stages unless ``result`` says otherwise."""
    records = tuple(
        StageRecord(
            name=name,
            status=(statuses or {}).get(name, "passed"),
            skip_reason=(skip_reasons or {}).get(name),
            start="2026-11-29T21:00:01.000Z",
            duration_s=1.0,
        )
        for name in stages
    )
    failed = any(record.status in ("failed", "error") for record in records)
    report = Report(
        run=RunSummary(
            id=run_id,
            started=STARTED,
            finished=STARTED + timedelta(seconds=9),
            result=result or ("failed" if failed else "passed"),
            command_line="pytest suites/quickstart",
            kept_environment=False,
            error=error,
        ),
        target=TargetSummary(
            name="local" if simulated else "existing",
            simulated=simulated,
            endpoints={"nautes": "https://nautes.example"},
        ),
        scenario=None,
        stages=records,
        facts={},
        environment={},
    )
    path = folder / run_id / "report.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(report.to_dict()))
    return path


def gate(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = cli_main(["gate", *(str(arg) for arg in args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_simulated_run_fails_the_gate_unless_simulation_is_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = write_report(tmp_path, "run-sim")

    code, out, _ = gate(capsys, report)
    assert code == 1
    assert "FAIL  run-sim  local (simulated)  run passed  simulated target" in out
    assert out.splitlines()[-1] == "gate: failed (1 of 1 report(s) failed: run-sim)"

    code, out, _ = gate(capsys, "--allow-simulated", report)
    assert code == 0
    assert out.startswith("PASS  run-sim  local (simulated)  run passed  [")
    assert out.splitlines()[-1] == "gate: passed (1 report(s))"


def test_a_real_target_with_every_stage_passed_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = gate(capsys, write_report(tmp_path, "run-real", simulated=False))

    assert code == 0
    assert out.startswith("PASS  run-real  existing  run passed")


def test_a_failed_or_blocked_stage_fails_the_gate_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = write_report(
        tmp_path,
        "run-broken",
        statuses={"register_cluster": "failed", "pipelinerun_succeeded": "skipped"},
        skip_reasons={"pipelinerun_succeeded": "blocked by register_cluster"},
    )

    code, out, _ = gate(capsys, "--allow-simulated", report)

    assert code == 1
    assert "run failed  not passed: register_cluster (failed), pipelinerun_succeeded (skipped)" in out


def test_teardown_may_be_skipped_only_because_the_environment_was_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = write_report(
        tmp_path, "run-kept", statuses={"teardown": "skipped"}, skip_reasons={"teardown": "kept (--keep-env)"}
    )
    blocked = write_report(
        tmp_path, "run-blocked", statuses={"teardown": "skipped"}, skip_reasons={"teardown": "blocked by x"}
    )
    kept_other = write_report(
        tmp_path,
        "run-kept-other",
        statuses={"preflight": "skipped"},
        skip_reasons={"preflight": "kept (--keep-env)"},
    )

    assert gate(capsys, "--allow-simulated", kept)[0] == 0
    code, out, _ = gate(capsys, "--allow-simulated", blocked, kept_other)
    assert code == 1
    assert "run-blocked  local (simulated)  run passed  not passed: teardown (skipped)" in out
    assert "run-kept-other  local (simulated)  run passed  not passed: preflight (skipped)" in out


def test_require_replaces_the_stage_list_and_a_missing_stage_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = write_report(tmp_path, "run-partial", statuses={"teardown": "failed"})

    code, out, _ = gate(capsys, "--allow-simulated", "--require", "preflight", report)
    assert code == 0, "teardown failed but was not required"

    code, out, _ = gate(
        capsys, "--allow-simulated", "--require", "preflight", "--require", "image_published", report
    )
    assert code == 1
    assert "missing: image_published" in out


def test_a_folder_means_every_report_below_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matrix = tmp_path / "matrix"
    write_report(matrix / "job-a" / "reports", "run-a", simulated=False)
    write_report(matrix / "job-b" / "reports", "run-b", simulated=False, statuses={"preflight": "error"})
    evidence = matrix / "job-a" / "reports" / "run-a" / "evidence" / "preflight" / "report.json"
    evidence.parent.mkdir(parents=True)
    evidence.write_text("{}")  # a stage's evidence file of that name is not a report

    code, out, _ = gate(capsys, matrix)

    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("PASS  run-a  existing")
    assert lines[1].startswith("FAIL  run-b  existing  run failed  not passed: preflight (error)")
    assert lines[-1] == "gate: failed (1 of 2 report(s) failed: run-b)"


def test_an_interrupted_or_errored_run_fails_even_if_the_stages_it_names_passed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Interrupted between two stages, a run names only the stages that ran: all of them passed.
    interrupted = write_report(tmp_path, "run-cut", simulated=False, stages=STAGES[:2], result="interrupted")
    stopped = write_report(
        tmp_path,
        "run-config",
        simulated=False,
        statuses={"preflight": "error"},
        result="error",
        error=RunError("configuration", "target.yaml: gitlab.tokenEnv: environment variable X is not set"),
    )

    code, out, _ = gate(capsys, interrupted, stopped)

    assert code == 1, "a report that can be read but did not pass is a failed gate, not an unreadable report"
    lines = out.splitlines()
    assert lines[0].startswith("FAIL  run-cut  existing  run interrupted  the run did not finish  [")
    assert lines[1].startswith(
        "FAIL  run-config  existing  run error  the run did not finish; not passed: preflight"
    )
    assert "gitlab.tokenEnv" not in out, "the gate prints no diagnosis"


def test_a_schema_1_report_is_still_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reports of earlier runs (schema 1: no exit code, no run error) keep passing and failing the gate."""
    passed = write_report(tmp_path, "old-pass", simulated=False)
    failed = write_report(tmp_path, "old-fail", simulated=False, statuses={"teardown": "failed"})
    for path in (passed, failed):
        document = json.loads(path.read_text())
        document["schema_version"] = 1
        del document["run"]["exit_code"], document["run"]["error"]
        path.write_text(json.dumps(document))

    assert gate(capsys, passed)[0] == 0
    code, out, _ = gate(capsys, failed)
    assert code == 1
    assert "not passed: teardown (failed)" in out


def test_the_gate_s_exit_codes_are_a_run_s() -> None:
    """0 pass, 1 a stage did not pass, 4 unreadable input: the numbers a run gives those cases."""
    from nautes_e2e import gate as gate_module

    assert (gate_module.EXIT_PASSED, gate_module.EXIT_FAILED, gate_module.EXIT_ERROR) == (
        ExitCode.PASSED,
        ExitCode.FAILED,
        ExitCode.CONFIGURATION_ERROR,
    )
    assert (gate_module.EXIT_PASSED, gate_module.EXIT_FAILED, gate_module.EXIT_ERROR) == (0, 1, 4)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON (line 1, column 2)"),
        ("[]", "not a report (a JSON object is expected)"),
        (
            '{"schema_version": 3, "run": {}, "stages": []}',
            "unknown schema_version 3 (this gate reads 1 and 2)",
        ),
        (
            '{"schema_version": true, "run": {}, "stages": []}',
            "unknown schema_version True (this gate reads 1 and 2)",
        ),
        ('{"schema_version": 1, "stages": []}', "'run' is missing or not of type dict"),
        (
            '{"schema_version": 1, "run": {"id": "r", "result": "passed"}, "target": null,'
            ' "stages": [{"name": "a", "status": "green"}]}',
            "stage 'a' has an unknown status 'green'",
        ),
    ],
)
def test_a_report_the_gate_cannot_judge_is_an_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    good = write_report(tmp_path, "run-good", simulated=False)
    bad = tmp_path / "bad" / "report.json"
    bad.parent.mkdir()
    bad.write_text(content)

    code, out, err = gate(capsys, good, bad)

    assert code == 4
    assert f"nautes-e2e gate: error: {bad}: {message}" in err
    assert out.splitlines()[-1] == "gate: error (1 of the inputs could not be judged)"


def test_no_report_at_all_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = gate(capsys, tmp_path, tmp_path / "absent.json")

    assert code == 4
    assert f"{tmp_path}: no report.json below this folder" in err
    assert f"{tmp_path / 'absent.json'}: no such file or folder" in err


@pytest.mark.parametrize(
    "argv",
    [["gate"], ["gate", "--no-such-option", "x"], ["no-such-command"], ["world", "plan", "--target", "mars"]],
    ids=["no-report", "unknown-option", "unknown-command", "bad-choice"],
)
def test_a_usage_error_exits_4_like_a_configuration_error_not_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # 2 means "interrupted" for a run; argparse's own 2 would read as a cancelled job.
    with pytest.raises(SystemExit) as usage_error:
        cli_main(argv)
    assert usage_error.value.code == 4
    err = capsys.readouterr().err
    assert err.startswith("usage: nautes-e2e")
    assert "error: " in err.splitlines()[-1]


def test_help_still_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli_main(["gate", "--help"])
    assert done.value.code == 0
    assert "--allow-simulated" in capsys.readouterr().out


def test_a_report_without_a_target_is_not_a_real_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "report.json"
    path.write_text(
        json.dumps(
            {
                "schema_version": 1,
                "run": {"id": "early", "result": "failed"},
                "target": None,
                "stages": [{"name": "preflight", "status": "passed"}],
            }
        )
    )

    code, out, _ = gate(capsys, path)

    assert code == 1
    assert "FAIL  early  unknown target  run failed  target unknown" in out


def test_the_gate_prints_no_diagnosis_fact_or_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_report(tmp_path, "run-x", statuses={"preflight": "failed"})
    document = json.loads(path.read_text())
    document["stages"][0]["diagnosis"] = "token glpat-should-not-print"
    document["stages"][0]["facts"] = {"user": "fact-should-not-print"}
    path.write_text(json.dumps(document))

    _, out, err = gate(capsys, path)

    assert "should-not-print" not in out + err
    assert "nautes.example" not in out + err


def test_the_gate_loads_no_reference_stack() -> None:
    # The stack's own package, not setuptools' editable-install finder named after it.
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, nautes_e2e.cli, nautes_e2e.gate; "
            "print(any(m.split('.')[0] == 'nautes_refstack' for m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    assert loaded.stdout.strip() == "False"
