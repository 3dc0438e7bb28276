"""The teardown's inventory diff: what outlived the run is named whatever its kind, what other runs make or
remove meanwhile is never the run's, and what was there before the run and is gone is reported.

Snapshots are given by hand (the listing itself runs in every quickstart against the reference stack): the
point here is whose each object is and what the teardown says about it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import cast

import pytest

from fixtures.teardown import SUFFIX_PLACEHOLDER, run_names
from nautes_e2e.clients import NautesClient, ServiceUnreachable, parse_documents
from nautes_e2e.scenario import Scenario
from nautes_e2e.stages import AppliedDocuments, EvidenceStore, StageRecord, StageRecorder
from nautes_e2e.stages.inventory import InventoryClients, Item, Owner, RunNames, Snapshot, WorldInventory
from nautes_e2e.stages.inventory import check as check_module
from nautes_e2e.stages.inventory.check import component_namespaces
from nautes_e2e.stages.inventory.items import SERVICES

QUICKSTART = Path(__file__).parents[2] / "scenarios" / "quickstart"
NAMES = RunNames.from_names(
    [f"demo-{SUFFIX_PLACEHOLDER}", f"pr-demo-{SUFFIX_PLACEHOLDER}", "env-test", "sample-api-server"],
    SUFFIX_PLACEHOLDER,
    "s1",
)
#: The GitLab paths behind the ids Nautes names objects by: this run's repository 7 and group 3, another
#: run's repository 8.
PATHS = {
    "repo-7": "demo-s1/coderepo-sc-demo-s1",
    "product-3": "demo-s1",
    "repo-8": "demo-s2/coderepo-sc-demo-s2",
}


def kube(label: str) -> Item:
    return Item("Kubernetes", label)


def vault(label: str) -> Item:
    return Item("Vault", label)


def gitlab(label: str) -> Item:
    return Item("GitLab", label)


@pytest.mark.parametrize(
    ("item", "owner"),
    [
        (kube("namespace pr-demo-s1"), Owner.THIS_RUN),
        (kube("EventSource argo-events/product-3-pr-demo-s1-gitlab"), Owner.THIS_RUN),
        (gitlab("GitLab hook http://h/product-3-pr-demo-s1/repo-7 on demo-s1/x (id 1)"), Owner.THIS_RUN),
        # by the ids the run learned, whose GitLab repository and group are gone by the teardown
        (vault("Vault secret git/data/gitlab/repo-7/default/accesstoken-api"), Owner.THIS_RUN),
        (vault("Vault policy gitlab-repo-7-default-readonly"), Owner.THIS_RUN),
        (kube("namespace product-3"), Owner.THIS_RUN),
        # another suffix, also one that starts like this run's, and another run's ids
        (kube("namespace pr-demo-s10"), Owner.ANOTHER_RUN),
        (gitlab("GitLab group demo-s2"), Owner.ANOTHER_RUN),
        (vault("Vault secret git/data/gitlab/repo-8/default/readonly"), Owner.ANOTHER_RUN),
        # repo-70 is not repo-7; names without the suffix tell no run apart
        (vault("Vault secret git/data/gitlab/repo-70/default/readonly"), Owner.NONE),
        (kube("namespace kube-system"), Owner.NONE),
        (gitlab("GitLab project nautes/management"), Owner.NONE),
        (kube("namespace env-test"), Owner.NONE),
    ],
)
def test_whose_an_object_is(item: Item, owner: Owner) -> None:
    assert NAMES.owner(item, PATHS) is owner


def test_the_quickstart_names_are_templates_around_the_suffix() -> None:
    names = run_names(Scenario.load(QUICKSTART), "s1")

    assert {("demo-", ""), ("pr-demo-", ""), ("physical-worker-", "")} <= set(names.templates)
    assert names.suffix == "s1"
    assert run_names(Scenario.load(QUICKSTART), None).suffix == "quickstart", "the scenario's default"


def test_the_runs_component_namespaces_come_from_its_cluster_documents() -> None:
    cluster = parse_documents(
        "apiVersion: nautes.resource.nautes.io/v1alpha1\nkind: Cluster\nspec:\n  name: c\n  componentsList:\n"
        "    eventListener: {name: argo-events, namespace: argo-events}\n"
        "    pipeline: {name: tekton, namespace: tekton-pipelines}\n    progressiveDelivery: null\n",
        "cluster.yaml",
    )

    assert component_namespaces(cluster) == {"argo-events", "tekton-pipelines"}
    assert kube("Secret argo-events/x").namespace == "argo-events"
    assert kube("namespace argo-events").namespace == "argo-events"
    assert vault("Vault policy a/b").namespace is None


class Snapshots:
    """``take_snapshot`` as the world answers it, one snapshot per look (the last one repeated)."""

    def __init__(self, *labels: set[Item] | Exception) -> None:
        self.answers = [
            items if isinstance(items, Exception) else Snapshot.of(items, PATHS) for items in labels
        ]
        self.looks = 0

    def __call__(self, clients: InventoryClients, services: Collection[str] = SERVICES) -> Snapshot:
        self.looks += 1
        answer = self.answers[min(self.looks, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return Snapshot.of({item for item in answer.items if item.service in services}, answer.paths)


@pytest.fixture
def teardown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Snapshots], StageRecord]:
    def run(world: Snapshots) -> StageRecord:
        monkeypatch.setattr(check_module, "take_snapshot", world)
        recorder = StageRecorder(EvidenceStore(tmp_path), lambda line: None, stage_timeout_s=0.5)
        inventory = WorldInventory(cast(InventoryClients, None), NAMES)
        with recorder.stage("preflight") as stage:
            inventory.take(stage)
        applied = AppliedDocuments(cast(NautesClient, None))  # nothing applied: nothing to send
        with recorder.stage("teardown") as stage:
            inventory.check_removal(stage, applied)
            applied.remove_all(stage)
        return recorder.records["teardown"]

    return run


THERE_BEFORE = {kube("namespace kube-system"), gitlab("GitLab project nautes/management")}
OURS = {kube("namespace pr-demo-s1"), vault("Vault secret git/data/gitlab/repo-7/default/readonly")}
OTHER_RUN = {kube("namespace pr-demo-s2"), gitlab("GitLab group demo-s2")}


def test_what_the_run_made_goes_and_other_runs_objects_are_not_its_leftovers(
    teardown: Callable[[Snapshots], StageRecord],
) -> None:
    world = Snapshots(THERE_BEFORE, THERE_BEFORE | OURS | OTHER_RUN, THERE_BEFORE | OTHER_RUN)

    record = teardown(world)

    assert record.status == "passed", record.diagnosis
    assert record.facts["run_objects"] == len(OURS)


def test_an_object_of_the_run_that_outlives_it_is_named_whatever_its_kind(
    teardown: Callable[[Snapshots], StageRecord],
) -> None:
    secret = vault("Vault secret git/data/gitlab/repo-7/default/accesstoken-api (project access token)")
    world = Snapshots(THERE_BEFORE, THERE_BEFORE | OURS | {secret}, THERE_BEFORE | {secret} | OTHER_RUN)

    record = teardown(world)

    assert record.status == "failed"
    assert f"left behind: {secret}" in (record.diagnosis or "")
    assert "demo-s2" not in (record.diagnosis or ""), "another run's objects are not this run's leftovers"
    assert world.looks > 3, "the teardown looked again until its timeout"


def test_what_was_there_before_and_is_gone_is_reported_unless_a_run_removed_its_own(
    teardown: Callable[[Snapshots], StageRecord],
) -> None:
    before = THERE_BEFORE | OTHER_RUN | {kube("namespace pr-demo-s1")}  # a kept run of this suffix
    world = Snapshots(before, before, {kube("namespace kube-system")})

    record = teardown(world)

    assert record.status == "failed"
    assert record.diagnosis == "gone since the preflight: GitLab project nautes/management"


def test_a_listing_that_fails_before_the_removal_does_not_keep_it_from_running(
    teardown: Callable[[Snapshots], StageRecord],
) -> None:
    world = Snapshots(
        THERE_BEFORE,
        ServiceUnreachable("GitLab", "http://gitlab", "GET /api/v4/groups", "reset"),
        THERE_BEFORE,
    )

    record = teardown(world)

    assert record.status == "passed", record.diagnosis
    assert record.notes[0].startswith("could not list what the run made before removing it")
    assert world.looks == 3, "the leftover check listed again after the removal"
