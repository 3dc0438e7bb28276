"""A document registered with ``settle_before_removal`` is removed only once Nautes has done what only its
clean-up of the synced resource undoes, within a share of the teardown's timeout; past that it is removed
anyway and a note says so.

Before, a run that failed right after registering its cluster removed the Cluster before Argo CD had
synced it: the cluster-operator never saw the resource, so the kubeconfig the API server's save had put in
Vault stayed there (a real installation does the same: it syncs every 3 minutes), and the teardown named
it as left behind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from aiohttp import web

from nautes_e2e.clients import NautesClient, parse_documents
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import AppliedDocuments, EvidenceStore, StageRecorder
from nautes_e2e.stages.applied import SETTLE_SHARE
from tests.support.http import catch_all, serve
from tests.support.loop import BackgroundLoop
from tests.support.nautes_api import DOCUMENTS

TEARDOWN_TIMEOUT_S = 1.5


class Nautes:
    """Saves and deletes everything; ``deleted_at`` says when each resource's delete arrived."""

    def __init__(self) -> None:
        self.deleted_at: dict[str, float] = {}

    async def handle(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.deleted_at[request.path.rsplit("/", 1)[-1]] = time.monotonic()
        return web.json_response({"message": "Successfully done"})


@pytest.fixture
def nautes() -> Iterator[tuple[Nautes, NautesClient]]:
    double = Nautes()
    with BackgroundLoop() as loop, ExitStack() as cleanup:
        served = cleanup.enter_context(serve(loop, catch_all(double.handle)))
        client = NautesClient(served.url, Secret("glpat-settle-test-token"))
        cleanup.callback(client.close)
        yield double, client


class SyncedAfter:
    """Says "not synced yet" until ``seconds`` after it was made (never, for None); counts its looks."""

    def __init__(self, seconds: float | None) -> None:
        self.synced_at = None if seconds is None else time.monotonic() + seconds
        self.looks = 0

    def __call__(self) -> str | None:
        self.looks += 1
        if self.synced_at is not None and time.monotonic() >= self.synced_at:
            return None
        return "auth/demo/ not enabled yet"


def torn_down(client: NautesClient, tmp_path: Path, probe: SyncedAfter) -> StageRecorder:
    recorder = StageRecorder(EvidenceStore(tmp_path), lambda line: None, stage_timeout_s=TEARDOWN_TIMEOUT_S)
    applied = AppliedDocuments(client)
    documents = parse_documents(DOCUMENTS, "product.yaml")
    applied.apply(recorder.begin("initialise_product"), documents)
    environment = next(document for document in documents if document.kind == "Environment")
    applied.settle_before_removal(environment, "the environment to be synced", probe)
    with recorder.stage("teardown") as stage:
        applied.remove_all(stage)
    return recorder


def test_the_removal_waits_until_the_document_has_settled(
    nautes: tuple[Nautes, NautesClient], tmp_path: Path
) -> None:
    double, client = nautes
    probe = SyncedAfter(0.4)

    record = torn_down(client, tmp_path, probe).records["teardown"]

    assert record.status == "passed", record.diagnosis
    assert double.deleted_at["env-dev"] >= probe.synced_at  # type: ignore[operator]
    assert probe.looks > 1
    assert record.notes == []


def test_a_document_that_never_settles_is_removed_anyway_and_a_note_says_so(
    nautes: tuple[Nautes, NautesClient], tmp_path: Path
) -> None:
    double, client = nautes
    started = time.monotonic()
    probe = SyncedAfter(None)

    record = torn_down(client, tmp_path, probe).records["teardown"]

    assert record.status == "passed", record.diagnosis
    assert "env-dev" in double.deleted_at
    assert double.deleted_at["env-dev"] - started >= TEARDOWN_TIMEOUT_S * SETTLE_SHARE
    assert len(record.notes) == 1
    assert record.notes[0].startswith(
        "removing Environment env-dev without waiting any longer for the environment"
    )
    assert "auth/demo/ not enabled yet" in record.notes[0]
