"""The world a target hands to the stages: endpoints, and credentials held as :class:`Secret`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    registry: RegistryEndpoint  # carries its own trust (insecure, CA PEMs): a pipeline needs it too
    #: In target-file order; the run claims the first free one (fixtures/clients.py runtime_cluster).
    clusters: dict[str, ClusterEndpoint]
    #: The complete CA file each service's certificate is checked with (the system's CAs plus the target's
    #: own, :func:`nautes_e2e.clients.trust.combined_bundle`); None: the libraries' default store.
    nautes_ca_bundle: Path | None = None
    gitlab_ca_bundle: Path | None = None
    vault_ca_bundle: Path | None = None
    #: What the world says its stages need, in seconds (the target file's ``timeouts.stages``).
    stage_timeouts: Mapping[str, float] = field(default_factory=dict)
    #: The world's pace against a real installation's (``timeouts.scale``): the stages' defaults are
    #: multiplied by it.
    timeout_scale: float = 1.0
    #: How long one Nautes API request may take before the client gives up (``timeouts.nautesRequest``);
    #: None: the harness's default, generous because the CLI itself never gives up (contract §1.2).
    nautes_request_timeout_s: float | None = None
