"""``nautes-e2e gate`` over a matrix run's folder (``matrix.json`` beside ``instances/<name>/report.json``):
one verdict line per instance, the instance-by-stage grid in the terminal and in its Markdown summary, the
exit codes of a single report, and the failing instance named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nautes_e2e.plugin.instances import Instance
from nautes_e2e.plugin.matrix_file import NOT_RUN, MatrixEntry, instance_report_path, write_matrix
from nautes_e2e.report import ExitCode
from nautes_e2e.stages import StageStatus
from nautes_e2e.stages.saved_facts import RESTORED_PREFIX
from tests.unit.test_gate import STAGES, STARTED, gate, write_report

INSTANCES = ("physical-a", "virtual-b", "physical-c")


def matrix_run(run_dir: Path, failing: str | None = "virtual-b", not_run: str | None = None) -> Path:
    """A matrix run's folder with three instances on a real target, ``failing`` with a failed stage,
    ``not_run`` never begun; its ``matrix.json`` written by the plugin's own writer."""
    entries = []
    for name in INSTANCES:
        instance = Instance(name, "physical", name, Path("scenarios/quickstart"))
        if name == not_run:
            entries.append(MatrixEntry(instance, NOT_RUN, ExitCode.INTERRUPTED, None))
            continue
        statuses: dict[str, StageStatus] = (
            {"pipelinerun_succeeded": "failed", "teardown": "skipped"} if name == failing else {}
        )
        path = write_report(run_dir / "instances", name, simulated=False, statuses=statuses)
        document = json.loads(path.read_text())
        document["run"]["id"] = run_dir.name  # the instances of a matrix share the run's id
        document["stages"][0]["diagnosis"] = "token glpat-should-not-print"
        path.write_text(json.dumps(document))
        code = ExitCode.FAILED if name == failing else ExitCode.PASSED
        entries.append(MatrixEntry(instance, document["run"]["result"], code, instance_report_path(name)))
    write_matrix(
        run_dir, run_id=run_dir.name, started=STARTED, finished=STARTED, entries=entries, rerun_of=None
    )
    return run_dir


def test_a_matrix_with_one_failing_instance_fails_the_gate_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = matrix_run(tmp_path / "run-9")

    code, out, err = gate(capsys, run_dir)

    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("PASS  physical-a (run run-9)  existing  run passed  [")
    assert lines[2].startswith(
        "FAIL  virtual-b (run run-9)  existing  run failed  not passed: pipelinerun_succeeded (failed), "
        "teardown (skipped)"
    )
    assert lines[-1] == "gate: failed (1 of 3 report(s) failed: virtual-b)"
    grid = lines[lines.index("") + 1 : -1]
    assert grid[0].split() == ["stage", "physical-a", "physical-c", "virtual-b"]
    assert grid[1].split() == ["gate", "PASS", "PASS", "FAIL"]
    assert [row.split()[0] for row in grid[2:]] == list(STAGES)
    assert grid[4].split() == ["pipelinerun_succeeded", "passed", "passed", "failed"]
    assert "should-not-print" not in out + err


def test_the_summary_holds_the_verdicts_and_the_grid_beside_a_single_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = matrix_run(tmp_path / "run-9")
    (run_dir / "summary.md").write_text("the matrix run's own summary\n")

    gate(capsys, run_dir)

    summary = (run_dir / "gate-summary.md").read_text(encoding="utf-8")
    assert summary.startswith("## nautes-e2e gate: failed (1 of 3 report(s) failed: virtual-b)\n")
    assert "- FAIL **virtual-b** (run `run-9`): not passed: pipelinerun_succeeded (failed)" in summary
    assert "- PASS **physical-a** (run `run-9`): every required stage passed" in summary
    assert "| stage | physical-a | physical-c | virtual-b |" in summary
    assert "| **gate** | **PASS** | **PASS** | **FAIL** |" in summary
    assert "| pipelinerun_succeeded | ✅ passed | ✅ passed | ❌ failed |" in summary
    assert "should-not-print" not in summary
    assert (run_dir / "summary.md").read_text() == "the matrix run's own summary\n", "not overwritten"


