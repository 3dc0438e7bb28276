"""``field_selector`` filtering of list replies (NAUTES ``pkg/selector``).

A selector is ``key=value[,key=value]``; each key maps, per API, to a Go field path of the object being
listed (``Spec.Cluster``) and a match mode. Quirks kept: "In" mode is a *substring* test, a path ending
in ``.In`` matches any element of a list, ``!=`` is never accepted (no rule declares it), and a path that
ends on a struct is a type error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nautes_refstack.nautes import errors

_SYMBOL = re.compile(r"[^.\w\s]+", re.ASCII)


@dataclass(frozen=True)
class FieldRule:
    """Where a selector key points (Go field path) and how it compares (``eq``, ``in`` or ``bool``)."""

    path: str
    mode: str


class _SelectorError(Exception):
    pass


def matches(selector: str, view: dict[str, Any], rules: dict[str, FieldRule]) -> bool:
    """Whether ``view`` (the object with Go field names) passes ``selector``; errors are plain 500s."""
    if not selector:
        return True
    for key, symbol, value in _parse(selector):
        rule = rules.get(key) if symbol == "=" else None
        if rule is None:
            raise errors.plain(
                f"failed to get selector, the filter field {key} operator symbol {symbol} is not supported"
            )
        try:
            if not _match(view, value, rule.path.split("."), rule.mode):
                return False
        except _SelectorError as failure:
            raise errors.plain(f"failed to match resource, err: {failure}") from None
    return True


def _parse(selector: str) -> list[tuple[str, str, str]]:
    filters: list[tuple[str, str, str]] = []
    for part in selector.split(","):
        symbol = _SYMBOL.search(part)
        if symbol is None:
            raise errors.plain(f"this operation symbol is not supported: {part}")
        pieces = part.split(symbol.group(0))
        if len(pieces) != 2:
            raise errors.plain(f"the parameter {selector} is wrong, eg: key=value")
        filters.append((pieces[0], symbol.group(0), pieces[1]))
    return filters


def _match(current: Any, value: str, names: list[str], mode: str) -> bool:
    for index, name in enumerate(names):
        if not isinstance(current, dict) or name not in current:
            raise _SelectorError(f"the field {name} value is invalid")
        current = current[name]
        if isinstance(current, list):
            rest = names[index + 1 :]
            for element in current:
                hit = _compare(element, value, mode) if rest == ["In"] else _match(element, value, rest, mode)
                if hit:
                    return True
            return False
        if index == len(names) - 1:
            return _compare(current, value, mode)
        if not isinstance(current, dict):
            raise _SelectorError(f"matchResource: field {name} is not a struct or pointer to struct")
    return False


def _go_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "slice"
    return "struct" if isinstance(value, dict) else "ptr"


def _compare(actual: Any, value: str, mode: str) -> bool:
    if mode == "bool":
        if not isinstance(actual, bool):
            raise _SelectorError(
                f"inconsistent data type, expected is 'Bool', but now is '{_go_kind(actual)}'"
            )
        if value not in ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"):
            raise _SelectorError(f"match value must be a Boolean value: {value}")
        return actual == (value in ("1", "t", "T", "TRUE", "true", "True"))
    if not isinstance(actual, str):
        raise _SelectorError(f"inconsistent data type, expected is 'String', but now is '{_go_kind(actual)}'")
    return value in actual if mode == "in" else actual == value
