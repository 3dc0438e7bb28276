"""``report.html``: the run for a person with a browser. What a maintainer opens it for comes first: each
stage that failed (or errored) with its diagnosis in full and its evidence links, and the run's own error;
then the run's header, a stage timeline, the stage table with each stage's facts as readable lists, the
scenario notes and the environment. One self-contained file on the shared frame
(:mod:`nautes_e2e.report.html_page`), which keeps every text redacted and the page within the window.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import quote

from nautes_e2e.report.html_facts import fact_list
from nautes_e2e.report.html_page import Section, definitions, link, render_page, text
from nautes_e2e.report.model import Report
from nautes_e2e.secrets import redact
from nautes_e2e.stages.model import UNSUCCESSFUL, StageRecord

#: The narrowest bar, in percent of the run, so that a stage that took a millisecond still shows.
MIN_BAR_PERCENT = 0.4
BAR_HEIGHT_PX = 14
#: The stage table's columns and their shares of the page's width (``table-layout: fixed``).
STAGE_COLUMNS = {"stage": 19, "status": 7, "duration": 7, "facts": 42, "evidence": 25}


def render_html(report: Report) -> str:
    sections = [
        *_problems(report),
        Section("Run", [_header(report)], id="run"),
        Section("Timeline", [_timeline(report)], id="timeline"),
        Section("Stages", [_stage_table(report)], id="stages"),
    ]
    notes = _notes(report)
    if notes is not None:
        sections.append(Section("Notes", [notes], id="notes"))
    if report.environment:
        environment = definitions(dict(report.environment), css_class="header")
        sections.append(Section("Environment", [environment], id="environment"))
    return render_page(f"nautes-e2e {_title(report)}", sections)


def _title(report: Report) -> str:
    scenario = report.scenario.name if report.scenario else "stages"
    return f"{scenario}: {report.run.verdict}"


def _problems(report: Report) -> list[Section]:
    """The section "Why it did not pass": the run's error, then one block per stage that failed or errored,
    in the order they ran."""
    blocks = []
    if report.run.error is not None:
        block = ET.Element("article", {"class": "problem error", "id": "run-error"})
        text(block, "h3", f"{report.run.error.kind} error")
        text(block, "pre", report.run.error.message, css_class="diagnosis")
        blocks.append(block)
    blocks.extend(_problem(stage) for stage in report.failed_stages)
    return [Section("Why it did not pass", blocks, id="problems")] if blocks else []


def _problem(stage: StageRecord) -> ET.Element:
    """A failed stage's block: its name (linking to its row), status and duration, the diagnosis in full,
    its notes and its evidence links."""
    block = ET.Element("article", {"class": f"problem {stage.status}", "id": _anchor("diagnosis", stage)})
    heading = ET.SubElement(block, "h3")
    link(heading, stage.name, f"#{_anchor('stage', stage)}").tail = " "
    status = text(heading, "span", stage.status, css_class=f"status {stage.status}")
    status.tail = f" after {stage.duration_s:.1f} s"
    text(block, "pre", stage.diagnosis or "no diagnosis was recorded", css_class="diagnosis")
    for note in stage.notes:
        text(block, "p", f"note: {note}")
    if stage.evidence:
        block.append(_evidence_links(stage))
    return block


def _header(report: Report) -> ET.Element:
    run = report.run
    target = "unknown"
    if report.target is not None:
        target = report.target.name + (" (simulated)" if report.target.simulated else "")
    rows = {
        "scenario": report.scenario.name if report.scenario else "-",
        "target": target,
        "simulated": "unknown" if report.target is None else ("yes" if report.target.simulated else "no"),
        "result": run.verdict,
        "exit code": str(int(run.exit_code)),
        "run": run.id,
        "started": f"{run.started:%Y-%m-%d %H:%M:%S} UTC",
        "duration": f"{run.duration_s:.1f} s",
        "environment kept": "yes (--keep-env)" if run.kept_environment else "no",
        "command line": run.command_line,
    }
    header = definitions(rows, css_class="header")
    for term, value in zip(header.iter("dt"), header.iter("dd"), strict=True):
        if term.text == "result":
            value.set("class", f"status {run.result}")
    return header


def _timeline(report: Report) -> ET.Element:
    """One row per stage: a bar placed by the stage's start after the run's, as wide as its duration."""
    run_start = report.run.started
    offsets = {stage.name: _offset_s(stage, run_start) for stage in report.stages}
    span = max(
        [report.run.duration_s, *(offsets[s.name] + s.duration_s for s in report.stages), 1e-3],
    )
    table = ET.Element("table", {"class": "timeline"})
    for stage in report.stages:
        row = ET.SubElement(table, "tr")
        link(ET.SubElement(row, "th"), stage.name, f"#{_anchor('stage', stage)}")
        track = ET.SubElement(row, "td", {"class": "track"})
        svg = ET.SubElement(track, "svg", width="100%", height=str(BAR_HEIGHT_PX), role="img")
        left = min(100.0, offsets[stage.name] / span * 100)
        width = max(MIN_BAR_PERCENT, min(100.0 - left, stage.duration_s / span * 100))
        bar = ET.SubElement(
            svg,
            "rect",
            {
                "class": stage.status,
                "x": f"{left:.2f}%",
                "width": f"{width:.2f}%",
                "y": "0",
                "height": str(BAR_HEIGHT_PX),
            },
        )
        text(bar, "title", f"{stage.name}: {stage.status}, {stage.duration_s:.2f} s")
        text(row, "td", f"+{offsets[stage.name]:.1f} s · {stage.duration_s:.1f} s", css_class="when")
    return table


def _offset_s(stage: StageRecord, run_start: datetime) -> float:
    """Seconds from the run's start to the stage's (0 when the stage has no start on record)."""
    if not stage.start:
        return 0.0
    return max(0.0, (datetime.fromisoformat(stage.start) - run_start).total_seconds())


def _stage_table(report: Report) -> ET.Element:
    table = ET.Element("table", {"class": "stages"})
    columns = ET.SubElement(table, "colgroup")
    for share in STAGE_COLUMNS.values():
        ET.SubElement(columns, "col", style=f"width: {share}%")
    heading = ET.SubElement(table, "tr")
    for title in STAGE_COLUMNS:
        text(heading, "th", title)
    for stage in report.stages:
        row = ET.SubElement(table, "tr", id=_anchor("stage", stage))
        text(row, "td", stage.name)
        text(row, "td", stage.status, css_class=f"status {stage.status}")
        text(row, "td", f"{stage.duration_s:.1f} s")
        row.append(_outcome(stage))
        evidence = ET.SubElement(row, "td")
        if stage.evidence:
            evidence.append(_evidence_links(stage))
        else:
            evidence.text = "-"
    return table


def _anchor(kind: str, stage: StageRecord) -> str:
    """The id of a stage's row (``stage``) or diagnosis block (``diagnosis``), redacted then quoted."""
    return quote(redact(f"{kind}-{stage.name}"))


