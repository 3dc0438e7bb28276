"""The main job with ``--cluster-type virtual`` passes: a host and a virtual pipeline worker on it are
registered in that order, the Environment names the virtual cluster, the pipeline runs on it, and the
teardown removes both registrations, the virtual one first, leaving nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.quickstart import RUN_ID, processes_of_run, run_quickstart


def test_the_virtual_variant_passes_and_removes_both_registrations(tmp_path: Path) -> None:
    run = run_quickstart(tmp_path, {}, arguments=["--cluster-type", "virtual", "--suffix", "vc"])

    assert processes_of_run(run) == [], "the run left processes behind"
    assert run.returncode == 0, run.tail()
    stages = run.stages
    assert {name: stage["status"] for name, stage in stages.items()} == dict.fromkeys(stages, "passed")
    facts = stages["register_cluster"]["facts"]
    assert (facts["cluster"], facts["host_cluster"]) == ("vcluster-vc", "host-vc")
    evidence = tmp_path / "reports" / RUN_ID / "evidence"
    applied = json.loads((evidence / "register_cluster" / "read-back-cluster.json").read_text())
    assert list(applied) == ["Cluster host-vc", "Cluster vcluster-vc"]
    assert applied["Cluster vcluster-vc"]["host_cluster"] == "host-vc"
    removed = json.loads((evidence / "teardown" / "removed.json").read_text())
    assert removed.index("Cluster vcluster-vc") < removed.index("Cluster host-vc")
