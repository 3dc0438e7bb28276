"""The harness's own tests send themselves and their quickstart runs SIGINT, and expect Python's default
(KeyboardInterrupt in the process, pytest's orderly stop in a run). A test session started with SIGINT
ignored — ``cmd &`` from a non-interactive shell, ``nohup``, some CI runners — would hand that on to every
run it starts (an ignored signal stays ignored across exec, and the harness keeps it so on purpose), so
the session takes Python's default back before any test or worker starts.

Under ``-n`` the tests are shared out by work stealing (``--dist worksteal``) instead of xdist's default
``load``: a few tests run a whole quickstart (tens of seconds) among a thousand that take milliseconds, and
a worker that finished its share takes tests from the other's queue instead of idling at the end. (Not
``loadgroup``: pytest-xdist 3.8 marks a test's group by renaming ``item._nodeid``, which pytest 9 no longer
reads, so its groups are not kept together.)"""

from __future__ import annotations

import signal

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "dist", None) == "load" and getattr(config.option, "numprocesses", None):
        config.option.dist = "worksteal"
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
