"""The harness's own tests send themselves and their quickstart runs SIGINT, and expect Python's default
(KeyboardInterrupt in the process, pytest's orderly stop in a run). A test session started with SIGINT
ignored — ``cmd &`` from a non-interactive shell, ``nohup``, some CI runners — would hand that on to every
run it starts (an ignored signal stays ignored across exec, and the harness keeps it so on purpose), so
the session takes Python's default back before any test or worker starts."""

from __future__ import annotations

import signal

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    del config
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
