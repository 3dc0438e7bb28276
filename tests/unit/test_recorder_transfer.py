"""What an xdist worker's recorder sends its controller carries the world and the scenario, not only the
stages and facts: the controller writes the report, and a report without its target fails the release gate
("target unknown") whatever its stages did."""

from __future__ import annotations

import json
from pathlib import Path

from nautes_e2e.scenario import Note
from nautes_e2e.stages import EvidenceStore, ScenarioSummary, StageRecorder, TargetSummary


def recorder(tmp_path: Path) -> StageRecorder:
    return StageRecorder(EvidenceStore(tmp_path), lambda line: None)


def test_the_controller_takes_over_the_worker_s_target_and_scenario(tmp_path: Path) -> None:
    worker = recorder(tmp_path / "worker")
    target = TargetSummary("k3d", simulated=False, endpoints={"nautes": "https://nautes.example"})
    note = Note(topic="t", quickstart="q", behaviour="b", source="contract §1")
    worker.describe_target(target)
    worker.describe_scenario(ScenarioSummary("quickstart", (note,)))
    with worker.stage("preflight") as stage:
        stage.fact("target", "k3d")
    controller = recorder(tmp_path / "controller")

    controller.absorb(json.loads(json.dumps(worker.export())))

    assert controller.target == target
    assert controller.scenario == ScenarioSummary("quickstart", (note,))
    assert controller.records["preflight"].status == "passed"


def test_a_worker_that_described_nothing_leaves_the_controller_s_description(tmp_path: Path) -> None:
    controller = recorder(tmp_path / "controller")
    controller.describe_target(TargetSummary("local", simulated=True))

    controller.absorb(recorder(tmp_path / "worker").export())

    assert controller.target == TargetSummary("local", simulated=True)
