"""What closes a run in the terminal: the stage table (stage, status, duration, key facts or the diagnosis),
then, never cut, why the run did not pass.

The table fits the terminal, so a long diagnosis is cut in its details column; the start of a diagnosis
names the file or endpoint, the end names the field or the reason, and a cut that keeps only the start
(``TargetFileError: /tmp/ci/job-1234/target.y…``) hides exactly what to fix. So under the table each stage
that did not pass gets its diagnosis's first line in full (the terminal wraps it), and a run that stopped on
its configuration or on a harness bug says so last, one line per problem, with the exit code.
"""

from __future__ import annotations

from nautes_e2e.report.model import Report, stage_details
from nautes_e2e.stages.model import StageStatus

#: The details column never gets narrower than this, even in a narrow terminal (the line wraps instead).
MIN_DETAILS_WIDTH = 30

TerminalLines = list[tuple[str, StageStatus | None]]


def terminal_table(report: Report, width: int) -> TerminalLines:
    """Lines of the table fitted to ``width`` columns, each with the status it shows (for colouring);
    the header line has ``None``."""
    name_width = max([len("stage"), *(len(stage.name) for stage in report.stages)])
    status_width = len("skipped")
    prefix_width = name_width + status_width + len("  ") * 3 + len("duration")
    details_width = max(MIN_DETAILS_WIDTH, width - prefix_width)
    header = f"{'stage':<{name_width}}  {'status':<{status_width}}  {'duration':>8}  details"
    lines: TerminalLines = [(header, None)]
    for stage in report.stages:
        details = stage_details(stage)
        if len(details) > details_width:
            details = details[: details_width - 1] + "…"
        duration = f"{stage.duration_s:.1f}s"
        line = f"{stage.name:<{name_width}}  {stage.status:<{status_width}}  {duration:>8}  {details}"
        lines.append((line.rstrip(), stage.status))
    return lines


def terminal_diagnoses(report: Report) -> TerminalLines:
    """Why the run did not pass, uncut: the run's error if it has one (every line of it, under the exit
    code), else each unsuccessful stage's first diagnosis line. A configuration error is the diagnosis of
    every stage it stopped, so it is said once, as the run's."""
    run = report.run
    lines: TerminalLines = []
    if run.error is None or run.error.kind == "harness":
        for stage in report.failed_stages:
            diagnosis = (stage.diagnosis or stage.status).strip().splitlines() or [stage.status]
            more = f" (+{len(diagnosis) - 1} more lines in summary.md)" if len(diagnosis) > 1 else ""
            lines.append((f"{stage.name}: {diagnosis[0]}{more}", stage.status))
    if run.error is not None:
        problems = run.error.message.strip().splitlines() or ["(no message)"]
        heading = f"{run.error.kind} error (exit {int(run.exit_code)}):"
        if len(problems) == 1:
            lines.append((f"{heading} {problems[0]}", "error"))
        else:
            lines += [(heading, "error"), *((f"  {problem}", "error") for problem in problems)]
    return lines
