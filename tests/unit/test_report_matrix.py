"""A matrix run's ``summary.md`` and ``report.html`` (:mod:`nautes_e2e.report.matrix`), over instance reports
written by the real report model under ``instances/<name>/`` as a matrix run lays them out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nautes_e2e.report import Report, RunSummary, TargetSummary, write_reports
from nautes_e2e.report.matrix import UNREADABLE, read_instance, write_matrix_summary
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import StageRecord, StageStatus

STARTED = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
STAGES = ("preflight", "register_cluster", "pipelinerun_succeeded", "teardown")
TOKEN = Secret("glpat-matrix-PLANTED-77f1")
DIAGNOSIS = (
    f"no PipelineRun appeared in pr-demo-b within 60s of the push (token {TOKEN.reveal()})\n"
    "  - GitLab's hook list for project 3 is empty"
)


def instance_report(
    run_dir: Path,
    name: str,
    statuses: dict[str, StageStatus] | None = None,
    diagnoses: dict[str, str] | None = None,
    stages: tuple[str, ...] = STAGES,
) -> Path:
    """``instances/<name>/`` of a matrix run, written as a single run's reports are."""
    records = tuple(
        StageRecord(
            name=stage,
            status=(statuses or {}).get(stage, "passed"),
            start="2026-12-05T03:00:01.000Z",
            duration_s=1.0,
            diagnosis=(diagnoses or {}).get(stage),
            skip_reason="blocked by pipelinerun_succeeded"
            if (statuses or {}).get(stage) == "skipped"
            else None,
        )
        for stage in stages
    )
    failed = any(record.status in ("failed", "error") for record in records)
    report = Report(
        run=RunSummary(
            id=f"{run_dir.name}",
            started=STARTED,
            finished=STARTED + timedelta(seconds=9),
            result="failed" if failed else "passed",
            command_line="pytest suites/quickstart",
            kept_environment=False,
        ),
        target=TargetSummary(name="local", simulated=True, endpoints={}),
        scenario=None,
        stages=records,
        facts={},
        environment={},
    )
    folder = run_dir / "instances" / name
    write_reports(report, folder)
    return folder / "report.json"


def matrix_run(run_dir: Path) -> dict[str, Path]:
    return {
        "physical-a": instance_report(run_dir, "physical-a"),
        "virtual-b": instance_report(
            run_dir,
            "virtual-b",
            statuses={"pipelinerun_succeeded": "failed", "teardown": "skipped"},
            diagnoses={"pipelinerun_succeeded": DIAGNOSIS},
        ),
    }


def test_the_summary_is_a_stage_by_instance_grid_with_the_failed_stages_first_diagnosis_line(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run-1"
    write_matrix_summary(run_dir, matrix_run(run_dir))

    summary = (run_dir / "summary.md").read_text(encoding="utf-8")

    assert summary.startswith("## nautes-e2e matrix `run-1`: failed\n")
    assert "| stage | physical-a | virtual-b |" in summary
    assert "| **result** | **passed** | **failed** |" in summary
    assert "| pipelinerun_succeeded | ✅ passed | ❌ failed |" in summary
    assert "| teardown | ✅ passed | ⏭️ skipped |" in summary
    assert "- **virtual-b** / pipelinerun_succeeded: no PipelineRun appeared in pr-demo-b" in summary
    assert "([more](instances/virtual-b/summary.md))" in summary
    assert "hook list" not in summary, "only the first line of a diagnosis"
    assert TOKEN.reveal() not in summary


def test_the_page_links_each_cell_to_the_stage_on_the_instance_s_page(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-1"
    write_matrix_summary(run_dir, matrix_run(run_dir))

    page = (run_dir / "report.html").read_text(encoding="utf-8")
    document = ET.fromstring(page.removeprefix("<!DOCTYPE html>\n"))
    links = {anchor.get("href") for anchor in document.iter("a")}

    assert {
        "instances/physical-a/report.html",
        "instances/virtual-b/report.html",
        "instances/physical-a/report.html#stage-pipelinerun_succeeded",
        "instances/virtual-b/report.html#diagnosis-pipelinerun_succeeded",
    } <= links
    instance_page = (run_dir / "instances/virtual-b/report.html").read_text(encoding="utf-8")
    assert 'id="diagnosis-pipelinerun_succeeded"' in instance_page, "the anchor the grid links to"
    assert 'id="stage-teardown"' in instance_page
    diagnoses = [element.text for element in document.iter("pre")]
    assert diagnoses == [DIAGNOSIS.splitlines()[0].replace(TOKEN.reveal(), "***")]
    assert TOKEN.reveal() not in page


def test_an_unreadable_instance_report_is_shown_as_such_beside_the_others(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-1"
    reports = matrix_run(run_dir)
    broken = run_dir / "instances" / "gone" / "report.json"
    reports["gone"] = broken

    assert read_instance("gone", broken).result == UNREADABLE
    write_matrix_summary(run_dir, reports)
    summary = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert "| **result** | **passed** | **failed** | **unreadable** |" in summary
    assert "Reports that could not be read: gone" in summary
