"""A save that names a cluster Nautes has not synced yet is waited out, not failed (contract §2.6.5, §3.5).

Until Argo CD has synced the tenant repository, the API server answers an Environment save with a 500 that
says the Cluster "does not exist or is unavailable". The stage sends the documents not saved yet again with
backoff and a progress line, within its timeout; any other 5xx still fails at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from aiohttp import web

from nautes_e2e.clients import NautesApiError, NautesClient, NautesClusterNotSynced, parse_documents
from nautes_e2e.clients.nautes.errors import reply_error
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import AppliedDocuments, EvidenceStore, StageFailure, StageRecorder
from tests.support.http import catch_all, serve
from tests.support.loop import BackgroundLoop
from tests.support.nautes_api import DOCUMENTS, kratos

NOT_SYNCED = (
    "during global validation, it was found that Cluster 'physical-worker' does not exist or is unavailable. "
    "Please check Environment 'env-dev' in directory 'envs'err: clusters.nautes.resource.nautes.io "
    '"physical-worker" not found'
)


class Nautes:
    """An API server double: ``answer(method, path, count)`` decides each reply; every request is kept."""

    def __init__(self, answer: Callable[[str, str, int], web.Response]) -> None:
        self.answer = answer
        self.requests: list[tuple[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        count = self.requests.count((request.method, request.path))
        return self.answer(request.method, request.path, count)


@pytest.fixture
def serve_nautes() -> Iterator[Callable[[Nautes], NautesClient]]:
    """Serves a :class:`Nautes` double and gives a client of it; both go at the end of the test."""
    with BackgroundLoop() as loop, ExitStack() as cleanup:

        def start(double: Nautes) -> NautesClient:
            served = cleanup.enter_context(serve(loop, catch_all(double.handle)))
            client = NautesClient(served.url, Secret("glpat-sync-test-token"))
            cleanup.callback(client.close)
            return client

        yield start


def recorder(tmp_path: Path, lines: list[str], timeout_s: float) -> StageRecorder:
    return StageRecorder(EvidenceStore(tmp_path), lines.append, stage_timeout_s=timeout_s)


def saved(message: str = "Successfully saved") -> web.Response:
    return web.json_response({"message": message})


def test_an_environment_save_waits_for_the_cluster_sync(
    serve_nautes: Callable[[Nautes], NautesClient], tmp_path: Path
) -> None:
    def answer(method: str, path: str, count: int) -> web.Response:
        if path.endswith("/environments/env-dev") and count <= 2:
            return kratos(500, NOT_SYNCED)
        return saved()

    double = Nautes(answer)
    nautes = serve_nautes(double)
    lines: list[str] = []
    stage = recorder(tmp_path, lines, timeout_s=10).begin("initialise_product")

    results = AppliedDocuments(nautes).apply(stage, parse_documents(DOCUMENTS, "product.yaml"))

    assert [(result.kind, result.name) for result in results] == [
        ("Product", "demo"),
        ("Environment", "env-dev"),
        ("Project", "project-demo"),
    ]
    # The product was saved once; only what was not saved yet was sent again.
    assert double.requests.count(("POST", "/api/v1/products/demo")) == 1
    assert double.requests.count(("POST", "/api/v1/products/demo/environments/env-dev")) == 3
    waiting = [line for line in lines if "waiting for Nautes to sync cluster physical-worker" in line]
    assert len(waiting) == 2


def test_the_wait_for_a_sync_ends_at_the_stage_timeout(
    serve_nautes: Callable[[Nautes], NautesClient], tmp_path: Path
) -> None:
    double = Nautes(
        lambda method, path, count: kratos(500, NOT_SYNCED) if "environments" in path else saved()
    )
    nautes = serve_nautes(double)
    stage = recorder(tmp_path, [], timeout_s=0.5).begin("initialise_product")
    applied = AppliedDocuments(nautes)

    with pytest.raises(StageFailure) as raised:
        applied.apply(stage, parse_documents(DOCUMENTS, "product.yaml"))

    assert raised.value.diagnosis.startswith("Nautes did not sync cluster physical-worker within 0.5s: the ")
    assert NOT_SYNCED in raised.value.diagnosis
    assert isinstance(raised.value.__cause__, NautesClusterNotSynced)
    assert double.requests.count(("POST", "/api/v1/products/demo/environments/env-dev")) >= 2


def test_any_other_500_fails_at_once(serve_nautes: Callable[[Nautes], NautesClient], tmp_path: Path) -> None:
    double = Nautes(
        lambda method, path, count: kratos(500, "internal error") if "environments" in path else saved()
    )
    nautes = serve_nautes(double)
    stage = recorder(tmp_path, [], timeout_s=10).begin("initialise_product")

    with pytest.raises(NautesApiError) as raised:
        AppliedDocuments(nautes).apply(stage, parse_documents(DOCUMENTS, "product.yaml"))

    assert not isinstance(raised.value, NautesClusterNotSynced)
    assert double.requests.count(("POST", "/api/v1/products/demo/environments/env-dev")) == 1


def test_only_a_save_that_names_a_cluster_is_a_sync_wait() -> None:
    def error(status: int, method: str, message: str) -> NautesApiError:
        body = json.dumps({"code": status, "reason": "", "message": message})
        return reply_error(status=status, body=body, kind="Environment", name="e", method=method, url="u")

    assert isinstance(error(500, "POST", NOT_SYNCED), NautesClusterNotSynced)
    other_kind = NOT_SYNCED.replace("Cluster 'physical-worker'", "Project 'project-demo'")
    assert not isinstance(error(500, "POST", other_kind), NautesClusterNotSynced)
    assert not isinstance(error(500, "DELETE", NOT_SYNCED), NautesClusterNotSynced)
    assert not isinstance(error(400, "POST", NOT_SYNCED), NautesClusterNotSynced)


def test_a_cut_save_is_read_back_then_sent_again(tmp_path: Path) -> None:
    """The client gives up on the first Environment save; the server finishes it anyway. The stage reads
    it back (and says it landed), then sends it again, which Nautes takes as an update."""

    class SlowFirstSave(Nautes):
        async def handle(self, request: web.Request) -> web.Response:
            self.requests.append((request.method, request.path))
            first_save = self.requests.count(("POST", request.path)) == 1
            if request.method == "POST" and "environments" in request.path and first_save:
                await asyncio.sleep(1.0)  # longer than the client waits
            if request.method == "GET":
                return web.json_response({"name": "env-dev", "cluster": "physical-worker"})
            return saved()

    double = SlowFirstSave(lambda method, path, count: saved())
    lines: list[str] = []
    with BackgroundLoop() as loop, serve(loop, catch_all(double.handle)) as served:
        nautes = NautesClient(served.url, Secret("glpat-cut-test-token"), timeout=0.3)
        stage = recorder(tmp_path, lines, timeout_s=10).begin("initialise_product")

        results = AppliedDocuments(nautes).apply(stage, parse_documents(DOCUMENTS, "product.yaml"))
        nautes.close()

    environment = "/api/v1/products/demo/environments/env-dev"
    assert [(result.kind, result.name) for result in results][-2:] == [
        ("Environment", "env-dev"),
        ("Project", "project-demo"),
    ]
    assert [method for method, path in double.requests if path == environment] == ["POST", "GET", "POST"]
    assert any("Environment env-dev got no reply in time; read back, Nautes has it" in line for line in lines)


def test_a_product_delete_waits_for_gitlab_to_delete_its_repositories(
    serve_nautes: Callable[[Nautes], NautesClient], tmp_path: Path
) -> None:
    """GitLab deletes projects in a background job: right after the CodeRepos went, the product's group may
    still hold them and Nautes refuses the product delete (contract §2.6.2); the teardown waits it out."""
    not_empty = "here are multiple project in demo, unable to delete"

    def answer(method: str, path: str, count: int) -> web.Response:
        if method == "DELETE" and path == "/api/v1/products/demo" and count <= 2:
            return kratos(500, not_empty)
        return saved("Successfully deleted")

    double = Nautes(answer)
    nautes = serve_nautes(double)
    lines: list[str] = []
    records = recorder(tmp_path, lines, timeout_s=10)
    applied = AppliedDocuments(nautes)
    applied.apply(records.begin("initialise_product"), parse_documents(DOCUMENTS, "product.yaml"))

    with records.stage("teardown") as stage:
        applied.remove_all(stage)

    teardown = records.records["teardown"]
    assert teardown.status == "passed", teardown.diagnosis
    assert teardown.facts["removed"] == 3
    assert double.requests.count(("DELETE", "/api/v1/products/demo")) == 3
    # The project went once: only what had not gone yet was sent again.
    assert double.requests.count(("DELETE", "/api/v1/products/demo/projects/project-demo")) == 1
    assert sum("waiting for GitLab to delete the repositories of product demo" in line for line in lines) == 2


def test_any_other_refusal_of_a_delete_fails_the_teardown(
    serve_nautes: Callable[[Nautes], NautesClient], tmp_path: Path
) -> None:
    def answer(method: str, path: str, count: int) -> web.Response:
        if method == "DELETE" and path == "/api/v1/products/demo":
            return kratos(500, "internal error")
        return saved("Successfully deleted")

    double = Nautes(answer)
    nautes = serve_nautes(double)
    records = recorder(tmp_path, [], timeout_s=10)
    applied = AppliedDocuments(nautes)
    applied.apply(records.begin("initialise_product"), parse_documents(DOCUMENTS, "product.yaml"))

    with records.stage("teardown") as stage:
        applied.remove_all(stage)

    teardown = records.records["teardown"]
    assert teardown.status == "failed"
    assert "internal error" in (teardown.diagnosis or "")
    assert double.requests.count(("DELETE", "/api/v1/products/demo")) == 1
