"""Label and field selectors with the apiserver's syntax and semantics.

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists) and ``!k``,
comma-separated and all required. ``!=`` and ``notin`` also match objects without the label, as in
Kubernetes. Field selectors: ``field=value``, ``field==value``, ``field!=value`` on ``metadata.name``,
``metadata.namespace`` and the resource's own field labels; any other field is a 400, like the apiserver.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nautes_refstack.kube.errors import bad_request

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"[-A-Za-z0-9_.]*"
_SET = re.compile(rf"^(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQUALITY = re.compile(rf"^(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{_VALUE})$")
_EXISTS = re.compile(rf"^(?P<negated>!?)\s*(?P<key>{_KEY})$")
_FIELD = re.compile(r"^(?P<field>[A-Za-z0-9_.]+)\s*(?P<op>==|=|!=)\s*(?P<value>.*)$")
COMMON_FIELD_LABELS = ("metadata.name", "metadata.namespace")

LabelTest = Callable[[Mapping[str, str]], bool]


def _split_requirements(text: str) -> list[str]:
    """Split at the commas that are not inside ``( )`` value sets."""
    parts: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _parse_requirement(text: str) -> LabelTest:
    if match := _SET.match(text):
        key, values = match["key"], frozenset(v.strip() for v in match["values"].split(",") if v.strip())
        if match["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY.match(text):
        key, value = match["key"], match["value"]
        if match["op"] == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(text):
        key, negated = match["key"], bool(match["negated"])
        return lambda labels: (key in labels) != negated
    raise bad_request(f"unable to parse requirement: {text!r}")


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector; the empty selector matches everything."""

    requirements: tuple[LabelTest, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        return cls(tuple(_parse_requirement(part) for part in _split_requirements(text or "")))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(requirement(labels) for requirement in self.requirements)


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector: ``(field, must_equal, value)`` terms, all required."""

    terms: tuple[tuple[str, bool, str], ...] = ()

    @classmethod
    def parse(cls, text: str | None, extra_fields: tuple[str, ...] = ()) -> FieldSelector:
        terms: list[tuple[str, bool, str]] = []
        for part in _split_requirements(text or ""):
            match = _FIELD.match(part)
            if match is None:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
            if match["field"] not in COMMON_FIELD_LABELS + extra_fields:
                raise bad_request(f"field label not supported: {match['field']}")
            terms.append((match["field"], match["op"] != "!=", match["value"]))
        return cls(tuple(terms))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, field) == value) == equal for field, equal, value in self.terms)
