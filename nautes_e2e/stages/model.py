"""What a stage is on record: its outcome, timing, the facts it established, and why it failed.

A :class:`StageRecord` is plain data so that it can travel from a pytest-xdist worker to the controller
(``to_dict``/``from_dict``) and be written into every report format without knowing about pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias, cast

from nautes_e2e.scenario import Note

StageStatus: TypeAlias = Literal["running", "passed", "failed", "skipped", "error"]
#: What a stage may keep as evidence: text, raw bytes, or a JSON document (an API object, a list of names).
EvidenceContent: TypeAlias = str | bytes | Mapping[str, Any] | list[Any]

#: Where progress lines go: one call per line, shown to the person watching the run at once.
ProgressSink: TypeAlias = Callable[[str], None]

#: The stage that removes what the run applied and proves it gone (``fixtures/teardown.py``).
TEARDOWN_STAGE = "teardown"
#: Why the teardown stage is skipped under ``--keep-env``; the release gate accepts exactly this skip.
KEPT_REASON = "kept (--keep-env)"

UNSUCCESSFUL: frozenset[StageStatus] = frozenset({"failed", "error"})


class StageFailure(Exception):
    """A decided failure of a stage: ``diagnosis`` says what is wrong, in words a Nautes user understands.

    ``evidence`` (name -> content) is written to the stage's evidence folder when the failure is recorded,
    so that code without access to the stage (a wait, a client helper) can still attach what it saw.
    """

    def __init__(self, diagnosis: str, evidence: Mapping[str, EvidenceContent] | None = None) -> None:
        super().__init__(diagnosis)
        self.diagnosis = diagnosis
        self.evidence: dict[str, EvidenceContent] = dict(evidence or {})


@dataclass(frozen=True)
class TargetSummary:
    """The world the run used. ``endpoints`` are URLs and hosts only: credentials never enter a report."""

    name: str
    simulated: bool
    endpoints: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScenarioSummary:
    """The scenario the run followed, and where its text and Nautes v0.4.x differ."""

    name: str
    notes: tuple[Note, ...] = ()


@dataclass
class StageRecord:
    """One stage of a run, as the reports show it. ``start`` is ISO 8601 UTC; ``evidence`` holds paths
    relative to the run's report folder."""

    name: str
    needs: tuple[str, ...] = ()
    test_id: str | None = None
    status: StageStatus = "running"
    start: str = ""
    duration_s: float = 0.0
    attempts: int = 0
    facts: dict[str, Any] = field(default_factory=dict)
    diagnosis: str | None = None
    evidence: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.skip_reason is not None and self.skip_reason.startswith("blocked by ")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["needs"] = list(self.needs)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StageRecord:
        values = dict(data)
        values["needs"] = tuple(values.get("needs", ()))
        values["status"] = cast(StageStatus, values.get("status", "running"))
        return cls(**values)


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds and a ``Z``, the form every report uses."""
    return iso_utc(datetime.now(UTC))


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe_exception(error: BaseException) -> str:
    """``Type: message`` of an unexpected exception, the diagnosis when a stage did not fail on purpose."""
    if isinstance(error, StageFailure):
        return error.diagnosis
    message = str(error)
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return "\n".join([text, *getattr(error, "__notes__", [])])
