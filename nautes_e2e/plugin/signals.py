"""SIGTERM and SIGHUP end a run the way Ctrl-C does, and a second signal ends it at once.

A CI system stops a job with SIGTERM (a cancelled job, ``timeout``, a pod being deleted), a closed terminal
sends SIGHUP; pytest only knows SIGINT, and Python's default for the others is to die on the spot: no
teardown stage, no reports, the world left running. Here all three take the same path:

1. The first signal stops the stage where it is (a ``KeyboardInterrupt``, what Ctrl-C raises). pytest then
   runs the session's finalizers: the ``teardown`` stage (``nautes remove`` and the leftover checks), the
   world's stop; the reports are written, and the run exits with pytest's ``INTERRUPTED`` (2). The
   recorder keeps the signal's name, for the reports. A first signal that arrives while the run is already
   closing (inside :meth:`Interrupts.closing`: the teardown stage, the world's stop) lets that finish.
2. A second signal stops at once: the reference stacks this process started are killed with everything
   they started, nothing more is waited for (a teardown stage still running is cut short and says so),
   the world's directory is removed and the reports are written as the session unwinds, and whatever
   happens the process exits within :data:`STOP_DEADLINE_S` (removing its world directories first). A
   third signal exits there and then. The second signal raises nothing outside the teardown's
   :meth:`Interrupts.closing`: the session is already unwinding from the first, and an interrupt in
   pytest's own unwinding would leave it without reports.
3. Under pytest-xdist a signal sent to the process group reaches the controller and every worker. Workers
   ignore those three signals; the controller passes the interrupt on (:data:`PASS_ON_INTERRUPT`,
   :data:`PASS_ON_STOP`), keeps collecting the workers' reports while they close, and takes over their
   final records (the teardown stage runs after the last report a worker sends, so the records travel
   with the worker's end of session). A group signal and one sent to the controller alone thus interrupt
   each worker exactly once.

Only a session that runs stages takes the signals over (an xdist controller: one that selects stage
suites); any other, the harness's own tests among them, keeps Python's behaviour.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from nautes_e2e.plugin.run import run_state
from nautes_e2e.plugin.stages import stage_spec
from nautes_e2e.plugin.xdist import SUITES_DIR, is_xdist_worker
from nautes_e2e.stages import StageRecorder
from nautes_e2e.targets.local import kill_started_stacks

#: The signals that stop a run: Ctrl-C, what CI systems and ``kill`` send, a closed terminal.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
#: What an xdist controller sends its workers for a first signal, and for the second.
PASS_ON_INTERRUPT = getattr(signal, "SIGUSR1", None)
PASS_ON_STOP = getattr(signal, "SIGUSR2", None)
#: After the second signal the process exits within this many seconds, whatever it is doing.
STOP_DEADLINE_S = 10.0
#: The key of an xdist worker's ``workeroutput`` that carries its recorder's final state.
FINAL_RECORDS = "nautes_e2e_final_records"


class Interrupts:
    """What the run does with SIGINT, SIGTERM and SIGHUP (see the module's docstring)."""

    def __init__(self, recorder: StageRecorder, *, worker: bool) -> None:
        self.recorder = recorder
        self.worker = worker
        #: The signal that interrupted the run (or the controller's word, on a worker), if any.
        self.cause: str | None = None
        self.stopping = False
        #: The session, once it has started: a signal that cuts nothing short ends it after the current test.
        self.session: pytest.Session | None = None
        self._closing = 0
        self._interruptible = 0
        self._workers: dict[str, int] = {}
        self._last_resorts: list[Callable[[], None]] = []
        self._previous: dict[int, Any] = {}
        self._stderr: int | None = None
        #: Whether SIGINT, SIGTERM and SIGHUP are taken over (see :meth:`arm`).
        self.armed = False

    def prepare(self) -> None:
        """At configuration: a worker handles what its controller passes on from the start (a signal it
        has no handler for would kill it); anything else keeps a copy of stderr to speak through (pytest
        may be capturing the real one when a signal comes)."""
        if self.worker:
            self._handle((PASS_ON_INTERRUPT, PASS_ON_STOP), self._on_signal)
        else:
            self._stderr = os.dup(2)

    def arm(self) -> None:
        """Take SIGINT, SIGTERM and SIGHUP over, once it is known that the session runs stages (or, on an
        xdist controller, a stage suite): a session without them keeps Python's own behaviour, which the
        harness's own tests rely on when they send a signal to themselves. A worker lets its controller
        decide (a handler that does nothing, not SIG_IGN: a process it starts would inherit an ignored
        signal, and a handled one is reset for it)."""
        if not self.armed:
            self.armed = True
            self._handle(STOP_SIGNALS, _ignore if self.worker else self._on_signal)

    def _handle(
        self, signals: tuple[int | None, ...], handler: Callable[[int, FrameType | None], None]
    ) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may (an in-process run inside a test's thread)
        for signum in signals:
            if signum is None or signal.getsignal(signum) == signal.SIG_IGN:
                continue  # started ignoring it (nohup, a background job): it stays ignored
            self._previous.setdefault(signum, signal.getsignal(signum))
            signal.signal(signum, handler)

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(signum, handler)
        self._previous.clear()
        if self._stderr is not None:
            os.close(self._stderr)
            self._stderr = None

    @contextmanager
    def closing(self, *, interruptible: bool = True) -> Iterator[None]:
        """The run's own way out (the teardown stage, stopping the world): a first signal lets it finish.
        A second cuts an ``interruptible`` one short (the teardown's waits), and the session goes on
        unwinding (the interrupt ends here); one that is not (stopping the world, which ends quickly once
        the stacks are killed) finishes, within the deadline."""
        self._closing += 1
        self._interruptible += interruptible
        try:
            yield
        except KeyboardInterrupt:
            if not self.stopping:
                raise
        finally:
            self._closing -= 1
            self._interruptible -= interruptible

    def at_last_resort(self, cleanup: Callable[[], None]) -> Callable[[], None]:
        """Run ``cleanup`` (quick, no waiting) if the process must exit before the session has unwound;
        returns the function that cancels it."""
        self._last_resorts.append(cleanup)
        return lambda: self._last_resorts.remove(cleanup)

    def worker_started(self, name: str, pid: int) -> None:
        self._workers[name] = pid

    def worker_gone(self, name: str) -> None:
        self._workers.pop(name, None)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.cause is not None or signum == PASS_ON_STOP:
            self._stop_now(name)
            return
        self.cause = "the pytest-xdist controller" if self.worker else name
        if not self.worker:
            self.recorder.interrupt(name)
        if self._workers or self._closing:
            # Nothing is cut short here: the session ends once the current test (the workers' tests, the
            # teardown) is over, as pytest's ``-x`` does.
            if self.session is not None:
                self.session.shouldstop = f"interrupted by {self.cause}"
            if self._workers:
                self._say(f"{name}: the workers stop the run (a second signal stops it at once)")
                self._pass_on(PASS_ON_INTERRUPT)
                _stop_scheduling(self.session, f"interrupted by {name}")
            else:
                self._say(f"{name}: the run is closing; it finishes that (a second signal stops it at once)")
            return
        self._say(
            f"{name}: stopping the run: the teardown stage removes what the run applied, the world stops, "
            "the reports are written (a second signal stops it at once)"
        )
        raise KeyboardInterrupt(name)

    def _stop_now(self, name: str) -> None:
        if self.stopping:
            self._exit_now()
        self.stopping = True
        self._say(f"{name} again: stopping at once (the world is killed, nothing more is removed)")
        self._pass_on(PASS_ON_STOP)
        kill_started_stacks()
        deadline = threading.Timer(STOP_DEADLINE_S, self._exit_now)
        deadline.daemon = True
        deadline.start()
        if self._interruptible:
            raise KeyboardInterrupt(name)

    def _exit_now(self) -> None:
        for cleanup in list(self._last_resorts):
            with suppress(Exception):
                cleanup()
        os._exit(pytest.ExitCode.INTERRUPTED)

    def _pass_on(self, signum: int | None) -> None:
        if signum is None:
            return
        for pid in self._workers.values():
            with suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _say(self, text: str) -> None:
        if self._stderr is not None:
            with suppress(OSError):
                os.write(self._stderr, f"\nnautes-e2e: {text}\n".encode())


def _stop_scheduling(session: pytest.Session | None, reason: str) -> None:
    """On an xdist controller: no more tests are handed out, and a worker that dies is not replaced by one
    that would start the suite again (pytest-xdist's ``DSession.shouldstop``, what ``-x`` sets)."""
    dsession = session.config.pluginmanager.get_plugin("dsession") if session is not None else None
    if dsession is not None and not getattr(dsession, "shouldstop", True):
        dsession.shouldstop = reason


def _selects_suites(config: pytest.Config) -> bool:
    """Whether the run selects stage suites (``suites/``), the rule the scheduling follows too."""
    suites = config.rootpath / SUITES_DIR
    selected = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return any(path == suites or suites in path.parents for path in selected)


def _ignore(signum: int, frame: FrameType | None) -> None:
    """An xdist worker's answer to a signal sent to the process group: its controller passes it on."""


INTERRUPTS_KEY = pytest.StashKey[Interrupts]()


def interrupts(config: pytest.Config) -> Interrupts:
    """The run's :class:`Interrupts`: for the fixtures that close the run (``closing``) or leave something
    a killed process must still remove (``at_last_resort``)."""
    return config.stash[INTERRUPTS_KEY]


def pytest_configure(config: pytest.Config) -> None:
    handler = Interrupts(run_state(config).recorder, worker=is_xdist_worker(config))
    handler.prepare()
    config.stash[INTERRUPTS_KEY] = handler


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """An xdist controller (pytest-xdist's ``dsession`` is registered by now) collects nothing: it takes the
    signals over when the run selects stage suites, to pass them on to the workers that run them."""
    handler = interrupts(session.config)
    handler.session = session
    if session.config.pluginmanager.has_plugin("dsession") and _selects_suites(session.config):
        handler.arm()


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(stage_spec(item) is not None for item in session.items):
        interrupts(session.config).arm()


def pytest_unconfigure(config: pytest.Config) -> None:
    handler = config.stash.get(INTERRUPTS_KEY, None)
    if handler is not None:
        handler.uninstall()


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None]:
    """An interrupted run exits with ``INTERRUPTED``, also when the signal came while it was closing."""
    result = yield
    if interrupts(session.config).cause is not None:
        session.exitstatus = pytest.ExitCode.INTERRUPTED
    return result


@pytest.hookimpl(specname="pytest_sessionfinish", trylast=True)
def pytest_sessionfinish_on_a_worker(session: pytest.Session) -> None:
    """On an xdist worker, after the session's finalizers (the teardown stage among them): the recorder's
    final state goes to the controller with the worker's end of session. A worker interrupted by its
    controller ends as one told to stop (``shouldstop``), not as one that crashed: the controller would
    otherwise report its stage as a crashed test and start a worker to replace it."""
    config = session.config
    if not is_xdist_worker(config):
        return
    workeroutput: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]  # set by xdist
    workeroutput[FINAL_RECORDS] = run_state(config).recorder.export()
    cause = interrupts(config).cause
    if cause is not None and workeroutput.get("exitstatus") == pytest.ExitCode.INTERRUPTED:
        workeroutput["exitstatus"] = int(pytest.ExitCode.TESTS_FAILED)
        workeroutput["shouldstop"] = f"interrupted by {cause}"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodeready(node: Any) -> None:
    """On the controller: each worker, so that an interrupt can be passed on to it; once it is ready, for
    only then does it handle what is passed on (a starting worker would die of it)."""
    pid = getattr(getattr(getattr(node.gateway, "_io", None), "popen", None), "pid", None)
    if isinstance(pid, int):
        interrupts(node.config).worker_started(node.gateway.id, pid)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the controller: a worker ended; its final records are the newest state of its stages."""
    state = interrupts(node.config)
    state.worker_gone(node.gateway.id)
    exported = getattr(node, "workeroutput", {}).get(FINAL_RECORDS)
    if exported is not None:
        state.recorder.absorb(exported)
