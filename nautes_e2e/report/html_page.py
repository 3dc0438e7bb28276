"""The frame every HTML page of the reports shares: one self-contained document (inline CSS, no script, no
external resource) made of titled sections, so that it opens straight from a CI artifact and reads at
1400 px without scrolling sideways.

A page is a title and a list of :class:`Section`; :func:`render_page` lays them out. The run's page
(:mod:`nautes_e2e.report.html`) is one such list; a page over a matrix of runs (an instance-by-stage grid
linking to each instance's ``report.html``) is another list on the same frame and the same stylesheet.

The page is built with :mod:`xml.etree.ElementTree`, which escapes every text and attribute by construction,
and serialised as polyglot XHTML (browsers read it as HTML, XML parsers accept it). Every string taken from
a report goes through :func:`nautes_e2e.secrets.redact` in :func:`text` *before* it is escaped: a secret
holding ``&`` or ``<`` would no longer match once escaped, so redacting the finished page (as the writer
also does) is not enough on its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nautes_e2e.secrets import redact

# Kept free of ``<``, ``>`` and ``&``: ElementTree escapes them in text, and a browser does not unescape the
# content of <style>. No width is ever wider than the window: long words (URLs, digests, paths) break
# anywhere rather than stretch a column (``anywhere``, unlike ``break-word``, also shrinks the width a table
# asks for its column), and the stage table's columns are fixed shares of the page.
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; }
h1 { font-size: 1.4em; margin-bottom: 0.3em; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
h3 { font-size: 1em; margin: 0 0 0.4em 0; }
td, th, dd, li, p, pre, a { overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
table.stages, table.matrix { table-layout: fixed; }
table.matrix td.failed, table.matrix td.error { background: #fff8f8; }
table.matrix pre.diagnosis { font-size: 0.85em; margin: 0.3em 0 0 0; }
table.matrix p.reason { font-size: 0.8em; color: #57606a; }
dl.header { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.15em 1em; }
dl.header dt { font-weight: 600; }
dl.header dd { margin: 0; white-space: pre-wrap; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.9em; }
p { margin: 0.2em 0; }
ul.facts, ul.evidence { margin: 0; padding-left: 1.1em; font-size: 0.9em; }
ul.facts ul { padding-left: 1.1em; }
span.key { font-weight: 600; }
article.problem { border-left: 4px solid #cf222e; background: #fff8f8; padding: 0.6em 1em; margin: 0.8em 0; }
article.problem.error { border-left-color: #8250df; background: #fbf8ff; }
pre.diagnosis { font-size: 1em; margin-bottom: 0.5em; }
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


@dataclass(frozen=True)
class Section:
    """One part of a page: ``content`` under an ``<h2>`` of ``heading``, in a ``<section>`` with ``id``
    (an anchor other pages and the page's own links point at)."""

    heading: str
    content: Sequence[ET.Element]
    id: str


def render_page(title: str, sections: Sequence[Section]) -> str:
    """The page: ``title`` as the window title and the ``<h1>``, then the sections in order."""
    html = ET.Element("html", lang="en")
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "meta", charset="utf-8")
    ET.SubElement(head, "meta", name="viewport", content="width=device-width, initial-scale=1")
    text(head, "title", title)
    text(head, "style", STYLE)
    body = ET.SubElement(html, "body")
    text(body, "h1", title)
    for section in sections:
        part = ET.SubElement(body, "section", id=section.id)
        text(part, "h2", section.heading)
        part.extend(section.content)
    ET.indent(html)
    return "<!DOCTYPE html>\n" + ET.tostring(html, encoding="unicode") + "\n"


def text(parent: ET.Element, tag: str, content: str, css_class: str | None = None) -> ET.Element:
    """A child element holding ``content``, redacted before ElementTree escapes it. Never empty: an empty
    ``<td/>`` would be read by a browser as an unclosed cell."""
    element = ET.SubElement(parent, tag, {"class": css_class} if css_class else {})
    element.text = redact(content) or "-"
    return element


def link(parent: ET.Element, content: str, href: str) -> ET.Element:
    """An ``<a>`` to ``href`` (already quoted for a URL, and redacted like the text)."""
    anchor = text(parent, "a", content)
    anchor.set("href", redact(href))
    return anchor


def definitions(rows: Mapping[str, str], css_class: str) -> ET.Element:
    """A ``<dl>`` of term and value pairs, in order."""
    element = ET.Element("dl", {"class": css_class})
    for term, value in rows.items():
        text(element, "dt", term)
        text(element, "dd", value)
    return element
