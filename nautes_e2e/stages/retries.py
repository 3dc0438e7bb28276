"""The stage layer's listener of the clients' resends after a transient answer (a 502 during a restart).

The clients tell a :class:`~nautes_e2e.clients.transient.RetryLog` of each resend; they cannot know which
stage is running (they sit below the stages). The run's one log is listened to by
:func:`report_to_running_stage`, which keeps each resend where a reader of the run looks: the running
stage's progress line, its notes (the reports) and its evidence (``transient-retries.json``). A run that
absorbed a flaky installation must say so, or a release gate hides that the installation was flaky.
"""

from __future__ import annotations

from collections.abc import Callable

from nautes_e2e.clients.transient import TransientRetry
from nautes_e2e.secrets import redact
from nautes_e2e.stages.recorder import StageRecorder

#: The evidence file each stage's resends are kept in.
EVIDENCE_NAME = "transient-retries.json"
#: The fact that holds resends made while no stage was running (a session fixture opening the world).
OUTSIDE_STAGES_FACT = "transient_retries"


def report_to_running_stage(recorder: StageRecorder) -> Callable[[TransientRetry], None]:
    """A listener for :meth:`RetryLog.listening <nautes_e2e.clients.transient.RetryLog.listening>` that
    records each resend in the stage running when it happens (the last one begun), or, with none running,
    in the run's facts and on the terminal."""
    by_stage: dict[str, list[str]] = {}

    def report(retry: TransientRetry) -> None:
        line = redact(str(retry))
        running = [name for name, record in recorder.records.items() if record.status == "running"]
        if not running:
            recorder.facts.setdefault(OUTSIDE_STAGES_FACT, []).append(line)
            recorder.progress_sink(f"[transient] {line}")
            return
        stage = recorder.context(running[-1])
        stage.progress(line)
        stage.note(line)
        kept = by_stage.setdefault(stage.name, [])
        kept.append(line)
        stage.evidence(EVIDENCE_NAME, kept)

    return report
