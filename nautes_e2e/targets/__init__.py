"""Targets: where the world the stages act on comes from (contract-free: endpoints and credentials only).

:data:`TARGETS` is the table of targets; :func:`open_target` makes one; a :class:`Target` is a context
manager whose ``start`` gives the :class:`World`."""

from __future__ import annotations

from nautes_e2e.targets.base import Target
from nautes_e2e.targets.existing import ExistingTarget
from nautes_e2e.targets.local import LocalTarget, read_credentials
from nautes_e2e.targets.registry import TARGETS, TargetEntry, TargetRequest, open_target, target_entry
from nautes_e2e.targets.target_file import SCHEMA_VERSION, TargetError, TargetFileError, load_target_file
from nautes_e2e.targets.world import ClusterEndpoint, RegistryEndpoint, World

__all__ = [
    "SCHEMA_VERSION",
    "TARGETS",
    "ClusterEndpoint",
    "ExistingTarget",
    "LocalTarget",
    "RegistryEndpoint",
    "Target",
    "TargetEntry",
    "TargetError",
    "TargetFileError",
    "TargetRequest",
    "World",
    "load_target_file",
    "open_target",
    "read_credentials",
    "target_entry",
]
