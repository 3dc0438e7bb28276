"""The fault-injection tests: the ``faults`` marker selects (``-m faults``) or skips (``-m "not faults"``) the
slow ones, which run the whole quickstart against a reference stack started with one fault."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "faults: runs the quickstart against a reference stack with an injected fault (slow, ~5-10 s each)",
    )
