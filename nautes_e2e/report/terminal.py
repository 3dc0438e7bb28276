"""The table that closes a run in the terminal: stage, status, duration, and key facts or the diagnosis."""

from __future__ import annotations

from nautes_e2e.report.model import Report, stage_details
from nautes_e2e.stages.model import StageStatus

#: The details column never gets narrower than this, even in a narrow terminal (the line wraps instead).
MIN_DETAILS_WIDTH = 30


def terminal_table(report: Report, width: int) -> list[tuple[str, StageStatus | None]]:
    """Lines of the table fitted to ``width`` columns, each with the status it shows (for colouring);
    the header line has ``None``."""
    name_width = max([len("stage"), *(len(stage.name) for stage in report.stages)])
    status_width = len("skipped")
    prefix_width = name_width + status_width + len("  ") * 3 + len("duration")
    details_width = max(MIN_DETAILS_WIDTH, width - prefix_width)
    header = f"{'stage':<{name_width}}  {'status':<{status_width}}  {'duration':>8}  details"
    lines: list[tuple[str, StageStatus | None]] = [(header, None)]
    for stage in report.stages:
        details = stage_details(stage)
        if len(details) > details_width:
            details = details[: details_width - 1] + "…"
        duration = f"{stage.duration_s:.1f}s"
        line = f"{stage.name:<{name_width}}  {stage.status:<{status_width}}  {duration:>8}  {details}"
        lines.append((line.rstrip(), stage.status))
    return lines
