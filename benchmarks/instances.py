"""Time scenario instances in parallel against one instance alone: the main job run as a run of one, once
per cluster type, then two instances (physical and virtual, their own suffixes) on ``-n 2``, then four
(both types, two suffixes each) on ``-n 4``, each against the reference stack (every instance starts its
own). "Alone" is the slower of the two types alone: a run of both lasts at least as long as its slower one.

The goal: two instances on ``-n 2`` take at most 1.3 times as long as one alone on 2 cores. Beside the wall
time, the CPU time of each run's processes (user + system of the waited-for descendants: pytest, its
workers, their stacks), which a machine shared with other work distorts far less than the wall time.

    python benchmarks/instances.py [--repeat N]

Every run must pass: a failed run is reported and the script exits 1, so a red run is never read as a
timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The two instance counts timed against one alone, with their worker counts.
PARALLEL = (2, 4)
CLUSTER_TYPES = ("physical", "virtual")
GOAL_RATIO = 1.3


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float


def _children_cpu_s() -> float:
    """User + system seconds of this process's waited-for descendants so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def instances_file(directory: Path, count: int) -> Path:
    """``count`` instances, the cluster types in turn, each with a suffix of its own."""
    entries = [
        {
            "name": f"{CLUSTER_TYPES[index % 2]}-{index // 2}",
            "clusterType": CLUSTER_TYPES[index % 2],
            "suffix": f"bench{index}",
        }
        for index in range(count)
    ]
    path = directory / f"instances-{count}.yaml"
    path.write_text(json.dumps({"instances": entries}))  # JSON is YAML
    return path


def time_run(arguments: list[str], directory: Path) -> Timing:
    """One ``pytest suites/quickstart`` run; raises ``SystemExit(1)`` with its output if it failed."""
    command = [sys.executable, "-m", "pytest", "suites/quickstart", "-q", "-p", "no:cacheprovider"]
    command += ["--reports-dir", str(directory / "reports"), *arguments]
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    timing = Timing(time.perf_counter() - started, _children_cpu_s() - cpu_before)
    if completed.returncode != 0:
        print(f"{' '.join(arguments) or 'one instance'}: exit {completed.returncode}", file=sys.stderr)
        print(completed.stdout[-4000:], completed.stderr[-2000:], sep="\n", file=sys.stderr)
        raise SystemExit(1)
    return timing


def median(timings: list[Timing]) -> Timing:
    return Timing(statistics.median(t.wall_s for t in timings), statistics.median(t.cpu_s for t in timings))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="runs of each kind (median shown)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="nautes-e2e-bench-") as scratch:
        directory = Path(scratch)
        kinds: dict[str, list[str]] = {
            f"1 {cluster_type} alone": ["--cluster-type", cluster_type] for cluster_type in CLUSTER_TYPES
        }
        for count in PARALLEL:
            file = instances_file(directory, count)
            kinds[f"{count} instances on -n {count}"] = ["--instances", str(file), "-n", str(count)]
        timings = {
            kind: median([time_run(arguments, directory) for _ in range(args.repeat)])
            for kind, arguments in kinds.items()
        }
    alone = max((timings[f"1 {kind} alone"] for kind in CLUSTER_TYPES), key=lambda timing: timing.wall_s)
    print(f"on {cores} cores (load average {os.getloadavg()[0]:.1f}), median of {args.repeat}:")
    for kind, timing in timings.items():
        ratio = timing.wall_s / alone.wall_s
        cpu_ratio = timing.cpu_s / alone.cpu_s
        busy = timing.cpu_s / (timing.wall_s * cores)
        print(
            f"  {kind:22} {timing.wall_s:6.1f} s wall ({ratio:.2f}x the slower alone), "
            f"{timing.cpu_s:6.1f} CPU-s ({cpu_ratio:.2f}x its CPU, {busy:.0%} busy)"
        )
    two = timings[f"2 instances on -n {PARALLEL[0]}"].wall_s / alone.wall_s
    print(f"goal: 2 instances on -n 2 <= {GOAL_RATIO}x one alone: {'met' if two <= GOAL_RATIO else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
