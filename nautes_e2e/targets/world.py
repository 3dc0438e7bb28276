"""The world a target hands to the stages: endpoints, and credentials held as :class:`Secret`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nautes_e2e.clients.registry import RegistryEndpoint
from nautes_e2e.secrets import Secret

__all__ = ["ClusterEndpoint", "RegistryEndpoint", "World"]


@dataclass(frozen=True)
class ClusterEndpoint:
    """A runtime cluster: its kubeconfig file, the API server URL Nautes registers, and its public IP."""

    name: str
    kubeconfig: Path
    api_server: str
    ip: str


@dataclass(frozen=True)
class World:
    """Everything the stages may use; nothing says how it was brought up."""

    target: str  # "local" | "existing" | ...
    simulated: bool  # True for the reference stack
    nautes_url: str
    gitlab_url: str
    gitlab_ssh_url: str
    gitlab_token: Secret
    vault_url: str
    vault_token: Secret
    registry: RegistryEndpoint
    clusters: dict[str, ClusterEndpoint]  # in target-file order; the quickstart uses the first
    ca_bundle: Path | None
