"""The stage recorder without pytest: blocking decisions, evidence files, failures, and stages run outside a
test (the teardown)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nautes_e2e.secrets import Secret
from nautes_e2e.stages import EvidenceStore, StageFailure, StageRecorder


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def recorder(tmp_path: Path, lines: list[str]) -> StageRecorder:
    return StageRecorder(EvidenceStore(tmp_path), lines.append, stage_timeout_s=1.0)


def finish(
    recorder: StageRecorder, name: str, needs: tuple[str, ...] = (), error: Exception | None = None
) -> None:
    recorder.begin(name, needs)
    recorder.count_attempt(name)
    if error is not None:
        recorder.failed(name, error)
    recorder.passed(name)


def test_a_stage_is_blocked_by_the_first_need_that_did_not_pass(recorder: StageRecorder) -> None:
    finish(recorder, "preflight")
    finish(recorder, "register_cluster", ("preflight",), error=StageFailure("no worker cluster"))
    finish(recorder, "registry_auth", ("preflight",))

    assert recorder.blocker(("preflight",)) is None
    assert recorder.blocker(("registry_auth", "register_cluster")) == "register_cluster"
    assert recorder.blocker(("never_ran", "register_cluster")) == "never_ran"


def test_blocking_follows_needs_transitively(recorder: StageRecorder) -> None:
    finish(recorder, "a", error=RuntimeError("boom"))
    recorder.begin("b", ("a",))
    recorder.skipped("b", "blocked by a")
    # A record claiming success does not hide an upstream stage that did not pass.
    finish(recorder, "c", ("a",))

    assert recorder.records["b"].blocked
    assert recorder.blocker(("b",)) == "a", "a blocked need points at the stage that blocked it"
    assert recorder.blocker(("c",)) == "a"


def test_facts_go_to_the_stage_and_the_shared_facts(recorder: StageRecorder) -> None:
    stage = recorder.begin("register_cluster")
    stage.fact("cluster", "physical-worker-quickstart")
    stage.fact("repo_ids", {"coderepo-sc-demo": 57})

    assert recorder.records["register_cluster"].facts == {
        "cluster": "physical-worker-quickstart",
        "repo_ids": {"coderepo-sc-demo": 57},
    }
    assert recorder.facts["repo_ids"] == {"coderepo-sc-demo": 57}


def test_evidence_is_redacted_named_by_content_and_kept_inside_the_stage_folder(
    recorder: StageRecorder, tmp_path: Path
) -> None:
    token = Secret("glpat-evidence-token-0001")
    stage = recorder.begin("register_cluster")

    text_path = stage.evidence("api-error", f"401 for token {token.reveal()}")
    json_path = stage.evidence("cluster", {"name": "c1", "token": token.reveal(), "secret": token})
    bytes_path = stage.evidence("blob", b"\xff\xfe" + token.reveal().encode())
    escaped_path = stage.evidence("../../outside.log", "text")

    assert text_path == "evidence/register_cluster/api-error.txt"
    assert json_path == "evidence/register_cluster/cluster.json"
    assert bytes_path == "evidence/register_cluster/blob.bin"
    assert escaped_path.startswith("evidence/register_cluster/")
    assert (tmp_path / text_path).read_text() == "401 for token ***"
    assert json.loads((tmp_path / json_path).read_text()) == {"name": "c1", "token": "***", "secret": "***"}
    assert (tmp_path / bytes_path).read_bytes() == b"\xff\xfe***"
    assert recorder.records["register_cluster"].evidence == [text_path, json_path, bytes_path, escaped_path]


def test_a_failure_keeps_the_first_redacted_diagnosis_and_writes_its_evidence(
    recorder: StageRecorder, tmp_path: Path
) -> None:
    token = Secret("glpat-diagnosis-token-0002")
    recorder.begin("initialise_product")
    failure = StageFailure(f"POST product answered 401 for {token.reveal()}", {"reply": {"code": 401}})

    recorder.failed("initialise_product", failure)
    recorder.failed("initialise_product", RuntimeError("teardown broke too"), status="error")

    record = recorder.records["initialise_product"]
    assert (record.status, record.diagnosis) == ("failed", "POST product answered 401 for ***")
    assert record.evidence == ["evidence/initialise_product/reply.json"]
    assert json.loads((tmp_path / record.evidence[0]).read_text()) == {"code": 401}


def test_an_unexpected_exception_is_diagnosed_by_type_and_message(recorder: StageRecorder) -> None:
    recorder.begin("push_pipeline")
    recorder.failed("push_pipeline", KeyError("ssh_url_to_repo"))

    assert recorder.records["push_pipeline"].diagnosis == "KeyError: 'ssh_url_to_repo'"


def test_progress_is_one_redacted_line_with_the_stage_and_elapsed_time(
    recorder: StageRecorder, lines: list[str]
) -> None:
    token = Secret("glpat-progress-token-0003")
    stage = recorder.begin("push_pipeline")

    stage.progress(f"pushing with {token.reveal()}\nsecond line")

    assert len(lines) == 1
    assert lines[0].startswith("[push_pipeline 0.0s] ")
    assert lines[0].endswith("pushing with *** second line")


def test_work_outside_a_test_is_recorded_as_a_stage_and_its_failure_not_reraised(
    recorder: StageRecorder,
) -> None:
    def remove_everything() -> None:
        raise StageFailure("nautes remove failed: Cluster c1: 500")

    with recorder.stage("teardown") as stage:
        stage.fact("removed", 3)
        remove_everything()

    record = recorder.records["teardown"]
    assert (record.status, record.attempts, record.facts) == ("failed", 1, {"removed": 3})
    assert record.diagnosis == "nautes remove failed: Cluster c1: 500"
    assert record.duration_s >= 0


def test_an_interrupt_during_work_outside_a_test_is_recorded_and_reraised(recorder: StageRecorder) -> None:
    with pytest.raises(KeyboardInterrupt), recorder.stage("teardown"):
        raise KeyboardInterrupt

    assert recorder.records["teardown"].status == "error"


def test_unfinished_stages_are_closed_as_interrupted(recorder: StageRecorder) -> None:
    recorder.begin("pipelinerun_succeeded")
    recorder.close_unfinished()

    record = recorder.records["pipelinerun_succeeded"]
    assert (record.status, record.diagnosis) == ("error", "interrupted before the stage finished")


def test_an_export_rebuilds_the_same_records_elsewhere(recorder: StageRecorder, tmp_path: Path) -> None:
    finish(recorder, "preflight")
    recorder.context("preflight").fact("target", "local")
    finish(recorder, "register_cluster", ("preflight",), error=StageFailure("no cluster"))
    controller = StageRecorder(EvidenceStore(tmp_path), lambda line: None, stage_timeout_s=1.0)

    controller.absorb(json.loads(json.dumps(recorder.export())))

    assert controller.records == recorder.records
    assert controller.facts == {"target": "local"}
    assert controller.blocker(("register_cluster",)) == "register_cluster"


def test_a_stage_cut_short_by_a_signal_says_which_and_keeps_the_time_it_ran(recorder: StageRecorder) -> None:
    recorder.interrupt("SIGTERM")
    recorder.interrupt("SIGINT")  # the first cause stays

    def cut_short() -> None:
        time.sleep(0.05)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), recorder.stage("teardown"):
        cut_short()

    record = recorder.records["teardown"]
    assert (record.status, record.diagnosis) == ("error", "interrupted by SIGTERM before the stage finished")
    assert record.duration_s >= 0.05


def test_a_worker_s_interrupted_stages_are_named_after_the_controller_s_signal(
    recorder: StageRecorder, tmp_path: Path
) -> None:
    worker = StageRecorder(EvidenceStore(tmp_path), lambda line: None, stage_timeout_s=1.0)
    worker.begin("initialise_product")
    worker.failed("initialise_product", KeyboardInterrupt(), status="error")
    worker.begin("push_pipeline")  # still running when the worker's records were taken
    recorder.interrupt("SIGHUP")

    recorder.absorb(json.loads(json.dumps(worker.export())))
    recorder.close_unfinished()

    for name in ("initialise_product", "push_pipeline"):
        record = recorder.records[name]
        assert (record.status, record.diagnosis) == (
            "error",
            "interrupted by SIGHUP before the stage finished",
        )
