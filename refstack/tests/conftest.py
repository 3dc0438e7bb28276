"""The markers of the reference stack's tests, registered here so they hold wherever pytest starts.

From the repository root (``pytest refstack/tests``) the harness's ini file is the one pytest reads, from
``refstack/`` it is ``refstack/pyproject.toml``; this conftest is loaded in both cases, so it is the one
place the markers are declared.
"""

from __future__ import annotations

import pytest

MARKERS = (
    "docker: needs a running Docker engine",
    "kubectl: needs the kubectl binary",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
