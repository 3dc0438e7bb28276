"""Targets: where the world the stages act on comes from (contract-free: endpoints and credentials only)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from nautes_e2e.targets.existing import ExistingTarget
from nautes_e2e.targets.local import LocalTarget, read_credentials
from nautes_e2e.targets.target_file import SCHEMA_VERSION, TargetError, TargetFileError, load_target_file
from nautes_e2e.targets.world import ClusterEndpoint, RegistryEndpoint, World

__all__ = [
    "SCHEMA_VERSION",
    "ClusterEndpoint",
    "ExistingTarget",
    "LocalTarget",
    "RegistryEndpoint",
    "Target",
    "TargetError",
    "TargetFileError",
    "World",
    "load_target_file",
    "open_target",
    "read_credentials",
]

TARGETS = ("local", "existing")


class Target(Protocol):
    name: str

    def start(self) -> World:
        """Bring the world up (or just read it); may raise TargetError."""
        ...

    def stop(self) -> None:
        """Idempotent; leaves nothing running."""
        ...


def open_target(name: str, *, target_file: Path | None, work_dir: Path, environ: Mapping[str, str]) -> Target:
    """The target called ``name`` (``--target``); ``existing`` needs ``target_file``."""
    if name == "local":
        return LocalTarget(work_dir, environ=environ)
    if name == "existing":
        if target_file is None:
            raise TargetError("the existing target needs a target file (--target-file)")
        return ExistingTarget(target_file, environ)
    raise TargetError(f"unknown target {name!r}; available: {', '.join(TARGETS)}")
