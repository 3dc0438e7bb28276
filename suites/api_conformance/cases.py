"""A refusal check as data: one request and the kratos error body the contract says it gets.

Paths, bodies and messages may name this run's objects with placeholders (``{product}``,
``{absent_product}``, ``{absent_cluster}``: :meth:`ConformanceNames.values`); ``{any}`` in a message
stays, and matches any text (:data:`~suites.api_conformance.wire.ANY`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from suites.api_conformance.wire import ANY, Refusal


@dataclass(frozen=True)
class RefusalCase:
    """``method path`` with ``body`` (JSON; None sends no body) is refused with ``refusal``."""

    check: str  # the stage name, unique in the run
    method: str
    path: str
    body: Mapping[str, Any] | None
    refusal: Refusal

    def param(self) -> Any:
        """This case as a parametrized test case that is its own stage."""
        return pytest.param(self, id=self.check, marks=pytest.mark.stage(self.check))

    def filled(self, values: Mapping[str, str]) -> RefusalCase:
        """The case with this run's names in place of the placeholders."""
        refusal = self.refusal
        return RefusalCase(
            self.check,
            self.method,
            fill(self.path, values),
            None if self.body is None else fill(dict(self.body), values),
            Refusal(refusal.code, refusal.reason, fill(refusal.message, values), refusal.source),
        )


def fill(template: Any, values: Mapping[str, str]) -> Any:
    """``template`` (a string, or lists and dicts of them) with ``{name}`` replaced; ``{any}`` is kept."""
    if isinstance(template, str):
        return template.format_map({**values, "any": ANY})
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    return template
