"""A matrix run's own page and summary: one instance-by-stage grid over the instances' ``report.json``.

A run with several scenario instances writes each instance's reports under ``instances/<name>/`` as a
single run would, then :func:`write_matrix_summary` writes the run's ``summary.md`` (the grid, then each
failed stage's first diagnosis line) and ``report.html`` (the same grid, each cell linking to the stage in
that instance's ``report.html``, a failed stage's first diagnosis line in its cell). The release gate
prints the same grid (:func:`grid_markdown`, :func:`grid_text`) without any diagnosis.

The grid has one row per stage and one column per instance: a nightly matrix has a few instances and a
dozen stages with long names, so that way round it stays narrow. Stages are listed in the order they first
appear across the instances (every instance of one scenario runs them in the same order).
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from nautes_e2e.report.html_page import Section, definitions, link, render_page, text
from nautes_e2e.report.summary import STATUS_MARKS
from nautes_e2e.secrets import redact

#: What a cell says for a stage an instance's report does not name.
ABSENT = "-"
#: The result of an instance whose report.json could not be read: the page still shows the others.
UNREADABLE = "unreadable"
#: The stage column's share of the page; the instances share the rest (``table-layout: fixed``).
STAGE_COLUMN_PERCENT = 22


@dataclass(frozen=True)
class StageCell:
    """One stage of one instance: its status, why it was skipped, the first line of its diagnosis."""

    status: str
    skip_reason: str | None = None
    diagnosis: str | None = None


@dataclass(frozen=True)
class InstanceColumn:
    """One instance as the grid shows it: its name, its run's result and its stages by name."""

    name: str
    result: str
    stages: Mapping[str, StageCell]
    #: The instance's ``report.json`` (its ``report.html`` and evidence sit beside it).
    report: Path


def read_instance(name: str, report: Path) -> InstanceColumn:
    """The column of the instance whose ``report.json`` is ``report``; one whose report cannot be read
    (a worker killed before it wrote it) is shown as :data:`UNREADABLE`, with no stages, rather than
    hiding the other instances."""
    try:
        document = json.loads(report.read_text(encoding="utf-8"))
        result = document["run"]["result"]
        stages = {
            stage["name"]: StageCell(
                status=stage["status"],
                skip_reason=stage.get("skip_reason"),
                diagnosis=_first_line(stage.get("diagnosis")),
            )
            for stage in document["stages"]
        }
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return InstanceColumn(name, UNREADABLE, {}, report)
    if not isinstance(result, str) or not all(isinstance(key, str) for key in stages):
        return InstanceColumn(name, UNREADABLE, {}, report)
    return InstanceColumn(name, result, stages, report)


def _first_line(diagnosis: object) -> str | None:
    if not isinstance(diagnosis, str) or not diagnosis.strip():
        return None
    return diagnosis.strip().splitlines()[0]


def stage_names(columns: Sequence[InstanceColumn]) -> list[str]:
    """Every stage any instance names, in the order they first appear."""
    names: dict[str, None] = {}
    for column in columns:
        names |= dict.fromkeys(column.stages)
    return list(names)


def _status(column: InstanceColumn, stage: str) -> str:
    cell = column.stages.get(stage)
    return ABSENT if cell is None else cell.status


def grid_markdown(columns: Sequence[InstanceColumn], result_label: str = "result") -> list[str]:
    """The grid as a Markdown table: a row of each instance's result (headed ``result_label``), then one
    row per stage."""
    lines = [
        "| stage | " + " | ".join(_md(column.name) for column in columns) + " |",
        "|---|" + "---|" * len(columns),
        f"| **{result_label}** | " + " | ".join(f"**{_md(column.result)}**" for column in columns) + " |",
    ]
    for stage in stage_names(columns):
        cells = []
        for column in columns:
            status = _status(column, stage)
            cells.append(f"{STATUS_MARKS.get(status, '')} {status}".strip())
        lines.append(f"| {_md(stage)} | " + " | ".join(cells) + " |")
    return lines


def grid_text(columns: Sequence[InstanceColumn], result_label: str = "result") -> list[str]:
    """The grid for a terminal: fixed-width columns, a row of results (headed ``result_label``), then one
    row per stage."""
    stages = stage_names(columns)
    first = max([len("stage"), len(result_label), *map(len, stages)])
    widths = [max(len(column.name), len(column.result), len("skipped")) for column in columns]

    def row(head: str, cells: Sequence[str]) -> str:
        return "  ".join(
            [f"{head:<{first}}", *(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True))]
        ).rstrip()

    lines = [row("stage", [column.name for column in columns])]
    lines.append(row(result_label, [column.result for column in columns]))
    lines += [row(stage, [_status(column, stage) for column in columns]) for stage in stages]
    return lines


