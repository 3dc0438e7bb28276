"""``--from-stage`` on the local target: a ``--keep-env`` run leaves its reference stack running with its
stages saved, a run with ``--reuse-env NAME --from-stage image_tag_rewritten`` resumes it, every stage
before restored from the kept run's facts, and passes the gate; ``nautes-e2e world prune --world NAME``
stops the kept stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from nautes_e2e.cli import main as cli_main
from nautes_e2e.stages.model import TEARDOWN_STAGE
from nautes_e2e.stages.saved_facts import SAVED_STAGES_FILE
from nautes_e2e.worlds.state import STATE_DIR_ENV
from tests.support.quickstart import RUN_ID, processes_of_run, run_quickstart

FROM_STAGE = "image_tag_rewritten"


def test_a_kept_run_resumed_from_a_later_stage_passes_on_the_restored_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state_root = tmp_path / "state"
    environment = {STATE_DIR_ENV: str(state_root)}
    monkeypatch.setenv(STATE_DIR_ENV, str(state_root))
    kept = run_quickstart(tmp_path / "kept", environment, arguments=["--keep-env"])
    try:
        assert kept.returncode == 0, kept.tail()
        assert processes_of_run(kept), "the kept run's stack stopped with it"
        (world,) = [entry.name for entry in state_root.iterdir()]

        resumed = run_quickstart(
            tmp_path / "resumed", environment, arguments=["--reuse-env", world, "--from-stage", FROM_STAGE]
        )

        assert resumed.returncode == 0, resumed.tail()
        chain = [name for name in kept.stages if name != TEARDOWN_STAGE and not name.startswith("world-")]
        before = chain[: chain.index(FROM_STAGE)]
        stages = resumed.stages
        saved = state_root / world / SAVED_STAGES_FILE
        assert {name: stages[name]["skip_reason"] for name in before} == dict.fromkeys(
            before, f"restored from {saved} (passed in run {RUN_ID})"
        )
        assert {name: stages[name]["facts"] for name in before} == {
            name: kept.stages[name]["facts"] for name in before
        }
        assert stages[FROM_STAGE]["status"] == "passed"
        assert stages[FROM_STAGE]["facts"] == kept.stages[FROM_STAGE]["facts"], (
            "the same bot commit, read again"
        )
        report = tmp_path / "resumed" / "reports" / RUN_ID / "report.json"
        assert cli_main(["gate", "--allow-simulated", str(report)]) == 0, capsys.readouterr().out
    finally:
        for state in state_root.glob("*/state.json"):
            cli_main(["world", "prune", "--world", state.parent.name])
    assert processes_of_run(kept) == [], "world prune left the kept stack running"
