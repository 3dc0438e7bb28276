"""Time whole cold runs of ``pytest suites/quickstart`` and each stage of them.

Every run is a fresh process that starts its own reference stack (a cold run, stack start included), so
the wall time is what a user waits for. Stage durations come from each run's ``report.json``. Prints the
minimum, median and maximum over the runs; the target is a whole cold run in 10 s or less on 2 cores.

    python benchmarks/quickstart_timings.py --runs 3 [--pace real --time-scale 0.05] [-- extra pytest args]

``--pace``/``--time-scale`` choose the reference stack's pace (its ``NAUTES_E2E_REFSTACK_PACE`` and
``NAUTES_E2E_REFSTACK_TIME_SCALE``); by default the stack's own default, what the main job gets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(
    reports_dir: Path, extra: list[str], environment: dict[str, str]
) -> tuple[float, dict[str, float], str]:
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
    reports = sorted(reports_dir.glob("*/report.json"))
    if completed.returncode != 0 or not reports:
        sys.stderr.write(completed.stdout[-3000:] + completed.stderr[-2000:])
        raise SystemExit(f"the quickstart run failed (exit {completed.returncode}); not a valid timing")
    report = json.loads(reports[-1].read_text())
    stages = {stage["name"]: float(stage["duration_s"]) for stage in report["stages"]}
    return wall, stages, str(report["run"]["result"])


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
    per_stage: dict[str, list[float]] = defaultdict(list)
    for index in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="nautes-e2e-bench-") as tmp:
            wall, stages, result = one_run(Path(tmp), args.extra, environment)
        walls.append(wall)
        for name, seconds in stages.items():
            per_stage[name].append(seconds)
        print(f"run {index + 1}/{args.runs}: {wall:.2f}s wall, result {result}", flush=True)

    def row(label: str, values: list[float]) -> str:
        return f"{label:<28} {min(values):>8.2f} {statistics.median(values):>8.2f} {max(values):>8.2f}"

    print(f"\n{'seconds':<28} {'min':>8} {'median':>8} {'max':>8}")
    print(row("whole cold run (wall)", walls))
    for name, values in per_stage.items():
        print(row(f"  {name}", values))
    in_stages = [sum(v[i] for v in per_stage.values()) for i in range(len(walls))]
    print(row("outside stages (start-up)", [w - s for w, s in zip(walls, in_stages, strict=True)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
