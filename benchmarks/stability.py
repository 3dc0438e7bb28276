"""Run the quickstart again and again, interrupt it at random, and look for whatever it left behind.

    python benchmarks/stability.py --runs N [--interrupt] [--target local|existing --target-file F]
                                   [--seed S] [-- extra pytest args]

Each run is ``pytest suites/quickstart`` in a session of its own (``start_new_session``, as a CI job or a
terminal starts it), with its own ``--reports-dir``, ``--run-id`` and ``--suffix``, the series' own
``TMPDIR`` and a marker in its environment. After each run, however it ended, the script looks at the
machine (:mod:`leaks`: processes, listening ports, files and folders, the harness's Docker objects) and, on
an ``existing`` target, at the world (:mod:`leftovers`: Nautes, GitLab, Vault and Kubernetes objects named
with the run's suffix). What is still there ``--settle`` seconds after the run's exit is a leak, named in
the summary, and is then removed (processes killed, files deleted; Docker and world objects are only named)
so that the next run starts clean.

``--interrupt`` sends SIGINT or SIGTERM (chosen at random, replayable with ``--seed``) either to the run's
process group (a terminal's Ctrl-C, ``kill -- -PGID``) or to pytest alone (``kill PID``, ``timeout``), after
a random delay within ``--window LOW HIGH`` seconds; by default within a first, uninterrupted calibration
run, from the moment its world directory appeared (before that pytest itself is still starting: a signal
then meets pytest's start-up, not the harness; ``--window 0 X`` tests that too) to its end. An interrupted
run must stop within ``--grace`` seconds with exit code 2 and a ``report.json``; one that does not is killed
with SIGKILL (its process group) and counted as a failure ("did not stop").

The summary gives passes, runs interrupted as expected, failures (exit code, report), leaks, and the p50/p95
(nearest rank) of run durations and of signal-to-exit times. Exit status: 0 when no run failed unexpectedly
and nothing leaked, 1 otherwise, 2 for bad arguments. The series' folder (each run's reports and pytest
output) is kept when anything failed or leaked, or with ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: ``benchmarks`` and ``suites`` import from the repository

from benchmarks import leaks  # noqa: E402  (needs the path above)
from benchmarks.leaks import Findings  # noqa: E402

#: What a run's exit code means: pytest's numbers, with the meaning the harness gives them (README).
EXIT_MEANINGS: dict[int, str] = {
    pytest.ExitCode.OK: "passed",
    pytest.ExitCode.TESTS_FAILED: "a stage failed",
    pytest.ExitCode.INTERRUPTED: "interrupted",
    pytest.ExitCode.INTERNAL_ERROR: "harness error",
    pytest.ExitCode.USAGE_ERROR: "configuration error",
    pytest.ExitCode.NO_TESTS_COLLECTED: "no tests collected",
}
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The window's start when the calibration run never made a world directory: by then the interpreter has
#: usually loaded pytest.
EARLIEST_SIGNAL_S = 0.5
POLL_S = 0.1
LOOK_AGAIN_S = 0.25
CLEANUP_ROUNDS = 5
#: Notes are about other jobs on the machine (a busy CI host opens many ports): the first few say enough.
NOTES_SHOWN = 5

PASSED = "passed"
INTERRUPTED = "interrupted as expected"
FINISHED_FIRST = "finished before the signal"
FAILED = "failed"


@dataclass(frozen=True)
class Interruption:
    """When and how one run is interrupted."""

    signal: signal.Signals
    to_group: bool  # the whole process group (Ctrl-C, kill -- -PGID), else pytest alone (kill PID)
    delay_s: float

    def describe(self) -> str:
        recipient = "its process group" if self.to_group else "pytest"
        return f"{self.signal.name} to {recipient} at {self.delay_s:.1f}s"


@dataclass
class Run:
    """One run and what was found after it."""

    index: int
    run_id: str
    suffix: str
    interruption: Interruption | None
    log: Path
    report: Path | None = None
    exit_code: int | None = None  # negative: ended by that signal
    duration_s: float = 0.0
    signalled: bool = False  # the signal was sent: the run had not ended before it was due
    signal_to_exit_s: float | None = None
    killed: bool = False  # did not stop within the grace period (or the run timeout): SIGKILLed
    world_at_s: float | None = None  # when its world directory appeared: the harness had started
    settle_s: float = 0.0
    findings: Findings = field(default_factory=Findings)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        return f"exit {code} (killed by {signal.Signals(-code).name})"
    return f"exit {code} ({EXIT_MEANINGS.get(code, 'unknown')})"


def verdict(run: Run) -> tuple[str, str | None]:
    """The run's category, and why it failed (None when it did not)."""
    report = f"report {run.report} (result {report_result(run.report)})" if run.report else "no report.json"
    if run.killed:
        if run.signalled and run.interruption is not None:
            what = f"did not stop within the grace period after {run.interruption.describe()}"
        else:
            what = "did not finish within the run timeout"
        return FAILED, f"{what}: SIGKILLed ({report})"
    if not run.signalled or run.interruption is None:
        if run.exit_code == pytest.ExitCode.OK:
            return (PASSED if run.interruption is None else FINISHED_FIRST), None
        return FAILED, f"{describe_exit(run.exit_code)}, {report}"
    if run.exit_code == pytest.ExitCode.INTERRUPTED and run.report is not None:
        return INTERRUPTED, None
    if run.exit_code == pytest.ExitCode.OK and run.report is not None and report_result(run.report) == PASSED:
        return FINISHED_FIRST, None  # the signal came while the process was already exiting
    return FAILED, (
        f"{describe_exit(run.exit_code)} after {run.interruption.describe()}, {report} "
        "(expected exit 2 and a report.json)"
    )


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest rank: the smallest value with at least ``percent`` % of the values at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def plan_interruption(rng: random.Random, window: tuple[float, float]) -> Interruption:
    return Interruption(rng.choice(SIGNALS), rng.random() < 0.5, rng.uniform(*window))


