"""Time whole cold runs of ``pytest suites/quickstart`` and each stage of them.

Every run is a fresh process that starts its own reference stack (a cold run, stack start included), so
the wall time is what a user waits for. Stage durations come from each run's ``report.json``. Prints the
minimum, median and maximum over the runs of the wall time, of the CPU time the run used (every process
it started included: on a busy machine the wall time says little, the CPU time still compares) and of
each stage; the target is a whole cold run in :data:`TARGET_S` or less on a quiet 2-core machine.

    python benchmarks/quickstart_timings.py --runs 3 [--pace real --time-scale 0.05] [-- extra pytest args]

``--pace``/``--time-scale`` choose the reference stack's pace (its ``NAUTES_E2E_REFSTACK_PACE`` and
``NAUTES_E2E_REFSTACK_TIME_SCALE``); by default the stack's own default, what the main job gets.
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
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: What a whole cold run of the main job may take on a quiet 2-core machine (issue 8).
TARGET_S = 6.0


def children_cpu_s() -> float:
    """User and system CPU of every finished process this one started (and they started, and so on)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(
    reports_dir: Path, extra: list[str], environment: dict[str, str]
) -> tuple[float, float, dict[str, float], str]:
    cpu_before = children_cpu_s()
    started = time.perf_counter()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites/quickstart",
            "-q",
            "--reports-dir",
            str(reports_dir),
            *extra,
        ],
        cwd=ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    cpu = children_cpu_s() - cpu_before
    reports = sorted(reports_dir.glob("*/report.json"))
    if completed.returncode != 0 or not reports:
        sys.stderr.write(completed.stdout[-3000:] + completed.stderr[-2000:])
        raise SystemExit(f"the quickstart run failed (exit {completed.returncode}); not a valid timing")
    report = json.loads(reports[-1].read_text())
    stages = {stage["name"]: float(stage["duration_s"]) for stage in report["stages"]}
    return wall, cpu, stages, str(report["run"]["result"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pace", choices=("instant", "real"), help="the reference stack's pace")
    parser.add_argument("--time-scale", help="the reference stack's time-scale under --pace real")
    parser.add_argument("extra", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()
    environment = {
        name: value
        for name, value in (
            ("NAUTES_E2E_REFSTACK_PACE", args.pace),
            ("NAUTES_E2E_REFSTACK_TIME_SCALE", args.time_scale),
        )
        if value is not None
    }
    if environment:
        print("pace: " + ", ".join(f"{name}={value}" for name, value in environment.items()), flush=True)
    walls: list[float] = []
    cpus: list[float] = []
    per_stage: dict[str, list[float]] = defaultdict(list)
    for index in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="nautes-e2e-bench-") as tmp:
            wall, cpu, stages, result = one_run(Path(tmp), args.extra, environment)
        walls.append(wall)
        cpus.append(cpu)
        for name, seconds in stages.items():
            per_stage[name].append(seconds)
        print(f"run {index + 1}/{args.runs}: {wall:.2f}s wall, {cpu:.2f}s CPU, result {result}", flush=True)

    def row(label: str, values: list[float]) -> str:
        return f"{label:<28} {min(values):>8.2f} {statistics.median(values):>8.2f} {max(values):>8.2f}"

    print(f"\n{'seconds':<28} {'min':>8} {'median':>8} {'max':>8}")
    print(row("whole cold run (wall)", walls))
    print(row("CPU used by the run", cpus))
    for name, values in per_stage.items():
        print(row(f"  {name}", values))
    in_stages = [sum(v[i] for v in per_stage.values()) for i in range(len(walls))]
    print(row("outside stages (start-up)", [w - s for w, s in zip(walls, in_stages, strict=True)]))
    median = statistics.median(walls)
    verdict = "within" if median <= TARGET_S else "over"
    print(f"\nmedian cold run {median:.2f}s: {verdict} the {TARGET_S:g}s target (quiet 2-core machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
