"""What the quickstart stages share: the names the scenario derives from its suffix, and the values its
templates are rendered with.

Template values come from two places only: what the target decides (known before anything is applied), and
the facts the stages established (repository ids and URLs only exist once the product is initialised).
:func:`values` derives them, here and nowhere else; no stage writes into them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.plugin.run import RunState
from nautes_e2e.suite import ClusterEndpoint, Scenario, Secret, World
from suites.quickstart.names import QuickstartNames, registry_values


@pytest.fixture(scope="session")
def target_values(e2e_run: RunState, world: World, runtime_cluster: ClusterEndpoint) -> dict[str, str]:
    """Template values the target decides, known before anything is applied (the scenario's defaults
    derive the rest from ``suffix``)."""
    kubeconfig = Secret(runtime_cluster.kubeconfig.read_text().strip())
    given = {
        "api-server": runtime_cluster.api_server,
        "cluster-ip": runtime_cluster.ip,
        "kubeconfig": kubeconfig.reveal(),
        **registry_values(world.registry),
    }
    suffix = e2e_run.options.suffix  # checked by the plugin: a valid Kubernetes and GitLab name part
    return given | ({"suffix": suffix} if suffix else {})


@pytest.fixture
def values(target_values: dict[str, str], names: QuickstartNames, facts: dict[str, Any]) -> dict[str, str]:
    """The template values as far as the run knows them now: the target's, plus what ``initialise_product``
    established (facts ``repo_ids`` and ``repo_ssh_urls``) once it has."""
    learned: dict[str, str] = {}
    if "repo_ids" in facts:
        learned["sc-repo-id"] = str(facts["repo_ids"][names.source_repo])
    if "repo_ssh_urls" in facts:
        learned["sc-repo-url"] = str(facts["repo_ssh_urls"][names.source_repo])
        learned["deploy-repo-url"] = str(facts["repo_ssh_urls"][names.deploy_repo])
    return target_values | learned


@pytest.fixture(scope="session")
def names(scenario: Scenario, target_values: dict[str, str]) -> QuickstartNames:
    """What the quickstart creates, as its documents name it."""
    groups = ("cluster", "product", "pipeline")
    documents = [d for group in groups for d in scenario.documents(group, target_values)]
    return QuickstartNames.from_documents(documents)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scratch space for the working copies the stages clone and push."""
    return tmp_path_factory.mktemp("quickstart")
