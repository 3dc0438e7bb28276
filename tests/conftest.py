"""The harness's own tests send themselves and their quickstart runs SIGINT and SIGHUP, and expect Python's
default (KeyboardInterrupt in the process, pytest's orderly stop in a run). A test session started with
them ignored — ``cmd &`` from a non-interactive shell ignores SIGINT, ``nohup`` SIGHUP, and so do some CI
runners — would hand that on to every run it starts (an ignored signal stays ignored across exec, and the
harness keeps it so on purpose), so the session takes the defaults back before any test or worker starts.

Under ``-n`` the tests are shared out by work stealing (``--dist worksteal``) instead of xdist's default
``load``: a few tests run a whole quickstart (tens of seconds) among a thousand that take milliseconds, and
a worker that finished its share takes tests from the other's queue instead of idling at the end. (Not
``loadgroup``: pytest-xdist 3.8 marks a test's group by renaming ``item._nodeid``, which pytest 9 no longer
reads, so its groups are not kept together.)

``-n auto`` starts :data:`WORKERS_PER_CORE` workers per core the session may run on, not one: the command is
wait-bound, since a whole quickstart spends much of its time waiting on the stack's paced delays, its
controllers' polls and its subprocesses' start-ups, and a worker waiting on one leaves its core idle.
Measured with ``benchmarks/test_command.py`` on 2 cores: 2 workers took 340 s (408 CPU-seconds, 60 % busy),
4 workers 256-292 s (87-88 % busy), green three times in a row. More were not tried: the fault
matrix's 8 s stage timeout is what a heavier load would threaten first.
``PYTEST_XDIST_AUTO_NUM_WORKERS`` still overrides it, as pytest-xdist documents."""

from __future__ import annotations

import os
import signal

import pytest

#: Workers per core under ``-n auto``: shorter than one, and reliable (three whole runs green in a row); see
#: the module's docstring.
WORKERS_PER_CORE = 2


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """The worker count ``-n auto`` means here (``None``: pytest-xdist's own answer, for its override)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return WORKERS_PER_CORE * len(os.sched_getaffinity(0))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "dist", None) == "load" and getattr(config.option, "numprocesses", None):
        config.option.dist = "worksteal"
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
