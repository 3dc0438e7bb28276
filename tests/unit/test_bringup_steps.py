"""A target's bring-up steps become ``world-<step>`` stages of the run, a failed one stops the bring-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.target import RecordedBringUp
from nautes_e2e.stages import StageRecorder
from nautes_e2e.stages.evidence import EvidenceStore
from nautes_e2e.targets.bringup import UNREPORTED


def recorder(tmp_path: Path) -> StageRecorder:
    return StageRecorder(EvidenceStore(tmp_path), progress_sink=lambda line: None)


def test_a_step_is_recorded_as_a_passed_stage_with_its_facts(tmp_path: Path) -> None:
    stages = recorder(tmp_path)

    with RecordedBringUp(stages).step("cluster") as step:
        step.fact("cluster", "nautes-e2e")

    record = stages.records["world-cluster"]
    assert (record.status, record.facts) == ("passed", {"cluster": "nautes-e2e"})
    assert record.duration_s >= 0


def test_a_failed_step_is_recorded_and_stops_the_bring_up(tmp_path: Path) -> None:
    stages = recorder(tmp_path)

    with (
        pytest.raises(RuntimeError, match="k3d exited with status 1"),
        RecordedBringUp(stages).step("cluster"),
    ):
        raise RuntimeError("k3d exited with status 1")

    record = stages.records["world-cluster"]
    assert record.status == "failed"
    assert record.diagnosis is not None
    assert "k3d exited with status 1" in record.diagnosis


def test_outside_a_run_steps_are_not_recorded_but_still_fail() -> None:
    with UNREPORTED.step("cluster") as step:
        step.fact("ignored", 1)
        step.note("ignored")
    with pytest.raises(ValueError, match="boom"), UNREPORTED.step("cluster"):
        raise ValueError("boom")
