"""The content of a run's report, independent of its formats. ``Report.to_dict`` is ``report.json``,
schema version 2; the other formats render from the same object.

Schema 2 (over 1): ``run.result`` may also be ``interrupted`` or ``error``; ``run.exit_code`` is the
process's exit status (:class:`~nautes_e2e.report.exit_codes.ExitCode`); ``run.error`` says, for a run that
ended in ``error``, whether the configuration (``configuration``) or the harness (``harness``) was at fault,
and why. ``instance`` is null for a run of one; for an instance of a matrix run it holds the instance's
name and options as the matrix file gives them (``name``, ``clusterType``, ``suffix``, ``scenarioDir``), so a
report says by itself which chain it stands for. The gate reads both schemas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from nautes_e2e.report.exit_codes import ExitCode
from nautes_e2e.stages.model import UNSUCCESSFUL, ScenarioSummary, StageRecord, TargetSummary, iso_utc

SCHEMA_VERSION = 2
#: Every schema version a reader of reports (the gate) accepts: schema 1 differs only in ``run``.
READABLE_SCHEMA_VERSIONS = (1, 2)

RunResult = Literal["passed", "failed", "interrupted", "error"]
RunErrorKind = Literal["configuration", "harness"]


@dataclass(frozen=True)
class RunError:
    """Why a run ended in ``error`` rather than with a verdict on the world: its ``configuration`` (the
    text names the file and field, one line per problem) or the ``harness`` (a bug in nautes-e2e)."""

    kind: RunErrorKind
    message: str


@dataclass(frozen=True)
class RunSummary:
    id: str
    started: datetime
    finished: datetime
    result: RunResult
    command_line: str
    kept_environment: bool
    #: Set exactly when ``result`` is ``error``.
    error: RunError | None = None

    def __post_init__(self) -> None:
        if (self.result == "error") != (self.error is not None):
            raise ValueError(
                f"a run's error is given exactly when its result is 'error', not {self.result!r}"
            )

    @property
    def duration_s(self) -> float:
        return (self.finished - self.started).total_seconds()

    @property
    def exit_code(self) -> ExitCode:
        """The exit status this run ends the process with."""
        if self.error is not None:
            return (
                ExitCode.CONFIGURATION_ERROR if self.error.kind == "configuration" else ExitCode.HARNESS_ERROR
            )
        return {
            "passed": ExitCode.PASSED,
            "failed": ExitCode.FAILED,
            "interrupted": ExitCode.INTERRUPTED,
        }[self.result]

    @property
    def verdict(self) -> str:
        """The result as a person reads it: ``failed``, ``error (configuration)``."""
        return self.result if self.error is None else f"{self.result} ({self.error.kind})"


@dataclass(frozen=True)
class Report:
    run: RunSummary
    target: TargetSummary | None
    scenario: ScenarioSummary | None
    stages: tuple[StageRecord, ...]
    facts: Mapping[str, Any]
    environment: Mapping[str, str]
    #: The matrix instance this report stands for (its name and options), ``None`` for a run of one.
    instance: Mapping[str, str] | None = None

    @property
    def failed_stages(self) -> tuple[StageRecord, ...]:
        return tuple(stage for stage in self.stages if stage.status in UNSUCCESSFUL)

    def to_dict(self) -> dict[str, Any]:
        """The ``report.json`` document (schema version 2)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "run": {
                "id": self.run.id,
                "started": iso_utc(self.run.started),
                "finished": iso_utc(self.run.finished),
                "duration_s": round(self.run.duration_s, 3),
                "result": self.run.result,
                "exit_code": int(self.run.exit_code),
                "error": None if self.run.error is None else asdict(self.run.error),
                "command_line": self.run.command_line,
                "kept_environment": self.run.kept_environment,
            },
            "instance": None if self.instance is None else dict(self.instance),
            "target": _target_dict(self.target),
            "scenario": _scenario_dict(self.scenario),
            "stages": [_stage_dict(stage) for stage in self.stages],
            "facts": dict(self.facts),
            "environment": dict(self.environment),
        }


def run_result(
    stages: tuple[StageRecord, ...],
    *,
    session_ok: bool,
    interrupted: bool = False,
    error: RunError | None = None,
) -> RunResult:
    """An interrupted run is ``interrupted`` whatever its stages did (its verdict is unknown); a run that
    ``error`` stopped is ``error``; a run passes when pytest's session did and no stage (teardown included)
    failed or errored; otherwise it failed."""
    if interrupted:
        return "interrupted"
    if error is not None:
        return "error"
    if session_ok and not any(stage.status in UNSUCCESSFUL for stage in stages):
        return "passed"
    return "failed"


def _target_dict(target: TargetSummary | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {"name": target.name, "simulated": target.simulated, "endpoints": dict(target.endpoints)}


def _scenario_dict(scenario: ScenarioSummary | None) -> dict[str, Any] | None:
    if scenario is None:
        return None
    return {"name": scenario.name, "notes": [note.model_dump() for note in scenario.notes]}


def _stage_dict(stage: StageRecord) -> dict[str, Any]:
    data = stage.to_dict()
    data["duration_s"] = round(stage.duration_s, 3)
    return data


def stage_details(stage: StageRecord) -> str:
    """One line about a stage for tables: the diagnosis if it did not pass, the skip reason, or its facts."""
    if stage.diagnosis:
        return " ".join(stage.diagnosis.split())
    if stage.skip_reason:
        return stage.skip_reason
    return ", ".join(f"{key}={format_fact(value)}" for key, value in stage.facts.items())


def format_fact(value: object) -> str:
    """A fact as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)
