"""What the quickstart stages share: the names the scenario derives from its suffix, and the values its
templates are rendered with as the run learns them (repository ids and URLs only exist after the product
is initialised)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nautes_e2e.plugin import RunState
from nautes_e2e.scenario import Scenario
from nautes_e2e.secrets import Secret
from nautes_e2e.targets import ClusterEndpoint, World
from suites.quickstart.names import QuickstartNames


@pytest.fixture(scope="session")
def values(e2e_run: RunState, world: World, runtime_cluster: ClusterEndpoint) -> dict[str, str]:
    """Template values the target decides, known before anything is applied (the scenario's defaults
    derive the rest from ``suffix``); stages add the repository ids and URLs they learn."""
    kubeconfig = Secret(runtime_cluster.kubeconfig.read_text().strip())
    given = {
        "api-server": runtime_cluster.api_server,
        "cluster-ip": runtime_cluster.ip,
        "kubeconfig": kubeconfig.reveal(),
        "registry-url": world.registry.host,
    }
    suffix = e2e_run.options.suffix  # checked by the plugin: a valid Kubernetes and GitLab name part
    return given | ({"suffix": suffix} if suffix else {})


@pytest.fixture(scope="session")
def names(scenario: Scenario, values: dict[str, str]) -> QuickstartNames:
    """What the quickstart creates, as its documents name it."""
    groups = ("cluster", "product", "pipeline")
    return QuickstartNames.from_documents([d for group in groups for d in scenario.documents(group, values)])


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scratch space for the working copies the stages clone and push."""
    return tmp_path_factory.mktemp("quickstart")
