"""Everything a stage author imports, from one place.

A suite module (``suites/<name>/test_*.py``) needs the stage handle and its observations, the world the
target gives, the scenario, the clients of the world's services, and the record of what was applied. They
live in their own packages (``stages``, ``targets``, ``scenario``, ``clients``); this module only gathers
them, so that a suite's imports say what it uses, not where each piece happens to be kept.
"""

from __future__ import annotations

from nautes_e2e.clients import (
    GitLabClient,
    GitLabNotFound,
    GitWorkingCopy,
    KubeClient,
    NautesApiError,
    NautesClient,
    NautesNotFound,
    RegistryClient,
    VaultClient,
)
from nautes_e2e.scenario import Scenario
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import AppliedDocuments, Observation, StageContext, StageFailure
from nautes_e2e.stages.inventory import WorldInventory
from nautes_e2e.targets import ClusterEndpoint, World

__all__ = [
    "AppliedDocuments",
    "ClusterEndpoint",
    "GitLabClient",
    "GitLabNotFound",
    "GitWorkingCopy",
    "KubeClient",
    "NautesApiError",
    "NautesClient",
    "NautesNotFound",
    "Observation",
    "RegistryClient",
    "Scenario",
    "Secret",
    "StageContext",
    "StageFailure",
    "VaultClient",
    "World",
    "WorldInventory",
]
