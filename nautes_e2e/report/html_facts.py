"""A stage's facts as a person reads them in ``report.html``: one list item per fact, a mapping (the TaskRun
map, the repository ids) as a nested list of its keys, a list of plain values on one line, never raw JSON,
whose one long line would stretch the stage table past the window."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from nautes_e2e.report.html_page import text

#: What an empty mapping or list reads as.
NOTHING = "none"


def fact_list(facts: Mapping[str, object]) -> ET.Element:
    """``<ul class="facts">``: ``key: value`` per fact, structured values nested below their key."""
    element = ET.Element("ul", {"class": "facts"})
    _items(element, facts)
    return element


def _items(parent: ET.Element, facts: Mapping[str, object]) -> None:
    for key, value in facts.items():
        item = ET.SubElement(parent, "li")
        text(item, "span", str(key), css_class="key")
        _value(item, value)


def _value(item: ET.Element, value: object) -> None:
    """Below the key: a nested list for a mapping or a list holding structures, else ``: value``."""
    if isinstance(value, Mapping) and value:
        _items(ET.SubElement(item, "ul"), value)
    elif isinstance(value, list | tuple) and any(_structured(entry) for entry in value):
        entries = ET.SubElement(item, "ul")
        for index, entry in enumerate(value, start=1):
            numbered = ET.SubElement(entries, "li")
            text(numbered, "span", f"#{index}", css_class="key")
            _value(numbered, entry)
    else:
        item[-1].tail = ": "
        text(item, "span", _plain(value), css_class="value")


def _structured(value: object) -> bool:
    return isinstance(value, Mapping | list | tuple)


def _plain(value: object) -> str:
    """A value without structure as text: strings as they are, a list of them joined, others as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return ", ".join(_plain(entry) for entry in value) if value else NOTHING
    return json.dumps(value, default=str)
