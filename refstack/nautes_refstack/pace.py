"""How fast the stack's world moves: ``instant`` (every delay removed) or ``real`` (a real installation's
delays and ordering gaps, each multiplied by a time-scale).

A real Nautes is eventually consistent: Argo CD syncs the tenant repository every 180 s before a Cluster
resource exists, the operators poll every 60 s, Argo Events pods start seconds after their objects, GitLab
deletes projects in a background job, pipeline steps take time. Under ``real`` the components wait those
durations (each cited next to the code that waits), scaled by :attr:`Pace.scale` so that a test can run
the same order of events in seconds (scale 0.01 turns a 180 s Argo CD sync into 1.8 s). ``instant`` is the
stack as it was before there was a pace: nothing waits and nothing is out of order.

The pace is chosen with ``refstack up --pace instant|real --time-scale FACTOR`` or the environment
variables :data:`PACE_ENV` and :data:`TIME_SCALE_ENV` (options win); a bad value is a :class:`PaceError`
at start-up, before anything listens.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass

PACE_ENV = "NAUTES_E2E_REFSTACK_PACE"
TIME_SCALE_ENV = "NAUTES_E2E_REFSTACK_TIME_SCALE"
PACES = ("instant", "real")
#: What the stack runs at unless told otherwise, the main job's pace: every real delay and ordering gap,
#: 500 times faster (Argo CD's 3-minute sync takes 0.36 s), so that nothing only an instant world makes
#: true is ever true by default, and the main job still fits its 10 s.
DEFAULT_PACE = "real"
DEFAULT_TIME_SCALE = "0.002"


#: ``timeouts.scale`` of an ``instant`` world (see :attr:`Pace.timeout_scale`).
INSTANT_TIMEOUT_SCALE = 0.01


class PaceError(ValueError):
    """A pace or time-scale the stack cannot start with."""


@dataclass(frozen=True)
class Pace:
    """``real``: whether real durations apply; ``scale``: what each real duration is multiplied by."""

    real: bool = False
    scale: float = 1.0

    def seconds(self, real_seconds: float) -> float:
        """How long a real ``real_seconds`` lasts here: scaled under ``real``, nothing under ``instant``."""
        return real_seconds * self.scale if self.real else 0.0

    async def wait(self, real_seconds: float) -> None:
        """Let a real ``real_seconds`` pass (nothing under ``instant``: not even a yield to the loop)."""
        if self.real:
            await asyncio.sleep(self.seconds(real_seconds))

    @property
    def timeout_scale(self) -> float:
        """How fast this pace moves against a real installation, as ``target.yaml``'s ``timeouts.scale``
        (the harness scales its stages' waits by it): the time-scale under ``real``; under ``instant``
        nothing waits, and a hundredth of a real installation's waits is plenty."""
        return self.scale if self.real else INSTANT_TIMEOUT_SCALE

    def describe(self) -> str:
        return f"real, time-scale {self.scale:g}" if self.real else "instant"


INSTANT = Pace()


def parse_pace(pace: str, time_scale: str) -> Pace:
    """A :class:`Pace` from its two texts; :class:`PaceError` names the option and the bad value."""
    if pace not in PACES:
        raise PaceError(f"--pace {pace!r} is not one of {', '.join(PACES)} (also {PACE_ENV})")
    try:
        scale = float(time_scale)
    except ValueError:
        scale = math.nan
    if not math.isfinite(scale) or scale <= 0:
        raise PaceError(
            f"--time-scale {time_scale!r} is not a positive number (e.g. 0.01; also {TIME_SCALE_ENV})"
        )
    return Pace(real=pace == "real", scale=scale)


def pace_from(pace: str | None, time_scale: str | None, environ: Mapping[str, str]) -> Pace:
    """The options, else the environment variables, else :data:`DEFAULT_PACE` at
    :data:`DEFAULT_TIME_SCALE`."""
    return parse_pace(
        pace if pace is not None else (environ.get(PACE_ENV) or DEFAULT_PACE).strip(),
        time_scale if time_scale is not None else (environ.get(TIME_SCALE_ENV) or DEFAULT_TIME_SCALE).strip(),
    )
