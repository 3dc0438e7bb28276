"""``report.html``: the run for a person with a browser — a header, a stage timeline, the stage table with
facts, diagnoses and evidence links, and the scenario notes — in one file that needs nothing else (inline
CSS, no script, no external resource), so it can be opened straight from a CI artifact.

The page is built with :mod:`xml.etree.ElementTree`, which escapes every text and attribute by construction,
and serialised as polyglot XHTML (browsers read it as HTML, XML parsers accept it). Every string taken from
the report goes through :func:`nautes_e2e.secrets.redact` *before* it is escaped: a secret holding ``&`` or
``<`` would no longer match once escaped, so redacting the finished page (as the writer also does) is not
enough on its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import quote

from nautes_e2e.report.model import Report, format_fact
from nautes_e2e.secrets import redact
from nautes_e2e.stages.model import StageRecord

# Kept free of ``<``, ``>`` and ``&``: ElementTree escapes them in text, and a browser does not unescape the
# content of <style>.
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; }
h1 { font-size: 1.4em; margin-bottom: 0.3em; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
dl.header { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1em; }
dl.header dt { font-weight: 600; }
dl.header dd { margin: 0; white-space: pre-wrap; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0; font-size: 0.9em; }
ul.facts { margin: 0; padding-left: 1.1em; font-size: 0.9em; }
.status { font-weight: 600; }
.status.passed { color: #1a7f37; } .status.failed { color: #cf222e; } .status.error { color: #8250df; }
.status.skipped { color: #9a6700; } .status.running { color: #0969da; }
.status.interrupted { color: #9a6700; }
table.timeline td, table.timeline th { border: none; padding: 0.1em 0.5em; }
table.timeline th { background: none; font-weight: normal; white-space: nowrap; width: 1%; }
table.timeline td.track { background: #f6f8fa; }
table.timeline td.when { white-space: nowrap; width: 1%; font-size: 0.85em; color: #57606a; }
rect.passed { fill: #2da44e; } rect.failed { fill: #cf222e; } rect.error { fill: #8250df; }
rect.skipped { fill: #d4a72c; } rect.running { fill: #0969da; }
"""

#: The narrowest bar, in percent of the run, so that a stage that took a millisecond still shows.
MIN_BAR_PERCENT = 0.4
BAR_HEIGHT_PX = 14


def render_html(report: Report) -> str:
    html = ET.Element("html", lang="en")
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "meta", charset="utf-8")
    _text(head, "title", f"nautes-e2e {_title(report)}")
    _text(head, "style", STYLE)
    body = ET.SubElement(html, "body")
    _text(body, "h1", f"nautes-e2e {_title(report)}")
    body.append(_header(report))
    _text(body, "h2", "Timeline")
    body.append(_timeline(report))
    _text(body, "h2", "Stages")
    body.append(_stage_table(report))
    notes = _notes(report)
    if notes is not None:
        _text(body, "h2", "Notes")
        body.append(notes)
    if report.environment:
        _text(body, "h2", "Environment")
        body.append(_definitions(dict(report.environment), css_class="header"))
    ET.indent(html)
    return "<!DOCTYPE html>\n" + ET.tostring(html, encoding="unicode") + "\n"


def _title(report: Report) -> str:
    scenario = report.scenario.name if report.scenario else "stages"
    return f"{scenario}: {report.run.verdict}"


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
        **({f"{run.error.kind} error": run.error.message} if run.error is not None else {}),
        "run": run.id,
        "started": f"{run.started:%Y-%m-%d %H:%M:%S} UTC",
        "duration": f"{run.duration_s:.1f} s",
        "environment kept": "yes (--keep-env)" if run.kept_environment else "no",
        "command line": run.command_line,
    }
    header = _definitions(rows, css_class="header")
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
        label = ET.SubElement(row, "th")
        _text(label, "a", stage.name).set("href", f"#{_anchor(stage)}")
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
        _text(bar, "title", f"{stage.name}: {stage.status}, {stage.duration_s:.2f} s")
        _text(row, "td", f"+{offsets[stage.name]:.1f} s · {stage.duration_s:.1f} s", css_class="when")
    return table


def _offset_s(stage: StageRecord, run_start: datetime) -> float:
    """Seconds from the run's start to the stage's (0 when the stage has no start on record)."""
    if not stage.start:
        return 0.0
    return max(0.0, (datetime.fromisoformat(stage.start) - run_start).total_seconds())


def _stage_table(report: Report) -> ET.Element:
    table = ET.Element("table", {"class": "stages"})
    heading = ET.SubElement(table, "tr")
    for title in ("stage", "status", "duration", "facts", "diagnosis", "evidence"):
        _text(heading, "th", title)
    for stage in report.stages:
        row = ET.SubElement(table, "tr", id=_anchor(stage))
        _text(row, "td", stage.name)
        _text(row, "td", stage.status, css_class=f"status {stage.status}")
        _text(row, "td", f"{stage.duration_s:.1f} s")
        row.append(_facts(stage))
        row.append(_diagnosis(stage))
        row.append(_evidence(stage))
    return table


def _anchor(stage: StageRecord) -> str:
    return quote(f"stage-{redact(stage.name)}")


def _facts(stage: StageRecord) -> ET.Element:
    cell = ET.Element("td")
    if not stage.facts:
        cell.text = "-"
        return cell
    facts = ET.SubElement(cell, "ul", {"class": "facts"})
    for key, value in stage.facts.items():
        _text(facts, "li", f"{key} = {format_fact(value)}")
    return cell


def _diagnosis(stage: StageRecord) -> ET.Element:
    """The diagnosis of a stage that did not pass, else its skip reason, then its notes."""
    cell = ET.Element("td")
    lines = [text for text in (stage.diagnosis, stage.skip_reason) if text]
    if not lines and not stage.notes:
        cell.text = "-"
    for text in lines:
        _text(cell, "pre", text)
    for note in stage.notes:
        _text(cell, "p", f"note: {note}")
    return cell


def _evidence(stage: StageRecord) -> ET.Element:
    """Links relative to the run's folder, where report.html sits next to ``evidence/``."""
    cell = ET.Element("td")
    if not stage.evidence:
        cell.text = "-"
        return cell
    links = ET.SubElement(cell, "ul", {"class": "facts"})
    for path in stage.evidence:
        item = ET.SubElement(links, "li")
        _text(item, "a", path).set("href", quote(redact(path)))
    return cell


def _notes(report: Report) -> ET.Element | None:
    """The scenario's notes: where the quickstart's text and Nautes v0.4.x differ, and what the run did."""
    if report.scenario is None or not report.scenario.notes:
        return None
    table = ET.Element("table", {"class": "notes"})
    heading = ET.SubElement(table, "tr")
    for title in ("topic", "the quickstart says", "v0.4.x", "source"):
        _text(heading, "th", title)
    for note in report.scenario.notes:
        row = ET.SubElement(table, "tr")
        for text in (note.topic, note.quickstart, note.behaviour, note.source):
            _text(row, "td", text)
    return table


def _definitions(rows: dict[str, str], css_class: str) -> ET.Element:
    definitions = ET.Element("dl", {"class": css_class})
    for term, value in rows.items():
        _text(definitions, "dt", term)
        _text(definitions, "dd", value)
    return definitions


def _text(parent: ET.Element, tag: str, text: str, css_class: str | None = None) -> ET.Element:
    """A child element holding ``text``, redacted before ElementTree escapes it. Never empty: an empty
    ``<td/>`` would be read by a browser as an unclosed cell."""
    element = ET.SubElement(parent, tag, {"class": css_class} if css_class else {})
    element.text = redact(text) or "-"
    return element
