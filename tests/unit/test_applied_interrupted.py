"""A save interrupted by Ctrl-C or a signal is uncertain: it may have landed or not, and so may every
document after it. The teardown removes them all, takes "not found" for them as "never saved", and settles
any other refusal by reading the document back (contract §2.5: DELETE of a missing Environment answers
``500 UNKNOWN``, its GET a 404).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from aiohttp import web

from nautes_e2e.clients import NautesClient, parse_documents
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import AppliedDocuments, EvidenceStore, StageRecorder
from tests.support.http import catch_all, serve
from tests.support.loop import BackgroundLoop
from tests.support.nautes_api import DOCUMENTS

PRODUCT = "/api/v1/products/demo"
ENVIRONMENT = "/api/v1/products/demo/environments/env-dev"
PROJECT = "/api/v1/products/demo/projects/project-demo"
# Contract §2.5, "Not-found per operation".
MISSING_ENVIRONMENT_DELETE = (500, "UNKNOWN", "unknown request error")
MISSING_ENVIRONMENT_GET = (404, "RESOURCE_NOT_FOUND", "resource env-dev not found")
MISSING_PROJECT_DELETE = (
    500,
    "",
    "Project resource project-demo not found or invalid. Please check whether the resource exists under "
    "the default project",
)


def kratos(code: int, reason: str, message: str) -> web.Response:
    return web.json_response(
        {"code": code, "reason": reason, "message": message, "metadata": {}}, status=code
    )


class Nautes:
    """An API server double that keeps what was saved: a DELETE or GET of anything else answers as the
    real server does for a missing resource."""

    def __init__(self) -> None:
        self.saved: set[str] = set()
        self.requests: list[tuple[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if request.method == "POST":
            self.saved.add(request.path)
            return web.json_response({"message": "Successfully saved"})
        if request.path in self.saved:
            if request.method == "DELETE":
                self.saved.discard(request.path)
                return web.json_response({"message": "Successfully deleted"})
            return web.json_response({"name": request.path.rsplit("/", 1)[-1]})
        if request.path == ENVIRONMENT:
            return kratos(
                *(MISSING_ENVIRONMENT_DELETE if request.method == "DELETE" else MISSING_ENVIRONMENT_GET)
            )
        return kratos(*MISSING_PROJECT_DELETE)


class InterruptedClient(NautesClient):
    """Ctrl-C lands while the save of ``path`` is on its way: after the server took it (``landed``) or
    before it was sent."""

    def __init__(self, url: str, path: str, *, landed: bool) -> None:
        super().__init__(url, Secret("glpat-interrupt-test-token"))
        self.path = path
        self.landed = landed

    def http_request(
        self, method: str, path: str, body: bytes | None, *, kind: str, name: str
    ) -> requests.Response:
        interrupted = method == "POST" and path == self.path
        if interrupted and not self.landed:
            raise KeyboardInterrupt
        response = super().http_request(method, path, body, kind=kind, name=name)
        if interrupted:
            raise KeyboardInterrupt
        return response


@pytest.fixture
def serve_nautes() -> Iterator[Callable[[Nautes], str]]:
    with BackgroundLoop() as loop, ExitStack() as cleanup:

        def start(double: Nautes) -> str:
            return cleanup.enter_context(serve(loop, catch_all(double.handle))).url

        yield start


def interrupted_apply(
    url: str, path: str, tmp_path: Path, *, landed: bool
) -> tuple[StageRecorder, AppliedDocuments]:
    """``nautes apply`` of the three documents, Ctrl-C during the save of ``path``."""
    client = InterruptedClient(url, path, landed=landed)
    recorder = StageRecorder(EvidenceStore(tmp_path), lambda line: None, stage_timeout_s=5)
    applied = AppliedDocuments(client)
    with pytest.raises(KeyboardInterrupt):
        applied.apply(recorder.begin("initialise_product"), parse_documents(DOCUMENTS, "product.yaml"))
    return recorder, applied


def teardown(recorder: StageRecorder, applied: AppliedDocuments) -> None:
    with recorder.stage("teardown") as stage:
        applied.remove_all(stage)


def test_a_save_interrupted_after_it_landed_is_removed_and_the_unsent_rest_is_no_error(
    serve_nautes: Callable[[Nautes], str], tmp_path: Path
) -> None:
    double = Nautes()
    recorder, applied = interrupted_apply(serve_nautes(double), ENVIRONMENT, tmp_path, landed=True)
    assert double.saved == {PRODUCT, ENVIRONMENT}, "the environment landed, the project was never sent"

    teardown(recorder, applied)

    record = recorder.records["teardown"]
    assert record.status == "passed", record.diagnosis
    assert record.facts["removed"] == 2
    assert double.saved == set()
    assert any(
        note.startswith("Project project-demo was never saved: removing it answered") for note in record.notes
    )
    # The project never existed: "not found" was enough, no read back.
    assert ("GET", PROJECT) not in double.requests


def test_a_save_interrupted_before_it_was_sent_is_read_back_when_its_delete_is_ambiguous(
    serve_nautes: Callable[[Nautes], str], tmp_path: Path
) -> None:
    double = Nautes()
    recorder, applied = interrupted_apply(serve_nautes(double), ENVIRONMENT, tmp_path, landed=False)
    assert double.saved == {PRODUCT}

    teardown(recorder, applied)

    record = recorder.records["teardown"]
    assert record.status == "passed", record.diagnosis
    assert record.facts["removed"] == 1
    assert "not_removed" not in record.facts
    # DELETE of a missing environment answers what a crash answers; its GET says it is not there.
    assert [request for request in double.requests if request[1] == ENVIRONMENT] == [
        ("DELETE", ENVIRONMENT),
        ("GET", ENVIRONMENT),
    ]
    assert any(
        "Environment env-dev was never saved" in note and "500 unknown request error" in note
        for note in record.notes
    )


def test_an_interrupted_save_that_nautes_still_has_is_listed_as_not_removed(
    serve_nautes: Callable[[Nautes], str], tmp_path: Path
) -> None:
    """An uncertain document whose delete is refused while Nautes still has it is not "never saved"."""

    class Refusing(Nautes):
        async def handle(self, request: web.Request) -> web.Response:
            if request.method == "DELETE" and request.path == ENVIRONMENT:
                self.requests.append((request.method, request.path))
                return kratos(500, "", "internal error: etcdserver: request timed out")
            return await super().handle(request)

    double = Refusing()
    recorder, applied = interrupted_apply(serve_nautes(double), ENVIRONMENT, tmp_path, landed=True)

    teardown(recorder, applied)

    record = recorder.records["teardown"]
    assert record.status == "failed"
    assert record.facts["not_removed"] == [
        "Environment env-dev: 500 internal error: etcdserver: request timed out"
    ]
    assert "nautes remove failed for Environment env-dev: 500 internal error" in (record.diagnosis or "")
    assert ENVIRONMENT in double.saved
