"""The teardown's leftover checks: only a definite "not found" counts as gone.

An API server that answers 500 to every GET must fail the teardown with what it answered; taking any
error for "gone" would let a broken Nautes pass the check that nothing was left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from nautes_e2e.clients import NautesClient
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import AppliedDocuments, EvidenceStore, StageRecorder
from suites.quickstart import probes
from tests.support.http import catch_all, serve
from tests.support.loop import BackgroundLoop

CLUSTER = "physical-worker-quickstart"


def kratos(code: int, reason: str, message: str) -> web.Response:
    """An error body as the Nautes API (kratos) writes it (contract §2.5)."""
    body = {"code": code, "reason": reason, "message": message, "metadata": {}}
    return web.json_response(body, status=code)


ANSWERS: dict[str, Callable[[], web.Response]] = {
    "gone": lambda: kratos(404, "NOT_FOUND", f"the cluster resource {CLUSTER} is not found"),
    "broken": lambda: kratos(500, "", "internal error: etcdserver: request timed out"),
    "still-there": lambda: web.json_response({"name": CLUSTER, "usage": "worker"}),
}


@pytest.fixture
def nautes_answering(request: pytest.FixtureRequest) -> Iterator[NautesClient]:
    answer = ANSWERS[request.param]

    async def handler(_: web.Request) -> web.Response:
        return answer()

    with BackgroundLoop() as loop, serve(loop, catch_all(handler)) as served:
        client = NautesClient(served.url, Secret("glpat-leftover-test-token"))
        yield client
        client.close()


def teardown_with_cluster_probe(nautes: NautesClient, tmp_path: Path) -> StageRecorder:
    recorder = StageRecorder(EvidenceStore(tmp_path), lambda line: None, stage_timeout_s=0.5)
    applied = AppliedDocuments(nautes)
    applied.expect_gone(lambda: probes.cluster_left(nautes, CLUSTER))
    with recorder.stage("teardown") as stage:
        applied.remove_all(stage)
    return recorder


@pytest.mark.parametrize("nautes_answering", ["gone"], indirect=True)
def test_a_cluster_the_api_does_not_find_is_gone(nautes_answering: NautesClient, tmp_path: Path) -> None:
    record = teardown_with_cluster_probe(nautes_answering, tmp_path).records["teardown"]

    assert record.status == "passed", record.diagnosis
    assert record.facts["leftover_checks"] == 1


@pytest.mark.parametrize("nautes_answering", ["broken"], indirect=True)
def test_an_api_answering_500_fails_the_leftover_check_with_its_answer(
    nautes_answering: NautesClient, tmp_path: Path
) -> None:
    record = teardown_with_cluster_probe(nautes_answering, tmp_path).records["teardown"]

    assert record.status == "failed"
    assert record.diagnosis is not None
    assert "NautesApiError" in record.diagnosis
    assert "etcdserver: request timed out" in record.diagnosis


@pytest.mark.parametrize("nautes_answering", ["still-there"], indirect=True)
def test_a_cluster_still_registered_is_reported_as_left_behind(
    nautes_answering: NautesClient, tmp_path: Path
) -> None:
    record = teardown_with_cluster_probe(nautes_answering, tmp_path).records["teardown"]

    assert record.status == "failed"
    assert f"left behind: cluster registration {CLUSTER}" in (record.diagnosis or "")
