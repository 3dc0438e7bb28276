"""The teardown's leftover wait looks again only where the run's objects still were, and says nothing is
left only after a look at every service: cheaper looks, the same verdicts."""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import cast

import pytest

from nautes_e2e.clients import NautesClient
from nautes_e2e.stages import AppliedDocuments, EvidenceStore, StageRecord, StageRecorder
from nautes_e2e.stages.inventory import InventoryClients, Item, Snapshot, WorldInventory
from nautes_e2e.stages.inventory import check as check_module
from nautes_e2e.stages.inventory.items import SERVICES
from tests.unit.test_inventory import NAMES, PATHS, THERE_BEFORE, kube, vault


class World:
    """``take_snapshot``: one answer per look (the last one repeated), filtered to the services asked for,
    which each look records."""

    def __init__(self, *answers: set[Item]) -> None:
        self.answers = answers
        self.asked: list[frozenset[str]] = []

    def __call__(self, clients: InventoryClients, services: Collection[str] = SERVICES) -> Snapshot:
        self.asked.append(frozenset(services))
        answer = self.answers[min(len(self.asked), len(self.answers)) - 1]
        return Snapshot.of({item for item in answer if item.service in services}, PATHS)


@pytest.fixture
def teardown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[World], StageRecord]:
    def run(world: World) -> StageRecord:
        monkeypatch.setattr(check_module, "take_snapshot", world)
        recorder = StageRecorder(EvidenceStore(tmp_path), lambda line: None, stage_timeout_s=0.5)
        inventory = WorldInventory(cast(InventoryClients, None), NAMES)
        with recorder.stage("preflight") as stage:
            inventory.take(stage)
        applied = AppliedDocuments(cast(NautesClient, None))
        with recorder.stage("teardown") as stage:
            inventory.check_removal(stage, applied)
            applied.remove_all(stage)
        return recorder.records["teardown"]

    return run


ALL = frozenset(SERVICES)
SECRET = vault("Vault secret git/data/gitlab/repo-7/default/readonly (deploy key)")
NAMESPACE = kube("namespace pr-demo-s1")


def test_once_only_vault_holds_the_runs_objects_only_vault_is_listed_and_all_four_confirm(
    teardown: Callable[[World], StageRecord],
) -> None:
    # preflight, before the removal, then three looks: the secret is still there twice, then gone.
    world = World(
        THERE_BEFORE, THERE_BEFORE | {SECRET, NAMESPACE}, *[THERE_BEFORE | {SECRET}] * 3, THERE_BEFORE
    )

    record = teardown(world)

    assert record.status == "passed", record.diagnosis
    assert world.asked == [ALL, ALL, ALL, {"Vault"}, {"Vault"}, {"Vault"}, ALL]


def test_an_object_that_comes_back_where_the_looks_no_longer_went_is_found_by_the_look_at_all(
    teardown: Callable[[World], StageRecord],
) -> None:
    # The namespace is gone at the first look after the removal and back by the time Vault is clear.
    world = World(
        THERE_BEFORE, THERE_BEFORE | {SECRET, NAMESPACE}, THERE_BEFORE | {SECRET}, THERE_BEFORE | {NAMESPACE}
    )

    record = teardown(world)

    assert record.status == "failed"
    assert (record.diagnosis or "").endswith(f"last state: left behind: {NAMESPACE}"), record.diagnosis
    assert {"Kubernetes"} in world.asked, "the namespace's service was looked at alone again"


def test_a_wait_that_ends_on_a_look_at_some_services_checks_what_is_gone_with_a_look_at_all(
    teardown: Callable[[World], StageRecord],
) -> None:
    # Kubernetes' namespace kube-system, there before the run, is gone: only a look at all four tells.
    gone_later = {item for item in THERE_BEFORE if item.service != "Kubernetes"}
    world = World(THERE_BEFORE, THERE_BEFORE | {SECRET}, gone_later | {SECRET})

    record = teardown(world)

    assert record.status == "failed"
    assert world.asked[-1] == ALL
    assert "gone since the preflight: namespace kube-system" in (record.diagnosis or ""), record.diagnosis
