"""The ``existing`` target: an installed Nautes described by a target file; nothing is started or stopped."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nautes_e2e.targets.base import Target
from nautes_e2e.targets.target_file import load_target_file
from nautes_e2e.targets.world import World


class ExistingTarget(Target):
    def __init__(self, target_file: Path, environ: Mapping[str, str]) -> None:
        self.target_file = target_file
        self.environ = dict(environ)

    def _start(self) -> World:
        """Read and validate the target file (raises TargetFileError naming the field at fault)."""
        return load_target_file(self.target_file, self.environ, target_name="existing")

    def stop(self) -> None:
        """Nothing to stop: the world belongs to someone else."""
