"""What every fidelity suite shares: one standalone reference stack per test process (``nautes-e2e refstack
up``, as a user starts it), which the upstream suites are pointed at (the ``fidelity`` marker is declared in
pyproject.toml)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.warm_stack import WarmStack, start_warm_stack


@pytest.fixture(scope="session")
def fidelity_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmStack]:
    """A standalone stack for this test process; its ``target.yaml`` and ``credentials.env`` say where its
    services are and how to reach them."""
    stack = start_warm_stack(tmp_path_factory.mktemp("fidelity-stack"))
    try:
        yield stack
    finally:
        stack.stop()
