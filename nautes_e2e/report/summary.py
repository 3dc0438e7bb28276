"""``summary.md``: the run at a glance, small enough for a CI job summary (GitHub ``$GITHUB_STEP_SUMMARY``,
GitLab job artifacts): the run's error if it has one, a stage table, then the diagnosis of each stage that
did not pass, then notes."""

from __future__ import annotations

from nautes_e2e.report.model import Report, stage_details
from nautes_e2e.stages.model import StageRecord

STATUS_MARKS = {"passed": "✅", "failed": "❌", "error": "💥", "skipped": "⏭️", "running": "⏳"}
#: A table cell longer than this is cut: the full text is in report.json.
CELL_LIMIT = 160


def render_summary(report: Report) -> str:
    lines = [*_heading(report), *_run_error(report)]
    lines += ["", "| stage | status | duration | details |", "|---|---|---:|---|"]
    lines += [_row(stage) for stage in report.stages]
    failed = report.failed_stages
    if failed:
        lines += ["", "### Diagnosis"]
        for stage in failed:
            lines += ["", f"**{stage.name}** ({stage.status})", "", "```text", stage.diagnosis or "", "```"]
            lines += [f"- evidence: `{path}`" for path in stage.evidence]
    notes = _notes(report)
    if notes:
        lines += ["", "### Notes", "", *notes]
    return "\n".join(lines) + "\n"


def _heading(report: Report) -> list[str]:
    scenario = report.scenario.name if report.scenario else "stages"
    where = ""
    if report.target is not None:
        where = f" on `{report.target.name}`" + (" (simulated)" if report.target.simulated else "")
    run = report.run
    kept = " · environment kept (--keep-env)" if run.kept_environment else ""
    return [
        f"## nautes-e2e {scenario}{where}: {run.verdict}",
        "",
        f"Run `{run.id}` · {run.started:%Y-%m-%d %H:%M:%S} UTC · {run.duration_s:.1f} s{kept}",
    ]


def _run_error(report: Report) -> list[str]:
    """A run stopped by its configuration or by the harness says why first, whole: it is the one thing to
    fix."""
    error = report.run.error
    if error is None:
        return []
    return [
        "",
        f"**{error.kind} error** (exit {int(report.run.exit_code)}):",
        "",
        "```text",
        error.message,
        "```",
    ]


def _row(stage: StageRecord) -> str:
    mark = STATUS_MARKS.get(stage.status, "")
    details = _cell(stage_details(stage))
    return f"| {stage.name} | {mark} {stage.status} | {stage.duration_s:.1f} s | {details} |"


def _notes(report: Report) -> list[str]:
    notes = [
        f"- **{stage.name}**: {_cell(note, limit=None)}" for stage in report.stages for note in stage.notes
    ]
    if report.scenario is not None:
        notes += [
            f"- **{note.topic}**: the quickstart says {note.quickstart}; "
            f"v0.4.x {note.behaviour} ({note.source})"
            for note in report.scenario.notes
        ]
    return notes


def _cell(text: str, limit: int | None = CELL_LIMIT) -> str:
    """Text that stays inside one Markdown table cell / list item."""
    flat = " ".join(text.split()).replace("|", "\\|")
    if limit is not None and len(flat) > limit:
        return flat[: limit - 1] + "…"
    return flat
