"""The stage model: a stage is a pytest test marked ``@pytest.mark.stage(name, needs=(...))``.

Stage bodies use :class:`StageContext` (the ``stage`` fixture) to record facts, evidence, progress lines
and notes, and to fail with a diagnosis; :func:`wait_for` and :func:`follow` wait for the world with
progress lines. :class:`StageRecorder` keeps what happened for the reports (``nautes_e2e.report``).
"""

from __future__ import annotations

from nautes_e2e.stages.context import ProgressSink, StageContext
from nautes_e2e.stages.evidence import EvidenceStore
from nautes_e2e.stages.model import EvidenceContent, StageFailure, StageRecord, StageStatus
from nautes_e2e.stages.recorder import StageRecorder
from nautes_e2e.stages.waits import Observation, follow, wait_for

__all__ = [
    "EvidenceContent",
    "EvidenceStore",
    "Observation",
    "ProgressSink",
    "StageContext",
    "StageFailure",
    "StageRecord",
    "StageRecorder",
    "StageStatus",
    "follow",
    "wait_for",
]