def test_summary_goes_where_asked_and_a_passing_matrix_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = matrix_run(tmp_path / "run-9", failing=None)
    asked = tmp_path / "ci" / "step-summary.md"

    code, out, _ = gate(capsys, "--summary", asked, run_dir / "instances")

    assert code == 0
    assert out.splitlines()[-1] == "gate: passed (3 report(s))"
    assert asked.read_text(encoding="utf-8").startswith("## nautes-e2e gate: passed (3 report(s))\n")
    assert not (run_dir / "gate-summary.md").exists()


def test_an_unreadable_instance_exits_4_and_the_summary_names_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = matrix_run(tmp_path / "run-9", failing=None)
    broken = run_dir / "instances" / "physical-c" / "report.json"
    broken.write_text("{not json")

    code, out, _ = gate(capsys, run_dir)

    assert code == 4
    assert out.splitlines()[-1] == "gate: error (1 of the inputs could not be judged)"
    summary = (run_dir / "gate-summary.md").read_text(encoding="utf-8")
    assert f"- {broken}: not JSON (line 1, column 2)" in summary
    assert "| stage | physical-a | virtual-b |" in summary


def test_a_report_s_own_instance_name_wins_and_equal_names_are_told_apart_by_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named = write_report(tmp_path / "a", "run-1", simulated=False)
    document = json.loads(named.read_text())
    document["instance"] = {"name": "nightly-virtual"}
    named.write_text(json.dumps(document))
    twin_a = write_report(tmp_path / "b", "run-2", simulated=False)
    twin_b = write_report(tmp_path / "c", "run-2", simulated=False, statuses={"preflight": "failed"})

    code, out, _ = gate(capsys, named, twin_a, twin_b)

    assert code == 1
    assert out.splitlines()[0].startswith("PASS  nightly-virtual (run run-1)  existing")
    assert f"FAIL  {twin_b.parent.as_posix()} (run run-2)" in out
    assert out.splitlines()[-1] == f"gate: failed (1 of 3 report(s) failed: {twin_b.parent.as_posix()})"


def test_stages_restored_by_a_resumed_run_are_accepted_and_read_as_restored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    restored = f"{RESTORED_PREFIX}/state/worlds/w1/facts.json (passed in run run-0)"
    resumed = write_report(
        tmp_path,
        "run-resumed",
        simulated=False,
        statuses={"preflight": "skipped", "register_cluster": "skipped"},
        skip_reasons={"preflight": restored, "register_cluster": restored},
    )
    other_skip = write_report(
        tmp_path,
        "run-skipped",
        simulated=False,
        statuses={"preflight": "skipped"},
        skip_reasons={"preflight": "blocked by world-start"},
    )

    code, out, _ = gate(capsys, resumed)
    assert code == 0
    assert any(line.split() == ["preflight", "restored"] for line in out.splitlines())

    code, out, _ = gate(capsys, other_skip)
    assert code == 1
    assert "not passed: preflight (skipped)" in out


def test_an_instance_the_matrix_lists_without_a_report_fails_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A matrix passes only whole: an instance that never ran, or whose report is lost, is a failure named
    by ``matrix.json``, whether the gate is given the run's folder or its index."""
    run_dir = matrix_run(tmp_path / "run-9", failing=None, not_run="virtual-b")
    lost = run_dir / "instances" / "physical-c"
    (lost / "report.json").rename(lost / "report.json.lost")

    for given in (run_dir, run_dir / "matrix.json"):
        code, out, _ = gate(capsys, given)

        assert code == 1
        index = run_dir / "matrix.json"
        never = "no report (not run, result not-run)"
        assert f"FAIL  virtual-b (run run-9)  unknown target  run not-run  {never}  [{index}]" in out
        missing = "no report (instances/physical-c/report.json is missing, result passed)"
        assert f"FAIL  physical-c (run run-9)  unknown target  run passed  {missing}  [{index}]" in out
        assert out.splitlines()[0].startswith("PASS  physical-a (run run-9)")
        assert out.splitlines()[-1] == "gate: failed (2 of 3 report(s) failed: virtual-b, physical-c)"


def test_an_unreadable_matrix_index_exits_4_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = matrix_run(tmp_path / "run-9", failing=None)
    (run_dir / "matrix.json").write_text('{"schema_version": 1, "run": {"id": "run-9"}}')

    code, _, err = gate(capsys, run_dir)

    assert code == 4
    assert f"{run_dir / 'matrix.json'}: 'instances' is missing or not of type list" in err