def _md(value: str) -> str:
    return " ".join(value.split()).replace("|", "\\|")


def render_matrix_summary(run_id: str, columns: Sequence[InstanceColumn], run_dir: Path) -> str:
    """``summary.md`` of a matrix run: the grid, then the first diagnosis line of every stage that failed,
    with the instance's own summary to read on."""
    failing = [column for column in columns if column.result != "passed"]
    verdict = "passed" if columns and not failing else "failed"
    lines = [f"## nautes-e2e matrix `{run_id}`: {verdict}", "", *grid_markdown(columns)]
    diagnosed = [
        (column, stage, cell)
        for column in columns
        for stage, cell in column.stages.items()
        if cell.status in ("failed", "error")
    ]
    if diagnosed:
        lines += ["", "### Diagnosis (first lines)", ""]
        for column, stage, cell in diagnosed:
            where = _relative(column.report.parent / "summary.md", run_dir)
            first_line = _md(cell.diagnosis or cell.status)
            lines.append(f"- **{_md(column.name)}** / {_md(stage)}: {first_line} ([more]({where}))")
    unreadable = [column.name for column in columns if column.result == UNREADABLE]
    if unreadable:
        lines += ["", "Reports that could not be read: " + ", ".join(unreadable)]
    return "\n".join(lines) + "\n"


def render_matrix_html(run_id: str, columns: Sequence[InstanceColumn], run_dir: Path) -> str:
    """``report.html`` of a matrix run: the instance-by-stage grid on the single run's frame."""
    failing = [column.name for column in columns if column.result != "passed"]
    verdict = "passed" if columns and not failing else "failed"
    overview = definitions(
        {
            "run": run_id,
            "instances": str(len(columns)),
            "not passed": ", ".join(failing) or "none",
        },
        css_class="header",
    )
    return render_page(
        f"nautes-e2e matrix {run_id}: {verdict}",
        [
            Section("Run", [overview], id="run"),
            Section("Instances", [_grid_table(columns, run_dir)], id="grid"),
        ],
    )


def _grid_table(columns: Sequence[InstanceColumn], run_dir: Path) -> ET.Element:
    table = ET.Element("table", {"class": "matrix"})
    widths = ET.SubElement(table, "colgroup")
    ET.SubElement(widths, "col", style=f"width: {STAGE_COLUMN_PERCENT}%")
    share = (100 - STAGE_COLUMN_PERCENT) / max(1, len(columns))
    for _ in columns:
        ET.SubElement(widths, "col", style=f"width: {share:.2f}%")
    heading = ET.SubElement(table, "tr")
    text(heading, "th", "stage")
    for column in columns:
        cell = ET.SubElement(heading, "th")
        link(cell, column.name, _page(column, run_dir))
        ET.SubElement(cell, "br")
        text(cell, "span", column.result, css_class=f"status {column.result}")
    for stage in stage_names(columns):
        row = ET.SubElement(table, "tr")
        text(row, "th", stage)
        for column in columns:
            row.append(_grid_cell(column, stage, run_dir))
    return table


def _grid_cell(column: InstanceColumn, stage: str, run_dir: Path) -> ET.Element:
    cell = ET.Element("td")
    found = column.stages.get(stage)
    if found is None:
        cell.text = ABSENT
        return cell
    cell.set("class", f"cell {found.status}")
    kind = "diagnosis" if found.status in ("failed", "error") else "stage"
    anchor = quote(redact(f"{kind}-{stage}"))
    status = link(cell, found.status, f"{_page(column, run_dir)}#{anchor}")
    status.set("class", f"status {found.status}")
    if found.status in ("failed", "error"):
        text(cell, "pre", found.diagnosis or "no diagnosis was recorded", css_class="diagnosis")
    elif found.skip_reason:
        text(cell, "p", found.skip_reason, css_class="reason")
    return cell


def _page(column: InstanceColumn, run_dir: Path) -> str:
    return quote(redact(_relative(column.report.parent / "report.html", run_dir)))


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def write_matrix_summary(run_dir: Path, instance_reports: Mapping[str, Path]) -> None:
    """Write ``summary.md`` and ``report.html`` of the matrix run in ``run_dir`` over the instances'
    ``report.json`` (by instance name, in the order given), every byte redacted."""
    columns = [read_instance(name, report) for name, report in instance_reports.items()]
    run_dir.mkdir(parents=True, exist_ok=True)
    documents = {
        "summary.md": render_matrix_summary(run_dir.name, columns, run_dir),
        "report.html": render_matrix_html(run_dir.name, columns, run_dir),
    }
    for name, document in documents.items():
        (run_dir / name).write_text(redact(document), encoding="utf-8")
