"""Time the README's test command (``pytest tests refstack/tests -n auto``) and name its slowest tests.

The target is 60 s or less on 2 cores. The command runs as the README gives it, plus ``--durations`` to
learn the slowest tests; its wall time is what a developer waits for, start-up and collection included.
Beside it, the CPU time its processes used (user + system, of every process that was waited for: the
workers, their runs and stacks) and how busy that kept the cores: a command far from 100 % busy waits more
than it computes, and more workers than cores can shorten it.

    python benchmarks/test_command.py [--slowest 10] [-- extra pytest args]

Exits with the test command's own status, so a red run is never mistaken for a timing.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_COMMAND = ["pytest", "tests", "refstack/tests", "-n", "auto"]
#: A ``--durations`` line: ``12.34s call     tests/x.py::test_y[param]``.
_DURATION = re.compile(r"^(?P<seconds>\d+\.\d+)s (?P<phase>setup|call|teardown)\s+(?P<test>\S.*)$")


def slowest(output: str, count: int) -> list[tuple[float, str]]:
    """The ``count`` longest test phases pytest reported (seconds, ``phase test``), longest first."""
    found = [
        (float(match["seconds"]), f"{match['phase']} {match['test']}")
        for line in output.splitlines()
        if (match := _DURATION.match(line))
    ]
    return sorted(found, reverse=True)[:count]


def _children_cpu_s() -> float:
    """User + system seconds of this process's waited-for descendants so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slowest", type=int, default=10, metavar="N", help="how many slow tests to name")
    parser.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    command = [sys.executable, "-m", *TEST_COMMAND, "-q", f"--durations={args.slowest}", *args.extra]
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    cpu = _children_cpu_s() - cpu_before
    cores = os.cpu_count() or 1
    summary = [line for line in completed.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    print(f"test command: {' '.join(TEST_COMMAND)}")
    print(
        f"wall time: {wall:.1f} s (exit {completed.returncode}; {summary[-1] if summary else 'no summary'})"
    )
    print(f"CPU time: {cpu:.1f} s on {cores} cores ({cpu / (wall * cores):.0%} busy)")
    print(f"slowest {args.slowest}:")
    for seconds, test in slowest(completed.stdout, args.slowest):
        print(f"  {seconds:6.2f} s  {test}")
    if completed.returncode != 0:
        print(completed.stdout[-4000:], completed.stderr[-2000:], sep="\n", file=sys.stderr)
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
