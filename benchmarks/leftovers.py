"""What a quickstart run can leave in an ``existing`` world: Nautes, GitLab, Vault and Kubernetes objects.

Looked up after each run with the harness's own clients and the same target file the run used. The names
come from the scenario rendered with the run's ``--suffix`` (as the suite's ``names`` fixture derives them),
so a run that was stopped before it recorded anything is checked as thoroughly as one that finished. The
teardown's own leftover probes (``suites/quickstart/probes.py``: cluster registration, GitLab group, runtime
namespace, deploy keys) are reused as they are; to them this adds what the teardown does not look at: the
Nautes product, the cluster's kubeconfig in Vault and its Kubernetes auth mount (the runtime operator's
``auth/<cluster>``), whose leftovers make a later run with another suffix log in on the wrong path.

A probe that cannot answer (an error other than "not found") counts as a leftover: clean is only what was
seen to be clean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import hvac

from nautes_e2e.clients import GitLabClient, KubeClient, NautesClient, NautesNotFound, VaultClient
from nautes_e2e.scenario import Scenario
from nautes_e2e.targets.target_file import load_target_file
from nautes_e2e.targets.world import World
from suites.quickstart import probes
from suites.quickstart.names import QuickstartNames, registry_values

#: The groups whose documents name what the quickstart creates (suites/quickstart/conftest.py ``names``).
DOCUMENT_GROUPS = ("cluster", "product", "pipeline")

#: A leftover probe: None once the thing is gone, else what is left.
Probe = Callable[[], "str | None"]


def run_names(scenario: Scenario, world: World, suffix: str) -> QuickstartNames:
    """What a run with ``suffix`` creates in ``world``, read from the scenario's documents."""
    cluster = next(iter(world.clusters.values()))
    values = {
        "api-server": cluster.api_server,
        "cluster-ip": cluster.ip,
        "kubeconfig": "(not needed for names)",
        "suffix": suffix,
        **registry_values(world.registry),
    }
    documents = [d for group in DOCUMENT_GROUPS for d in scenario.documents(group, values)]
    return QuickstartNames.from_documents(documents)


@dataclass(frozen=True)
class WorldClients:
    nautes: NautesClient
    gitlab: GitLabClient
    vault: VaultClient
    kube: KubeClient
    #: The enabled auth methods' mount paths (``sys/auth``, e.g. ``kubernetes/``, ``physical-worker-x/``).
    auth_mounts: Callable[[], Iterable[str]]


def product_left(nautes: NautesClient, product: str) -> str | None:
    try:
        nautes.get("Product", product)
    except NautesNotFound:
        return None
    return f"Nautes product {product}"


def kubeconfig_left(vault: VaultClient, cluster: str) -> str | None:
    path = f"kubernetes/{cluster}/default/admin"
    return None if vault.kv_keys("cluster", path) is None else f"Vault secret cluster/data/{path}"


def auth_mount_left(auth_mounts: Callable[[], Iterable[str]], cluster: str) -> str | None:
    return f"Vault auth mount auth/{cluster}" if f"{cluster}/" in set(auth_mounts()) else None


def probes_for(clients: WorldClients, names: QuickstartNames, repo_ids: Iterable[int]) -> dict[str, Probe]:
    """Every leftover probe for one run, by what it looks for."""
    ids = list(repo_ids)
    return {
        f"cluster {names.cluster}": lambda: probes.cluster_left(clients.nautes, names.cluster),
        f"product {names.product}": lambda: product_left(clients.nautes, names.product),
        f"GitLab group {names.product}": lambda: probes.group_left(clients.gitlab, names.product),
        f"namespace {names.runtime_namespace}": lambda: probes.namespace_left(
            clients.kube, names.runtime_namespace
        ),
        f"kubeconfig of {names.cluster}": lambda: kubeconfig_left(clients.vault, names.cluster),
        f"auth mount of {names.cluster}": lambda: auth_mount_left(clients.auth_mounts, names.cluster),
        f"deploy keys of repositories {ids}": lambda: probes.deploy_keys_left(clients.vault, ids),
    }


def leftovers(checks: Mapping[str, Probe]) -> list[str]:
    """What each probe finds left; a probe that fails is reported as unanswered (a leftover)."""
    found: list[str] = []
    for looking_for, probe in checks.items():
        try:
            left = probe()
        except Exception as error:  # any client error: the check could not prove the thing gone
            found.append(f"{looking_for}: could not check ({type(error).__name__}: {str(error)[:200]})")
            continue
        if left is not None:
            found.append(left)
    return found


def open_world(target_file: Path, environ: Mapping[str, str]) -> tuple[World, WorldClients]:
    """The world the target file describes, and a client of each of its services."""
    world = load_target_file(target_file, environ, target_name="existing")
    cluster = next(iter(world.clusters.values()))
    vault_verify = str(world.vault_ca_bundle) if world.vault_ca_bundle else True
    # The harness's VaultClient reads KV secrets only; sys/auth is listed with hvac, as the client does.
    raw_vault = hvac.Client(url=world.vault_url, token=world.vault_token.reveal(), verify=vault_verify)
    clients = WorldClients(
        nautes=NautesClient(world.nautes_url, world.gitlab_token, ca_bundle=world.nautes_ca_bundle),
        gitlab=GitLabClient(world.gitlab_url, world.gitlab_token, world.gitlab_ca_bundle),
        vault=VaultClient(world.vault_url, world.vault_token, world.vault_ca_bundle),
        kube=KubeClient(cluster.kubeconfig),
        auth_mounts=lambda: dict(raw_vault.sys.list_auth_methods().get("data") or {}),
    )
    return world, clients