def _outcome(stage: StageRecord) -> ET.Element:
    """What a stage established: a link to its diagnosis above if it failed, else its skip reason, then its
    notes and its facts."""
    cell = ET.Element("td")
    if stage.status in UNSUCCESSFUL:
        link(ET.SubElement(cell, "p"), "diagnosis (above)", f"#{_anchor('diagnosis', stage)}")
    if stage.skip_reason:
        text(cell, "p", stage.skip_reason)
    for note in stage.notes:
        text(cell, "p", f"note: {note}")
    if stage.facts:
        cell.append(fact_list(stage.facts))
    if not len(cell):
        cell.text = "-"
    return cell


def _evidence_links(stage: StageRecord) -> ET.Element:
    """Links relative to the run's folder, where report.html sits next to ``evidence/``."""
    links = ET.Element("ul", {"class": "evidence"})
    for path in stage.evidence:
        link(ET.SubElement(links, "li"), path, quote(redact(path)))
    return links


def _notes(report: Report) -> ET.Element | None:
    """The scenario's notes: where the quickstart's text and Nautes v0.4.x differ, and what the run did."""
    if report.scenario is None or not report.scenario.notes:
        return None
    table = ET.Element("table", {"class": "notes"})
    heading = ET.SubElement(table, "tr")
    for title in ("topic", "the quickstart says", "v0.4.x", "source"):
        text(heading, "th", title)
    for note in report.scenario.notes:
        row = ET.SubElement(table, "tr")
        for content in (note.topic, note.quickstart, note.behaviour, note.source):
            text(row, "td", content)
    return table
