"""How long each stage waits for the world, and who decides it.

A real Nautes is slow in known ways (a 60 s product poll, Argo CD's 3-minute sync, component installs on a
fresh cluster, Maven and kaniko), and each stage declares a default that fits a real installation
(``@pytest.mark.stage(..., timeout_s=...)``). A world may know better: its target file's ``timeouts.scale``
says how much faster (or slower) it moves than a real installation, and the declared defaults are scaled by
it, never below :data:`MINIMUM_TIMEOUT_S`; its ``timeouts.stages`` replace a stage's default outright.
``--stage-timeout`` replaces everything, for every stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: A stage that declares nothing and that the world says nothing about.
FALLBACK_TIMEOUT_S = 120.0
#: No scaled default is shorter: a git push, a pod start, an API round trip do not get faster with a
#: world's pace.
MINIMUM_TIMEOUT_S = 60.0


@dataclass
class StageTimeouts:
    """``--stage-timeout`` over the world's ``timeouts.stages`` over the stage's declared default, scaled
    by the world's pace."""

    override_s: float | None = None
    world_s: dict[str, float] = field(default_factory=dict)
    declared_s: dict[str, float] = field(default_factory=dict)
    scale: float = 1.0

    def declare(self, stage: str, seconds: float | None) -> None:
        """The stage's own default (from its marker), used when nothing above says otherwise."""
        if seconds is not None:
            self.declared_s[stage] = seconds

    def use_world(self, timeouts: Mapping[str, float], scale: float = 1.0) -> None:
        """What the world's target file says: each stage's need, and its pace against a real one."""
        self.world_s.update(timeouts)
        self.scale = scale

    def for_stage(self, stage: str) -> float:
        if self.override_s is not None:
            return self.override_s
        if stage in self.world_s:
            return self.world_s[stage]
        scaled = self.declared_s.get(stage, FALLBACK_TIMEOUT_S) * self.scale
        return scaled if self.scale >= 1 else max(MINIMUM_TIMEOUT_S, scaled)
