"""What the conformance checks share: the names this run uses (all derived from ``--suffix``), the wire,
and the one product the product-scoped checks work in.

Every check is a stage (``@pytest.mark.stage``), so the run's reports list each with its outcome and its
diagnosis. The product is saved once per session through ``applied`` (the harness's record of what a run
applied), so the session's ``teardown`` stage removes it and proves its GitLab group gone; every other
object a check creates is removed by that check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial

import pytest

from nautes_e2e.clients import Document
from nautes_e2e.plugin.run import RunState
from nautes_e2e.suite import AppliedDocuments, GitLabClient, GitLabNotFound, NautesClient, World
from suites.api_conformance.wire import Wire

#: The recorded stage that saves the product the product-scoped checks use.
PRODUCT_STAGE = "conformance-product"
#: The suffix when the run gives none (``--suffix`` keeps runs on one shared world apart).
DEFAULT_SUFFIX = "default"


@dataclass(frozen=True)
class ConformanceNames:
    """What this run names: its product, a product that does not exist, a cluster that does not exist.

    ``worker`` is the pytest-xdist worker (``gw0``...) when the suite runs under ``-n``: each worker is a
    session of its own with its own product, and on an ``existing`` target they share one Nautes."""

    suffix: str
    worker: str = ""

    @property
    def product(self) -> str:
        return f"apiconf-{self.suffix}" + (f"-{self.worker}" if self.worker else "")

    @property
    def absent_product(self) -> str:
        return f"{self.product}-absent"

    @property
    def absent_cluster(self) -> str:
        return f"{self.product}-absent"

    @property
    def second_product(self) -> str:
        """The product the delete-order check creates and deletes within itself."""
        return f"{self.product}-order"

    def values(self) -> dict[str, str]:
        """The placeholders a check's path, body and message may use."""
        return {
            "product": self.product,
            "absent_product": self.absent_product,
            "absent_cluster": self.absent_cluster,
        }


@pytest.fixture(scope="session")
def names(e2e_run: RunState) -> ConformanceNames:
    return ConformanceNames(
        e2e_run.options.suffix or DEFAULT_SUFFIX, os.environ.get("PYTEST_XDIST_WORKER", "")
    )


@pytest.fixture(scope="session")
def wire(nautes: NautesClient, world: World) -> Wire:
    return Wire(nautes, world)


@pytest.fixture(scope="session")
def product(
    e2e_run: RunState, applied: AppliedDocuments, gitlab: GitLabClient, names: ConformanceNames
) -> str:
    """The product the product-scoped checks work in, saved once (a recorded stage); the session's
    teardown removes it and waits until its GitLab group is gone."""
    spec = {
        "name": names.product,
        "git": {"gitlab": {"path": names.product, "visibility": "private", "description": "api_conformance"}},
    }
    applied.expect_gone(partial(group_left, gitlab, names.product))
    with e2e_run.recorder.stage(PRODUCT_STAGE) as stage:
        applied.apply(stage, [Document("Product", spec, source="suites/api_conformance")])
    record = e2e_run.recorder.records[PRODUCT_STAGE]
    if record.status != "passed":
        pytest.fail(f"the product {names.product} could not be saved: {record.diagnosis}", pytrace=False)
    return names.product


def group_left(gitlab: GitLabClient, group: str) -> str | None:
    """``GitLab group <path>`` while the product's group exists, None once it is gone."""
    try:
        gitlab.group_projects(group)
    except GitLabNotFound:
        return None
    return f"GitLab group {group}"
