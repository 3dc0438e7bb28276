"""The stage recorder: the one place a run's stages, their outcomes and the shared facts are kept.

It knows nothing about pytest: the plugin tells it when a stage begins, runs and ends, and work done outside
a test (the ``nautes remove`` teardown in a session fixture finalizer) uses :meth:`StageRecorder.stage`
directly. Every report is built from what it holds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from nautes_e2e.scenario import Note
from nautes_e2e.secrets import redact
from nautes_e2e.stages.context import StageContext
from nautes_e2e.stages.evidence import EvidenceStore
from nautes_e2e.stages.model import (
    ProgressSink,
    ScenarioSummary,
    StageFailure,
    StageRecord,
    StageStatus,
    TargetSummary,
    describe_exception,
    utc_now_iso,
)
from nautes_e2e.stages.saved_facts import is_restored
from nautes_e2e.stages.timeouts import StageTimeouts

#: The diagnosis of a stage that was still running when the run was stopped, when nothing says by what.
INTERRUPTED = "interrupted before the stage finished"


class StageRecorder:
    """Records stages in the order they begin, and the facts they share."""

    def __init__(
        self, evidence_store: EvidenceStore, progress_sink: ProgressSink, stage_timeout_s: float | None = None
    ) -> None:
        self.evidence_store = evidence_store
        self.progress_sink = progress_sink
        #: How long each stage waits for the world; ``stage_timeout_s`` (``--stage-timeout``) overrides all.
        self.timeouts = StageTimeouts(override_s=stage_timeout_s)
        self.records: dict[str, StageRecord] = {}
        #: The session-wide facts: every ``stage.fact(...)`` lands here, and stages may add to it directly.
        self.facts: dict[str, Any] = {}
        self._contexts: dict[str, StageContext] = {}
        #: The world the run uses, as the reports show it (see :meth:`describe_target`).
        self.target: TargetSummary | None = None
        #: The scenario the run follows, as the reports show it (see :meth:`describe_scenario`).
        self.scenario: ScenarioSummary | None = None
        #: What interrupted the run (``SIGTERM``, ``SIGINT``, ...), or ``None`` while nothing did (see
        #: :meth:`interrupt`).
        self.interruption: str | None = None

    def interrupt(self, cause: str) -> None:
        """Say that the run is being stopped, and by what (a signal's name): the stage running now and any
        left unfinished are recorded as interrupted by it. The first cause stays."""
        if self.interruption is None:
            self.interruption = cause

    def describe_target(self, target: TargetSummary) -> None:
        """Say which world the run uses: first what was asked for, then, once it is up, its endpoints."""
        self.target = target

    def describe_scenario(self, scenario: ScenarioSummary) -> None:
        """Say which scenario the run follows, with its notes on the quickstart text."""
        self.scenario = scenario

    def blocker(self, needs: Sequence[str]) -> str | None:
        """The stage that keeps one of ``needs`` from having passed (depth first, in declaration order): a
        need that failed, was skipped or never ran in this session — or, for a need that was itself
        blocked, the stage that blocked it, so a report always names the root failure. ``None`` when the
        stage may run."""
        for need in needs:
            record = self.records.get(need)
            if record is None:
                return need
            if record.status != "passed" and not is_restored(record):  # restored: passed in a kept run
                return (self.blocker(record.needs) if record.blocked else None) or need
            upstream = self.blocker(record.needs)
            if upstream is not None:
                return upstream
        return None

    def begin(
        self,
        name: str,
        needs: Sequence[str] = (),
        test_id: str | None = None,
        timeout_s: float | None = None,
    ) -> StageContext:
        """Start (or restart, on a rerun) a stage; its attempts and evidence carry over. ``timeout_s`` is
        the stage's own default wait (see :class:`StageTimeouts`)."""
        previous = self.records.get(name)
        record = StageRecord(name=name, needs=tuple(needs), test_id=test_id, start=utc_now_iso())
        if previous is not None:
            record.attempts = previous.attempts
            record.evidence = previous.evidence
        self.records[name] = record
        self.timeouts.declare(name, timeout_s)
        context = StageContext(
            record, self.facts, self.evidence_store, self.progress_sink, lambda: self.timeouts.for_stage(name)
        )
        self._contexts[name] = context
        return context

    def context(self, name: str) -> StageContext:
        return self._contexts[name]

    def count_attempt(self, name: str) -> None:
        """The stage body is about to run (once more)."""
        self.records[name].attempts += 1

    def add_duration(self, name: str, seconds: float) -> None:
        self.records[name].duration_s += seconds

    def passed(self, name: str) -> None:
        record = self.records[name]
        if record.status == "running":
            record.status = "passed"

    def skipped(self, name: str, reason: str) -> None:
        record = self.records[name]
        record.status = "skipped"
        record.skip_reason = reason

    def failed(self, name: str, error: BaseException, *, status: StageStatus = "failed") -> None:
        """Record why the stage did not pass, with the evidence a :class:`StageFailure` carries. The first
        diagnosis stays: a teardown error after a failed body does not hide the failure."""
        record = self.records[name]
        context = self._contexts[name]
        if isinstance(error, StageFailure):
            for evidence_name, content in error.evidence.items():
                context.evidence(evidence_name, content)
        if record.status in ("failed", "error"):
            return
        record.status = status
        if isinstance(error, KeyboardInterrupt):
            record.diagnosis = self._interrupted()
        else:
            record.diagnosis = redact(describe_exception(error))

    def skip_stage(self, name: str, reason: str) -> None:
        """Record a stage outside a test that was deliberately not run (teardown under ``--keep-env``)."""
        self.begin(name)
        self.skipped(name, reason)

    @contextmanager
    def stage(self, name: str, *, timeout_s: float | None = None) -> Iterator[StageContext]:
        """Run work outside a test as a recorded stage.

        An ``Exception`` inside is recorded as the stage's failure and not re-raised: teardown runs in a
        session finalizer, and pytest would blame whichever test happened to run last. The plugin turns a
        failed stage into a failed run instead. Interrupts (Ctrl-C) are recorded and re-raised.
        """
        context = self.begin(name, timeout_s=timeout_s)
        self.count_attempt(name)
        started = time.monotonic()
        try:
            yield context
        except Exception as error:
            self.failed(name, error)
        except BaseException as interrupt:
            self.failed(name, interrupt, status="error")
            raise
        else:
            self.passed(name)
        finally:
            self.add_duration(name, time.monotonic() - started)

    def close_unfinished(self) -> None:
        """Stages still running when the session ends were interrupted: say so rather than report them
        as running."""
        for record in self.records.values():
            if record.status == "running":
                record.status = "error"
                record.diagnosis = self._interrupted()
            elif self.interruption is not None and record.diagnosis == INTERRUPTED:
                # An xdist worker learns of the interruption from its controller, which knows the signal.
                record.diagnosis = self._interrupted()

    def _interrupted(self) -> str:
        if self.interruption is None:
            return INTERRUPTED
        return f"interrupted by {self.interruption} before the stage finished"

    def export(self) -> dict[str, Any]:
        """Everything recorded, as plain JSON data (to send from an xdist worker to the controller)."""
        return {
            "stages": [record.to_dict() for record in self.records.values()],
            "facts": json.loads(json.dumps(self.facts, default=str)),
            # The world and the scenario too: described on the worker, reported by the controller.
            "target": None if self.target is None else asdict(self.target),
            "scenario": None
            if self.scenario is None
            else {"name": self.scenario.name, "notes": [note.model_dump() for note in self.scenario.notes]},
        }

    def absorb(self, exported: Mapping[str, Any]) -> None:
        """Take over what a worker's recorder exported: it is the complete, newer state of the stages."""
        for data in exported["stages"]:
            record = StageRecord.from_dict(data)
            self.records[record.name] = record
        self.facts.update(exported["facts"])
        if exported.get("target") is not None:
            self.target = TargetSummary(**exported["target"])
        if exported.get("scenario") is not None:
            notes = tuple(Note(**note) for note in exported["scenario"]["notes"])
            self.scenario = ScenarioSummary(exported["scenario"]["name"], notes)
