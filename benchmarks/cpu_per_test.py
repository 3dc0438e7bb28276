"""Where the test command's CPU goes: the CPU-seconds of every test, its whole process tree included.

On 2 cores shared by 4 workers the test command is CPU-bound, so a test's wall time says little (it waits
for the others' CPU as much as for its own work); its CPU time is what shortening the command must cut.
Run as a script, this runs the test command with itself as a pytest plugin and prints the most costly
tests and test files:

    python benchmarks/cpu_per_test.py [--top 40] [-- pytest arguments, default: tests refstack/tests -n auto]

A test's CPU is what the worker that ran it (setup, call and teardown) spent meanwhile: its own CPU, that
of its descendants it waited for (``RUSAGE_CHILDREN``: a main job's pytest, its stack, their git and OpenBao
children), and what its live descendants (a warm stack kept across tests) used meanwhile, read from
``/proc``. A descendant that outlives its parent is reparented and its CPU is lost, so this undercounts a
little; the whole command's CPU is printed beside the sum to show by how much.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Where the plugin appends one JSON line per test (set by the script for the pytest it starts).
OUTPUT_ENV = "NAUTES_E2E_CPU_PER_TEST"
DEFAULT_ARGUMENTS = ["tests", "refstack/tests", "-n", "auto"]
_TICKS = os.sysconf("SC_CLK_TCK")


def _live_descendants_cpu_s(root: int) -> float:
    """User + system seconds of the live descendants of ``root``, with those they waited for."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = sum(int(value) for value in fields[11:15]) / _TICKS  # utime stime cutime cstime
    children: dict[int, list[int]] = defaultdict(list)
    for pid, parent in parents.items():
        children[parent].append(pid)
    total, pending = 0.0, list(children[root])
    while pending:
        pid = pending.pop()
        total += cpu[pid]
        pending.extend(children[pid])
    return total


def _tree_cpu_s() -> float:
    """This process's CPU, its waited-for descendants' and its live descendants'."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime + _live_descendants_cpu_s(os.getpid())
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Append the test's CPU and wall seconds to the file named by :data:`OUTPUT_ENV`."""
    output = os.environ.get(OUTPUT_ENV)
    cpu, wall = _tree_cpu_s(), time.perf_counter()
    try:
        return (yield)
    finally:
        if output:
            record = {
                "test": item.nodeid,
                "cpu": _tree_cpu_s() - cpu,
                "wall": time.perf_counter() - wall,
            }
            with open(output, "a") as lines:
                lines.write(json.dumps(record) + "\n")


def _print_summary(records: list[dict[str, object]], top: int) -> None:
    by_file: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for record in records:
        totals = by_file[str(record["test"]).split("::")[0]]
        totals[0] += float(str(record["cpu"]))
        totals[1] += float(str(record["wall"]))
        totals[2] += 1
    print(f"\nCPU-s of the {top} most costly tests (wall s beside):")
    for record in sorted(records, key=lambda found: -float(str(found["cpu"])))[:top]:
        print(f"  {float(str(record['cpu'])):7.2f}  {float(str(record['wall'])):7.2f}  {record['test']}")
    print("\nCPU-s by test file (wall s, tests):")
    for name, (cpu, wall, count) in sorted(by_file.items(), key=lambda item: -item[1][0])[:top]:
        print(f"  {cpu:7.2f}  {wall:7.2f}  {int(count):4d}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--top", type=int, default=40, help="how many tests and files to name")
    parser.add_argument("pytest_args", nargs="*", help="pytest arguments (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpu-per-test-") as scratch:
        output = Path(scratch) / "tests.jsonl"
        environ = os.environ | {
            OUTPUT_ENV: str(output),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH")])
            ),
        }
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "cpu_per_test",
            *(args.pytest_args or DEFAULT_ARGUMENTS),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=ROOT, env=environ, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        records = [json.loads(line) for line in output.read_text().splitlines()] if output.exists() else []
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    _print_summary(records, args.top)
    counted = sum(float(record["cpu"]) for record in records)
    print(f"\nwhole command: {wall:.1f} s wall, {cpu:.1f} CPU-s ({counted:.1f} of them counted in tests)")
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
