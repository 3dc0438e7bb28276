"""Tekton's ``$(...)`` variable substitution: params, task results, context, workspaces.

References are normalised (``params["x"]`` and ``params['x']`` become ``params.x``) and replaced only when
known; unknown references stay as written, which is what Tekton does with variables it does not own
(a shell's ``$(date)`` in a script survives). An array value replaces a string that is *exactly* one
reference (``$(params.GOALS)`` or ``$(params.GOALS[*])``) by splicing its elements into the surrounding
list, the only place Tekton allows arrays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ParamValue = str | list[str]

_REFERENCE = re.compile(r"\$\(([^()\s]+)\)")
_BRACKETED = re.compile(r"""^(params|tasks\.[^.\[]+\.results)\[(?:"([^"]+)"|'([^']+)')\](\[\*\])?$""")
RESULT_REFERENCE = re.compile(r"\$\(tasks\.([^.\[()]+)\.results\.([^.\[()\]]+)\)")


def normalise(expression: str) -> str:
    """``params["a.b"]`` -> ``params.a.b``; ``params.X[*]`` -> ``params.X`` (same value, array form)."""
    bracketed = _BRACKETED.match(expression)
    if bracketed:
        return f"{bracketed.group(1)}.{bracketed.group(2) or bracketed.group(3)}"
    return expression.removesuffix("[*]")


class Variables:
    """Values known at one point of a run, keyed by normalised expression (``params.REVISION``)."""

    def __init__(self, values: Mapping[str, ParamValue] | None = None) -> None:
        self.values: dict[str, ParamValue] = dict(values or {})

    def string(self, text: str) -> str:
        """Replace every known string-valued reference in ``text``."""

        def replace(match: re.Match[str]) -> str:
            value = self.values.get(normalise(match.group(1)))
            return value if isinstance(value, str) else match.group(0)

        return _REFERENCE.sub(replace, text)

    def array(self, items: list[Any]) -> list[Any]:
        """Substitute inside a list, splicing arrays referenced by a whole element."""
        result: list[Any] = []
        for item in items:
            if isinstance(item, str):
                whole = _REFERENCE.fullmatch(item)
                value = self.values.get(normalise(whole.group(1))) if whole else None
                if isinstance(value, list):
                    result.extend(value)
                    continue
            result.append(self.apply(item))
        return result

    def apply(self, value: Any) -> Any:
        """Substitute recursively in strings, lists and mappings (keys are left alone)."""
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, list):
            return self.array(value)
        if isinstance(value, dict):
            return {key: self.apply(item) for key, item in value.items()}
        return value


def result_references(value: Any) -> list[tuple[str, str]]:
    """Every ``$(tasks.T.results.R)`` in ``value`` (strings, lists, mappings), as ``(T, R)`` pairs."""
    if isinstance(value, str):
        return [(match.group(1), match.group(2)) for match in RESULT_REFERENCE.finditer(value)]
    if isinstance(value, list):
        return [reference for item in value for reference in result_references(item)]
    if isinstance(value, dict):
        return [reference for item in value.values() for reference in result_references(item)]
    return []
