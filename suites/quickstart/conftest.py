"""What the quickstart stages share: the names the scenario derives from its suffix, and the values its
templates are rendered with as the run learns them (repository ids and URLs only exist after the product
is initialised)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nautes_e2e.secrets import Secret
from nautes_e2e.targets import ClusterEndpoint, World
from suites.quickstart.names import QuickstartNames


@pytest.fixture(scope="session")
def runtime_cluster(world: World) -> ClusterEndpoint:
    """The runtime cluster the pipeline runs on: the first cluster of the target."""
    return next(iter(world.clusters.values()))


@pytest.fixture(scope="session")
def names(pytestconfig: pytest.Config) -> QuickstartNames:
    suffix = pytestconfig.getoption("--suffix") or "quickstart"
    return QuickstartNames(suffix=str(suffix))


@pytest.fixture(scope="session")
def values(names: QuickstartNames, world: World, runtime_cluster: ClusterEndpoint) -> dict[str, str]:
    """Template values known before anything is applied; stages add the ids and URLs they learn."""
    kubeconfig = Secret(runtime_cluster.kubeconfig.read_text().strip())
    return {
        "suffix": names.suffix,
        "product-name": names.product,
        "cluster-name": names.cluster,
        "api-server": runtime_cluster.api_server,
        "cluster-ip": runtime_cluster.ip,
        "kubeconfig": kubeconfig.reveal(),
        "pipeline-runtime-cluster": names.cluster,
        "pipeline-runtime-name": names.pipeline_runtime,
        "registry-url": world.registry.host,
    }


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scratch space for the working copies the stages clone and push."""
    return tmp_path_factory.mktemp("quickstart")
