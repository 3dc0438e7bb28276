"""Where the CPU of one whole quickstart run goes, process by process: the floor under the test command.

The test command holds some sixty whole runs of the main job (fault rows, instances, shared worlds, registry
variants, signals...), and on 2 cores its time is mostly their CPU. This runs healthy main jobs against one
warm standalone stack, as most fault rows do (``tests/support/warm_stack.py``), and splits each run's CPU
into:

* **harness**: the ``pytest suites/quickstart`` process and whatever it waited for (its git pushes);
* **stack Python**: the stack's own process (its emulated APIs and controllers);
* **stack children**: what the stack started and waited for (git upload/receive-pack, pack-objects, the
  repository hooks, the Nautes API's clones and pushes, the Tekton tasks' git), from the stack's
  ``cutime``/``cstime``;
* **OpenBao**: the stack's Vault server.

A run that starts its own stack costs the stack's start and stop on top (printed once, measured alike).

    python benchmarks/run_cost.py [--runs 5]

The split reads ``/proc``-shaped directories given as a parameter (:func:`process_times`), so its tests run
on fakes.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.leaks import pid_dirs, stat_fields  # noqa: E402  (needs the path above)
from tests.support.warm_stack import WarmStack, start_warm_stack  # noqa: E402

PROC = Path("/proc")
#: How long a run's stack is given to reap what the run started before its CPU is read.
SETTLE_S = 1.0
OPENBAO_COMMAND = "bao"


@dataclass(frozen=True)
class ProcessTimes:
    """One process's CPU seconds so far: its own, and that of its children it has waited for."""

    pid: int
    parent: int
    command: str
    own_s: float
    reaped_children_s: float


def process_times(proc: Path = PROC, ticks_per_s: int | None = None) -> dict[int, ProcessTimes]:
    """Every process of ``proc`` (``/proc/<pid>/stat``: utime, stime, cutime, cstime in clock ticks; the
    command is its ``comm``). Processes that end meanwhile are left out."""
    ticks = ticks_per_s or os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in pid_dirs(proc):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat_fields(stat)
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        found[int(entry.name)] = ProcessTimes(
            int(entry.name), int(fields[1]), command, (utime + stime) / ticks, (cutime + cstime) / ticks
        )
    return found


@dataclass(frozen=True)
class StackCpu:
    """The CPU seconds of a stack's processes at one moment."""

    python_s: float
    children_s: float
    openbao_s: float

    def minus(self, earlier: StackCpu) -> StackCpu:
        return StackCpu(
            self.python_s - earlier.python_s,
            self.children_s - earlier.children_s,
            self.openbao_s - earlier.openbao_s,
        )


def stack_cpu(processes: Mapping[int, ProcessTimes], stack_pid: int) -> StackCpu:
    """The stack process's own CPU, what it reaped, and its OpenBao's (a direct child, still running)."""
    stack = processes[stack_pid]
    openbao = sum(
        times.own_s + times.reaped_children_s
        for times in processes.values()
        if times.parent == stack_pid and times.command == OPENBAO_COMMAND
    )
    return StackCpu(stack.own_s, stack.reaped_children_s, openbao)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class RunCost:
    wall_s: float
    harness_s: float
    stack: StackCpu

    @property
    def total_s(self) -> float:
        return self.harness_s + self.stack.python_s + self.stack.children_s + self.stack.openbao_s


def one_run(stack: WarmStack, work: Path) -> RunCost:
    """A healthy main job against ``stack`` (its own suffix), and the CPU it cost each process."""
    stack_pid = stack.process.pid
    before, harness_before = stack_cpu(process_times(), stack_pid), children_cpu_s()
    started = time.perf_counter()
    suffix = stack.new_suffix()
    run = stack.run(work / suffix, suffix)
    wall = time.perf_counter() - started
    harness = children_cpu_s() - harness_before
    time.sleep(SETTLE_S)
    if run.returncode != 0:
        raise SystemExit(f"run {suffix} failed (exit {run.returncode}):\n{run.tail()}")
    return RunCost(wall, harness, stack_cpu(process_times(), stack_pid).minus(before))


def start_and_stop_cost(work: Path) -> float:
    """The CPU seconds of starting a standalone stack until it is ready, and stopping it."""
    before = children_cpu_s()
    start_warm_stack(work / "world").stop()
    return children_cpu_s() - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="healthy runs against the warm stack")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    work = Path(tempfile.mkdtemp(prefix="nautes-e2e-run-cost-"))
    try:
        start_stop = start_and_stop_cost(work / "cold")
        stack = start_warm_stack(work / "warm" / "world", "--clusters", "2")
        try:
            one_run(stack, work / "warm")  # the first run on a stack warms its clones and caches
            costs = [one_run(stack, work / "warm") for _ in range(args.runs)]
        finally:
            stack.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median(value: list[float]) -> str:
        return f"{statistics.median(value):6.2f}"

    print(f"CPU seconds of one healthy run on a warm stack, median of {args.runs}:")
    print(f"  wall time                {median([cost.wall_s for cost in costs])}")
    print(f"  harness                  {median([cost.harness_s for cost in costs])}")
    print(f"  stack Python             {median([cost.stack.python_s for cost in costs])}")
    print(f"  stack children           {median([cost.stack.children_s for cost in costs])}")
    print(f"  OpenBao                  {median([cost.stack.openbao_s for cost in costs])}")
    print(f"  whole run                {median([cost.total_s for cost in costs])}")
    print(f"a stack's start and stop   {start_stop:6.2f}  (on top, for a run that starts its own)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
