"""How long each stage waits for the world, and who decides it.

A real Nautes is slow in known ways (a 60 s product poll, Argo CD's 3-minute sync, component installs on a
fresh cluster, Maven and kaniko), and each stage declares a default that fits a real installation
(``@pytest.mark.stage(..., timeout_s=...)``). A world may know better (the reference stack is fast, a big
installation slower): its target file's ``timeouts.stages`` replace the declared defaults. ``--stage-timeout``
replaces both, for every stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: A stage that declares nothing and that the world says nothing about.
FALLBACK_TIMEOUT_S = 120.0


@dataclass
class StageTimeouts:
    """``--stage-timeout`` over the world's ``timeouts.stages`` over the stage's declared default."""

    override_s: float | None = None
    world_s: dict[str, float] = field(default_factory=dict)
    declared_s: dict[str, float] = field(default_factory=dict)

    def declare(self, stage: str, seconds: float | None) -> None:
        """The stage's own default (from its marker), used when nothing above says otherwise."""
        if seconds is not None:
            self.declared_s[stage] = seconds

    def use_world(self, timeouts: Mapping[str, float]) -> None:
        """What the world's target file says each stage needs."""
        self.world_s.update(timeouts)

    def for_stage(self, stage: str) -> float:
        if self.override_s is not None:
            return self.override_s
        return self.world_s.get(stage, self.declared_s.get(stage, FALLBACK_TIMEOUT_S))
