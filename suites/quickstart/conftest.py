"""What the quickstart stages share: the names the scenario derives from its suffix, and the values its
templates are rendered with.

Template values come from two places only: what the target decides (known before anything is applied), and
the facts the stages established (repository ids and URLs only exist once the product is initialised).
:func:`values` derives them, here and nowhere else; no stage writes into them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.plugin.run import RunState
from nautes_e2e.suite import ClusterEndpoint, KubeClient, Scenario, Secret, VaultClient, World
from suites.quickstart import cluster_credential
from suites.quickstart.names import QuickstartNames, registry_values
from suites.quickstart.node_port import free_node_port

#: The scenario's document group that registers the runtime cluster, by ``--cluster-type``.
CLUSTER_GROUPS = {"physical": "cluster", "virtual": "cluster-virtual"}


@pytest.fixture(scope="session")
def cluster_group(e2e_run: RunState) -> str:
    """The document group ``register_cluster`` applies: the physical worker, or the host and the virtual
    worker on it."""
    return CLUSTER_GROUPS[e2e_run.options.cluster_type]


@pytest.fixture(scope="session")
def target_values(
    e2e_run: RunState, world: World, runtime_cluster: ClusterEndpoint, scenario: Scenario, cluster_group: str
) -> dict[str, str]:
    """Template values the target decides, known before anything is applied (the scenario's defaults
    derive the rest from ``suffix``). A virtual runtime cluster gets a free node port of its host, and the
    Environment names it: the worker of the documents that register it."""
    kubeconfig = Secret(runtime_cluster.kubeconfig.read_text().strip())
    given = {
        "api-server": runtime_cluster.api_server,
        "cluster-ip": runtime_cluster.ip,
        "kubeconfig": kubeconfig.reveal(),
        **registry_values(world.registry),
    }
    suffix = e2e_run.options.suffix  # checked by the plugin: a valid Kubernetes and GitLab name part
    given |= {"suffix": suffix} if suffix else {}
    if cluster_group == CLUSTER_GROUPS["virtual"]:
        given["api-server-port"] = str(free_node_port(runtime_cluster.ip))
        workers = [d for d in scenario.documents(cluster_group, given) if d.spec.get("usage") == "worker"]
        given |= {"pipeline-runtime-cluster": workers[0].name} if workers else {}
    return given


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
def names(scenario: Scenario, target_values: dict[str, str], cluster_group: str) -> QuickstartNames:
    """What the quickstart creates, as its documents name it."""
    groups = (cluster_group, "product", "pipeline")
    documents = [d for group in groups for d in scenario.documents(group, target_values)]
    return QuickstartNames.from_documents(documents)


@pytest.fixture(scope="session")
def workdir(e2e_run: RunState, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scratch space for the working copies the stages clone and push: one per scenario instance."""
    return tmp_path_factory.mktemp(f"quickstart-{e2e_run.options.instance or 'run'}")


@pytest.fixture(scope="session")
def runtime_kube(
    kube: KubeClient, names: QuickstartNames, vault: VaultClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeClient]:
    """The Kubernetes API the pipeline runs on: the physical worker's (``kube``), or the virtual worker's,
    reached as Nautes reaches it, with the kubeconfig its cluster-operator keeps in Vault (first asked for
    by a stage after ``register_cluster``, which proved that kubeconfig works). It is a secret: a 0600
    file in the session's private temporary directory, for the session only."""
    if not names.host_cluster:
        yield kube
        return
    stored = (vault.kv_secret("cluster", cluster_credential.kubeconfig_path(names.cluster)) or {}).get(
        "kubeconfig"
    )
    if stored is None:
        raise RuntimeError(f"Vault holds no kubeconfig of the virtual cluster {names.cluster}")
    path = tmp_path_factory.mktemp("virtual-cluster") / "kubeconfig"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(stored.reveal())
    client = KubeClient(path)
    try:
        yield client
    finally:
        client.close()
        path.unlink(missing_ok=True)
