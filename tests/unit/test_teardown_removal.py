"""The teardown never stops half-way: a document that does not go is listed with why, the others are still
removed, and the leftover checks always run; the stage then fails naming each.

Before, the first refused delete ended the teardown: the product and its GitLab group stayed, and the
report did not say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from aiohttp import web

from nautes_e2e.clients import NautesClient, parse_documents
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import AppliedDocuments, EvidenceStore, StageRecorder
from tests.support.http import catch_all, serve
from tests.support.loop import BackgroundLoop
from tests.support.nautes_api import DOCUMENTS, kratos

ENVIRONMENT = "/api/v1/products/demo/environments/env-dev"


class Nautes:
    """Saves everything; deletes everything except what ``refuse`` answers for."""

    def __init__(self, refuse: Callable[[str], web.Response | None]) -> None:
        self.refuse = refuse
        self.deleted: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            refusal = self.refuse(request.path)
            if refusal is not None:
                return refusal
            self.deleted.append(request.path.rsplit("/", 1)[-1])
        return web.json_response({"message": "Successfully done"})


@pytest.fixture
def nautes_client() -> Iterator[Callable[[Nautes], NautesClient]]:
    with BackgroundLoop() as loop, ExitStack() as cleanup:

        def start(double: Nautes) -> NautesClient:
            served = cleanup.enter_context(serve(loop, catch_all(double.handle)))
            client = NautesClient(served.url, Secret("glpat-removal-test-token"))
            cleanup.callback(client.close)
            return client

        yield start


class Probe:
    """A leftover probe that counts its looks and always finds ``left``."""

    def __init__(self, left: str | None) -> None:
        self.left = left
        self.looks = 0

    def __call__(self) -> str | None:
        self.looks += 1
        return self.left


def applied_and_torn_down(client: NautesClient, tmp_path: Path, *probes: Probe) -> StageRecorder:
    recorder = StageRecorder(EvidenceStore(tmp_path), lambda line: None, stage_timeout_s=0.3)
    applied = AppliedDocuments(client)
    for probe in probes:
        applied.expect_gone(probe)
    applied.apply(recorder.begin("initialise_product"), parse_documents(DOCUMENTS, "product.yaml"))
    with recorder.stage("teardown") as stage:
        applied.remove_all(stage)
    return recorder


def test_a_refused_delete_does_not_keep_the_others_nor_the_leftover_checks(
    nautes_client: Callable[[Nautes], NautesClient], tmp_path: Path
) -> None:
    double = Nautes(lambda path: kratos(500, "internal error") if path == ENVIRONMENT else None)
    group = Probe("GitLab group demo")

    record = applied_and_torn_down(nautes_client(double), tmp_path, group).records["teardown"]

    assert double.deleted == ["project-demo", "demo"], "the project and the product went all the same"
    assert group.looks >= 1, "the leftover checks ran"
    assert record.status == "failed"
    assert record.facts["removed"] == 2
    assert record.facts["not_removed"] == ["Environment env-dev: 500 internal error"]
    diagnosis = record.diagnosis or ""
    assert diagnosis.startswith("nautes remove failed for Environment env-dev: 500 internal error; ")
    assert "left behind: GitLab group demo" in diagnosis


def test_not_found_for_a_saved_document_is_a_note_not_a_failure(
    nautes_client: Callable[[Nautes], NautesClient], tmp_path: Path
) -> None:
    gone = "the cluster resource x is not found"  # any "not found" answer (contract §2.5)
    double = Nautes(lambda path: kratos(500, gone) if path == ENVIRONMENT else None)

    record = applied_and_torn_down(nautes_client(double), tmp_path, Probe(None)).records["teardown"]

    assert record.status == "passed", record.diagnosis
    assert record.notes == [f"Environment env-dev was already gone: removing it answered {gone}"]


def test_once_nautes_does_not_answer_the_rest_is_listed_not_tried_and_the_checks_still_run(
    nautes_client: Callable[[Nautes], NautesClient], tmp_path: Path
) -> None:
    double = Nautes(lambda path: None)
    client = nautes_client(double)
    recorder = StageRecorder(EvidenceStore(tmp_path), lambda line: None, stage_timeout_s=0.3)
    applied = AppliedDocuments(client)
    probe = Probe("runtime namespace pr-demo")
    applied.expect_gone(probe)
    applied.apply(recorder.begin("initialise_product"), parse_documents(DOCUMENTS, "product.yaml"))
    client.url = "http://127.0.0.1:9"  # the discard port: nothing listens

    with recorder.stage("teardown") as stage:
        applied.remove_all(stage)

    record = recorder.records["teardown"]
    assert record.status == "failed"
    not_removed = record.facts["not_removed"]
    assert [entry.split(":")[0] for entry in not_removed] == [
        "Project project-demo",
        "Environment env-dev",
        "Product demo",
    ]
    assert all(entry.endswith("not tried, Nautes did not answer") for entry in not_removed[1:])
    assert probe.looks >= 1
    assert "left behind: runtime namespace pr-demo" in (record.diagnosis or "")
