"""A stopping stack ends within a bound, whatever hangs: one piece's stop is cut off and the next ones still
stop; a whole stop that hangs is ended by the deadline (or at once by a second signal), the children
killed, the directory released, every thread's stack in the log.

The hang is injected into a real ``up`` in a subprocess: ``ReferenceStack.stop`` replaced by one that
never returns, as seen under load (an idle event loop waiting on something that never comes).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from nautes_refstack import stack as stack_module
from nautes_refstack.stop_deadline import STOP_HUNG_EXIT
from nautes_refstack.world_dir import LOCK_FILE, TARGET_FILE
from support.processes import alive, child_processes

STARTUP_S = 30.0
HangingStack = tuple[subprocess.Popen[str], Path]

# A stack whose stop hangs for good (and, given a second argument, whose deadline is that many seconds).
HANGING_STOP = """
import asyncio, sys
from nautes_refstack import __main__ as cli, stack, stop_deadline

async def hang(self):
    await asyncio.Event().wait()

stack.ReferenceStack.stop = hang
if len(sys.argv) > 2:
    stop_deadline.STOP_DEADLINE_SECONDS = float(sys.argv[2])
sys.exit(cli.main(["up", "--dir", sys.argv[1]]))
"""


@pytest.fixture
def hanging_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[HangingStack]:
    directory = tmp_path / "stack"
    arguments = [str(directory), *getattr(request, "param", ())]
    process = subprocess.Popen(
        [sys.executable, "-c", HANGING_STOP, *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_S
        while not (directory / "ready").exists():
            assert process.poll() is None, f"the stack exited before it was ready: {process.stderr}"
            assert time.monotonic() < deadline, "the stack was not ready in time"
            time.sleep(0.05)
        yield process, directory
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def assert_ended_cleanly(process: subprocess.Popen[str], directory: Path, children: dict[int, str]) -> None:
    assert process.returncode == STOP_HUNG_EXIT
    assert not [command for pid, command in children.items() if alive(pid)], "a child outlived the stack"
    assert not (directory / TARGET_FILE).exists()
    assert not (directory / LOCK_FILE).exists()
    log = (directory / "logs" / "refstack.log").read_text()
    assert "stop cut short" in log
    assert "Current thread" in log or "Thread 0x" in log, "no thread stacks in the log: what hung is lost"


@pytest.mark.parametrize("hanging_stack", [("1.5",)], indirect=True)
def test_a_stop_that_hangs_is_ended_by_the_deadline(hanging_stack: HangingStack) -> None:
    process, directory = hanging_stack
    children = child_processes(process.pid)
    assert any("bao server" in command for command in children.values())

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)

    assert_ended_cleanly(process, directory, children)
    assert "(deadline," in (directory / "logs" / "refstack.log").read_text()


def test_a_second_signal_ends_a_hanging_stop_at_once(hanging_stack: HangingStack) -> None:
    process, directory = hanging_stack
    children = child_processes(process.pid)

    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert process.poll() is None, "the injected hang did not hold the stop: the test proves nothing"
    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)  # well before the default deadline

    assert_ended_cleanly(process, directory, children)
    assert "(second signal," in (directory / "logs" / "refstack.log").read_text()


async def _waits_for_good() -> None:
    await asyncio.Event().wait()


async def _waits_for_good_despite_a_cancel() -> None:
    """A stop that swallows its cancel and waits on, as one that awaits a task under
    ``suppress(CancelledError)`` or more stops in a ``finally`` does."""
    for _ in range(2):
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()


@pytest.mark.parametrize("hang", [_waits_for_good, _waits_for_good_despite_a_cancel])
def test_a_piece_whose_stop_hangs_is_cut_off_and_the_next_one_still_stops(
    hang: Callable[[], Awaitable[None]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stack_module, "PIECE_STOP_SECONDS", 0.2)
    stopped: list[str] = []

    class Hangs:
        async def start(self) -> None: ...

        async def stop(self) -> None:
            await hang()

    class Stops:
        async def start(self) -> None: ...

        async def stop(self) -> None:
            stopped.append("stops")

    async def stop_both() -> None:
        for piece in (Hangs(), Stops()):
            await stack_module._stop_bounded(piece)

    asyncio.run(asyncio.wait_for(stop_both(), timeout=5))
    assert stopped == ["stops"]
    assert "Hangs did not stop within" in caplog.text


# A process with two children that it kills with kill_children (in a process of its own: a test worker's
# other children are none of this test's business).
KILLS_ITS_CHILDREN = """
import subprocess
from nautes_refstack.stop_deadline import kill_children
sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(2)]
killed = kill_children()
print(sorted(sleeper.pid for sleeper in sleepers), sorted(killed))
print([sleeper.wait(timeout=5) for sleeper in sleepers])
"""


def test_kill_children_kills_every_child_and_names_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLS_ITS_CHILDREN], capture_output=True, text=True, timeout=30, check=True
    )
    started, killed = done.stdout.splitlines()[0].split("] [")
    assert started.strip("[]") == killed.strip("[]")
    assert done.stdout.splitlines()[1] == f"[{-signal.SIGKILL}, {-signal.SIGKILL}]"