def calibrated_window(calibration: Run) -> tuple[float, float]:
    """From the moment the harness had started (its world directory appeared; else
    :data:`EARLIEST_SIGNAL_S`) to the end of the calibration run."""
    low = calibration.world_at_s if calibration.world_at_s is not None else EARLIEST_SIGNAL_S
    return low, max(low, calibration.duration_s)


def report_result(report: Path) -> str | None:
    try:
        return str(json.loads(report.read_text())["run"]["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


#: Looks at the world a run acted on; returns what the run left there.
WorldCheck = Callable[[Run], list[str]]


@dataclass(frozen=True)
class Snapshot:
    """The machine before a run: what may still be there after it."""

    listeners: frozenset[leaks.Listener]
    tmp_entries: frozenset[str]
    docker: frozenset[leaks.DockerObject]


@dataclass(frozen=True)
class Settings:
    """How every run of the series is started and judged (the command line's options)."""

    target: str
    target_file: Path | None
    extra: tuple[str, ...]
    grace_s: float
    timeout_s: float
    settle_s: float


class Series:
    """The runs of one invocation: the folders they share, and how each is run and looked after."""

    def __init__(self, settings: Settings, world_check: WorldCheck | None = None) -> None:
        self.settings = settings
        self.id = secrets.token_hex(3)
        self.directory = Path(tempfile.mkdtemp(prefix="nautes-e2e-stability-"))
        self.tmp = self.directory / "tmp"  # every run's TMPDIR
        self.reports = self.directory / "reports"
        self.logs = self.directory / "logs"
        for folder in (self.tmp, self.reports, self.logs):
            folder.mkdir()
        self.me = os.getpid()
        default_signals_for_runs()
        self.subreaper = leaks.become_subreaper()
        self.docker, self.docker_status = leaks.docker_inventory()
        self.world_check = world_check

    def new_run(self, index: int, interruption: Interruption | None) -> Run:
        run_id = f"stability-{self.id}-{index}"
        return Run(index, run_id, f"st{self.id}-{index}", interruption, self.logs / f"{run_id}.log")

    def command(self, run: Run) -> list[str]:
        target = ["--target", self.settings.target]
        if self.settings.target_file is not None:
            target += ["--target-file", str(self.settings.target_file)]
        reports = ["--reports-dir", str(self.reports), "--run-id", run.run_id, "--suffix", run.suffix]
        return [
            sys.executable,
            "-m",
            "pytest",
            "suites/quickstart",
            "-q",
            *reports,
            *target,
            *self.settings.extra,
        ]

    def snapshot(self) -> Snapshot:
        docker = self.docker.labelled() if self.docker is not None else set()
        return Snapshot(
            frozenset(leaks.read_listeners()), frozenset(leaks.entries(self.tmp)), frozenset(docker)
        )

    def execute(self, run: Run) -> None:
        """Run, interrupt as planned, look for leftovers, remove them."""
        before = self.snapshot()
        worlds: set[str] = set()
        environment = {**os.environ, "TMPDIR": str(self.tmp), leaks.MARKER_VARIABLE: f"{self.id}:{run.index}"}
        started = time.monotonic()
        with run.log.open("wb") as log:
            process = subprocess.Popen(
                self.command(run),
                cwd=ROOT,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                self._wait(run, process, started, worlds)
            except BaseException:  # the script itself is stopped: leave nothing of the run behind
                _signal(process, signal.SIGKILL, to_group=True)
                process.wait()
                self.clean_up(before)
                raise
        run.duration_s = time.monotonic() - started
        run.exit_code = process.returncode
        report = self.reports / run.run_id / "report.json"
        run.report = report if report.is_file() else None
        run.findings, run.settle_s = self._look_until_clean(run, before, worlds)
        self.clean_up(before)

    def _wait(self, run: Run, process: subprocess.Popen[bytes], started: float, worlds: set[str]) -> None:
        """Until the run ends: note its world folders, signal it when due, SIGKILL it past the grace."""
        plan = run.interruption
        signalled_at: float | None = None
        while process.poll() is None:
            now = time.monotonic()
            seen = _worlds(self.tmp)
            if seen and run.world_at_s is None:
                run.world_at_s = now - started
            worlds.update(seen)
            if plan is not None and signalled_at is None and now - started >= plan.delay_s:
                _signal(process, plan.signal, to_group=plan.to_group)
                signalled_at, run.signalled = now, True
            deadline = (
                signalled_at + self.settings.grace_s if signalled_at else started + self.settings.timeout_s
            )
            if now > deadline:
                _signal(process, signal.SIGKILL, to_group=True)
                run.killed = True
                process.wait()
                return
            pause = min(POLL_S, deadline - now)
            if plan is not None and signalled_at is None:
                pause = min(pause, started + plan.delay_s - now)
            try:
                process.wait(timeout=max(0.0, pause))
            except subprocess.TimeoutExpired:
                continue
        if signalled_at is not None:
            run.signal_to_exit_s = time.monotonic() - signalled_at

    def _look_until_clean(self, run: Run, before: Snapshot, worlds: set[str]) -> tuple[Findings, float]:
        """Look again until nothing is left or ``--settle`` has passed; the last look counts."""
        ended = time.monotonic()
        while True:
            findings = self.look(run, before, worlds)
            waited = time.monotonic() - ended
            if not findings.leaks or waited >= self.settings.settle_s:
                return findings, waited
            time.sleep(LOOK_AGAIN_S)

    def look(self, run: Run, before: Snapshot, worlds: set[str]) -> Findings:
        """Everything that is there now and was not before ``run``, that the series may have left."""
        ours = self.processes()
        findings = Findings(tuple(process.describe() for process in ours))
        after = leaks.read_listeners()
        owners = leaks.socket_owners(listener.inode for listener in after - before.listeners)
        findings += leaks.new_listeners(before.listeners, after, owners, (process.pid for process in ours))
        findings += leaks.new_entries(self.tmp, before.tmp_entries)
        if self.docker is not None:
            try:
                findings += leaks.new_docker_objects(before.docker, self.docker.labelled(), worlds)
            except Exception as error:  # the engine went away: what it holds could not be seen to be clean
                findings += Findings((f"Docker objects: could not list ({type(error).__name__}: {error})",))
        if self.world_check is not None:
            findings += Findings(tuple(self.world_check(run)))
        return findings

    def processes(self) -> list[leaks.Process]:
        """The series' live processes, after collecting the orphans that have died."""
        leaks.reap(leaks.read_processes(), self.me)
        return leaks.series_processes(leaks.read_processes(), reaper=self.me, series=self.id)

    def clean_up(self, before: Snapshot) -> None:
        """Kill the series' processes and delete the files it left, so the next run starts clean."""
        for _ in range(CLEANUP_ROUNDS):
            ours = self.processes()
            if not ours:
                break
            leaks.kill(ours)
            time.sleep(LOOK_AGAIN_S)
        for name in leaks.entries(self.tmp) - before.tmp_entries:
            path = self.tmp / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def default_signals_for_runs() -> None:
    """Let every run meet signals as a terminal's job does, even when the script ignores them (started with
    ``nohup``, or with ``&`` from a script, which ignores SIGINT): an ignored signal stays ignored across
    ``exec``, so pytest would install no KeyboardInterrupt and a shell could not even trap it. A handler that
    does nothing keeps the script ignoring it, and ``exec`` resets a handled signal to its default."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_IGN:
            signal.signal(signum, _ignore)


def _ignore(signum: int, frame: object) -> None:
    """Ignore a signal in the script only (see :func:`default_signals_for_runs`)."""


def existing_world_check(target_file: Path) -> WorldCheck:
    """The leftover probes of an ``existing`` world for each run's suffix (and its repositories' deploy
    keys when its report recorded their ids). Imported here: the local target needs none of the clients."""
    from benchmarks import leftovers
    from nautes_e2e.scenario import Scenario

    world, clients = leftovers.open_world(target_file, os.environ)
    scenario = Scenario.load(ROOT / "scenarios" / "quickstart")

    def check(run: Run) -> list[str]:
        names = leftovers.run_names(scenario, world, run.suffix)
        return leftovers.leftovers(leftovers.probes_for(clients, names, _repo_ids(run.report)))

    return check


def _repo_ids(report: Path | None) -> list[int]:
    """The repository ids a run's report recorded (fact ``repo_ids``); none without a report."""
    if report is None:
        return []
    try:
        facts = json.loads(report.read_text()).get("facts") or {}
    except (OSError, ValueError):
        return []
    return [int(value) for value in (facts.get("repo_ids") or {}).values()]


def _worlds(tmp: Path) -> set[str]:
    return {name for name in leaks.entries(tmp) if name.startswith(leaks.WORLD_DIR_PREFIX)}


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals, *, to_group: bool) -> None:
    try:
        if to_group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except ProcessLookupError:
        pass


# -- output ----------------------------------------------------------------------------------------------


def run_line(run: Run, total: int) -> str:
    category, _ = verdict(run)
    how = f"{run.interruption.describe()}, " if run.interruption and run.signalled else ""
    stopped = (
        f", stopped {run.signal_to_exit_s:.1f}s after the signal" if run.signal_to_exit_s is not None else ""
    )
    label = "calibration" if run.index == 0 else f"{run.index}/{total}"
    leaked = f"{len(run.findings.leaks)} leak(s)" if run.findings.leaks else "no leak"
    return (
        f"run {label}: {how}{describe_exit(run.exit_code)} after {run.duration_s:.1f}s{stopped}: "
        f"{category}; {leaked}"
    )


def summarise(runs: Sequence[Run]) -> tuple[list[str], bool]:
    """The summary's lines, and whether the series is clean (no unexpected failure, no leak)."""
    categories = Counter(verdict(run)[0] for run in runs)
    failures = [(run, reason) for run in runs if (reason := verdict(run)[1]) is not None]
    leaked = [(run, leak) for run in runs for leak in run.findings.leaks]
    notes = [(run, note) for run in runs for note in run.findings.notes]
    uninterrupted = sum(1 for run in runs if run.interruption is None)
    lines = [f"passes: {categories[PASSED]} of {uninterrupted} uninterrupted run(s)"]
    interrupted = len(runs) - uninterrupted
    if interrupted:
        lines.append(
            f"interrupted as expected: {categories[INTERRUPTED]} of {interrupted} interrupted run(s) "
            f"({categories[FINISHED_FIRST]} finished before the signal)"
        )
    lines.append(f"failures: {len(failures)}")
    lines += [f"  run {run.index} ({run.run_id}): {reason}; output {run.log}" for run, reason in failures]
    lines.append(f"leaks: {len(leaked)}")
    lines += [f"  run {run.index} ({run.run_id}): {leak}" for run, leak in leaked]
    if notes:
        lines.append(f"notes (not counted): {len(notes)}")
        lines += [f"  run {run.index}: {note}" for run, note in notes[:NOTES_SHOWN]]
        lines += [f"  ... and {len(notes) - NOTES_SHOWN} more"] if len(notes) > NOTES_SHOWN else []
    durations = [run.duration_s for run in runs if not run.signalled and not run.killed]
    lines.append(_spread("run durations", durations))
    stops = [run.signal_to_exit_s for run in runs if run.signal_to_exit_s is not None]
    if interrupted:
        lines.append(_spread("signal -> exit", stops))
    lines.append(_spread("exit -> nothing left (settle)", [run.settle_s for run in runs]))
    return lines, not failures and not leaked


def _spread(label: str, values: Sequence[float]) -> str:
    if not values:
        return f"{label}: no values"
    return (
        f"{label}: p50 {percentile(values, 50):.1f}s, p95 {percentile(values, 95):.1f}s "
        f"(n={len(values)}, max {max(values):.1f}s)"
    )


# -- command line ----------------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs to make (besides a calibration run)")
    parser.add_argument("--interrupt", action="store_true", help="send SIGINT or SIGTERM at a random point")
    parser.add_argument(
        "--window", type=float, nargs=2, metavar=("LOW", "HIGH"), help="signal delay range (s)"
    )
    parser.add_argument("--target", choices=("local", "existing"), default="local")
    parser.add_argument(
        "--target-file", type=Path, help="the existing target's file (with --target existing)"
    )
    parser.add_argument("--seed", type=int, help="replay a series' random choices (default: a new seed)")
    parser.add_argument(
        "--grace", type=float, default=120.0, help="seconds an interrupted run may take to stop"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds an uninterrupted run may take")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds leftovers may take to go after exit"
    )
    parser.add_argument("--keep", action="store_true", help="keep the series' folder even when all is clean")
    parser.add_argument("extra", nargs="*", help="extra pytest arguments (after --)")
    arguments = parser.parse_args(argv)
    if arguments.runs < 1:
        parser.error("--runs must be at least 1")
    if (arguments.target == "existing") != (arguments.target_file is not None):
        parser.error("--target-file goes with --target existing, and --target existing needs it")
    if arguments.window is not None and not 0 <= arguments.window[0] <= arguments.window[1]:
        parser.error("--window LOW HIGH needs 0 <= LOW <= HIGH")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    seed = arguments.seed if arguments.seed is not None else secrets.randbelow(2**31)
    settings = Settings(
        target=arguments.target,
        target_file=arguments.target_file.resolve() if arguments.target_file else None,
        extra=tuple(arguments.extra),
        grace_s=arguments.grace,
        timeout_s=arguments.timeout,
        settle_s=arguments.settle,
    )
    try:
        world_check = existing_world_check(settings.target_file) if settings.target_file else None
    except Exception as error:  # the target file or its world cannot be used: nothing has run yet
        print(f"stability: cannot look at the existing world: {error}", file=sys.stderr)
        return 2
    series = Series(settings, world_check)
    print(
        f"stability: {arguments.runs} run(s) of pytest suites/quickstart on the {settings.target} target"
        f"{', interrupted' if arguments.interrupt else ''}; seed {seed}; series {series.id}"
    )
    reaping = "subreaper" if series.subreaper else "NO subreaper (orphans may escape)"
    print(f"  processes: {reaping} and run markers; {series.docker_status}")
    runs = make_runs(series, arguments, random.Random(seed))
    lines, clean = summarise(runs)
    print("\n" + "\n".join(lines))
    if clean and not arguments.keep:
        shutil.rmtree(series.directory, ignore_errors=True)
    else:
        print(f"reports and pytest output of every run: {series.directory}")
    return 0 if clean else 1


def make_runs(series: Series, arguments: argparse.Namespace, rng: random.Random) -> list[Run]:
    """The calibration run (with ``--interrupt`` and no ``--window``), then the runs; Ctrl-C ends early."""
    runs: list[Run] = []
    window = (float(arguments.window[0]), float(arguments.window[1])) if arguments.window else None
    try:
        if arguments.interrupt and window is None:
            calibration = series.new_run(0, None)
            series.execute(calibration)
            runs.append(calibration)
            print(run_line(calibration, arguments.runs), flush=True)
            window = calibrated_window(calibration)
            print(f"  signals between {window[0]:.1f}s and {window[1]:.1f}s", flush=True)
        for index in range(1, arguments.runs + 1):
            plan = plan_interruption(rng, window) if arguments.interrupt and window else None
            run = series.new_run(index, plan)
            series.execute(run)
            runs.append(run)
            print(run_line(run, arguments.runs), flush=True)
    except KeyboardInterrupt:
        print("stability: stopped by Ctrl-C; the summary covers the runs that ended", flush=True)
    return runs


if __name__ == "__main__":
    sys.exit(main())
