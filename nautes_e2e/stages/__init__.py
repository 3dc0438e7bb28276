"""The stage model: a stage is a pytest test marked ``@pytest.mark.stage(name, needs=(...))``.

Stage bodies use :class:`StageContext` (the ``stage`` fixture) to record facts, evidence, progress lines and
notes, to wait for the world (``stage.wait_for``, ``stage.follow``: the stage's timeout, a progress line per
new state) and to fail with a diagnosis. :class:`StageRecorder` keeps what happened for the reports
(``nautes_e2e.report``).
"""

from __future__ import annotations

from nautes_e2e.stages.applied import AppliedDocuments, LeftoverProbe
from nautes_e2e.stages.context import StageContext
from nautes_e2e.stages.evidence import EvidenceStore
from nautes_e2e.stages.model import (
    EvidenceContent,
    ProgressSink,
    ScenarioSummary,
    StageFailure,
    StageRecord,
    StageStatus,
    TargetSummary,
)
from nautes_e2e.stages.recorder import StageRecorder
from nautes_e2e.stages.waits import Observation

__all__ = [
    "AppliedDocuments",
    "EvidenceContent",
    "EvidenceStore",
    "LeftoverProbe",
    "Observation",
    "ProgressSink",
    "ScenarioSummary",
    "StageContext",
    "StageFailure",
    "StageRecord",
    "StageRecorder",
    "StageStatus",
    "TargetSummary",
]
