"""The harness's own tests send themselves and their quickstart runs SIGINT, and expect Python's default
(KeyboardInterrupt in the process, pytest's orderly stop in a run). A test session started with SIGINT
ignored — ``cmd &`` from a non-interactive shell, ``nohup``, some CI runners — would hand that on to every
run it starts (an ignored signal stays ignored across exec, and the harness keeps it so on purpose), so
the session takes Python's default back before any test or worker starts.

Under ``-n`` the tests are shared out by ``--dist loadgroup`` instead of xdist's default ``load``: as
``load``, except that the tests of one ``xdist_group`` go to one worker, so the fault cases that share a
warm stack all run in one process, which starts them side by side (``tests/faults/test_stage_faults.py``)."""

from __future__ import annotations

import signal

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "dist", None) == "load" and getattr(config.option, "numprocesses", None):
        config.option.dist = "loadgroup"
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
