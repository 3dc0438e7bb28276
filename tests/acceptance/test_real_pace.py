"""The whole quickstart at a real installation's pace, time-scaled: the reference stack keeps the delays and
the order a real Nautes has (Argo CD syncing the tenant repository before a Cluster resource exists, the
operators' polls, the event source before the Sensors, pods that take time to start), and every stage still
gives the right verdict. Nothing here holds only in an instant world.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.quickstart import processes_of_run, run_quickstart

PACE_ENV = "NAUTES_E2E_REFSTACK_PACE"
TIME_SCALE_ENV = "NAUTES_E2E_REFSTACK_TIME_SCALE"
#: 3-minute Argo CD syncs become 9 s, 60 s polls 3 s: slow enough that every gap shows, fast enough for CI.
TIME_SCALE = "0.05"


def test_the_quickstart_passes_at_real_pace(tmp_path: Path) -> None:
    run = run_quickstart(tmp_path, {PACE_ENV: "real", TIME_SCALE_ENV: TIME_SCALE})

    statuses = {name: stage["status"] for name, stage in run.stages.items()}
    assert set(statuses.values()) == {"passed"}, f"{statuses}\n{run.tail()}"
    assert run.returncode == 0, run.tail()
    assert processes_of_run(run) == []
    # The pace really acted: the Environment save met a cluster Argo CD had not synced yet, and was waited
    # out rather than failed.
    assert re.search(r"waiting for Nautes to sync cluster \S+ \(Environment", run.output), run.tail(80)
    assert f"pace: real, time-scale {TIME_SCALE}" in run.stack_log()
