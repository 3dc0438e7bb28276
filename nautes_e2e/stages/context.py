"""The ``stage`` handle a stage body works with: facts, evidence, progress lines, notes, a decided failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn

from nautes_e2e.secrets import redact
from nautes_e2e.stages.evidence import EvidenceStore
from nautes_e2e.stages.model import EvidenceContent, StageFailure, StageRecord

#: Where progress lines go: one call per line, shown to the person watching the run at once.
ProgressSink = Callable[[str], None]


class StageContext:
    """What one stage establishes and sees, recorded for the reports as it happens.

    Example::

        @pytest.mark.stage("register_cluster", needs=("preflight",))
        def test_register_cluster(stage: StageContext, nautes: NautesClient) -> None:
            cluster = nautes.get("Cluster", "physical-worker-quickstart")
            stage.evidence("cluster.json", cluster)
            if cluster["usage"] != "worker":
                stage.fail(f"the cluster is registered for {cluster['usage']!r}, not as a worker")
            stage.fact("cluster", cluster["name"])
    """

    def __init__(
        self,
        record: StageRecord,
        shared_facts: dict[str, Any],
        evidence_store: EvidenceStore,
        progress_sink: ProgressSink,
    ) -> None:
        self._record = record
        self._shared_facts = shared_facts
        self._evidence_store = evidence_store
        self._progress_sink = progress_sink
        self._started = time.monotonic()

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def fact(self, key: str, value: object) -> None:
        """Record something the stage established (a name, an id, a commit); later stages read it from the
        session-wide ``facts`` fixture, and the reports show it."""
        self._record.facts[key] = value
        self._shared_facts[key] = value

    def evidence(self, name: str, content: EvidenceContent) -> str:
        """Keep what the stage saw as ``evidence/<stage>/<name>`` (secrets masked); returns that path."""
        path = self._evidence_store.write(self.name, name, content)
        if path not in self._record.evidence:
            self._record.evidence.append(path)
        return path

    def progress(self, message: str) -> None:
        """Print one line now, even while pytest captures output: ``[stage 12.3s] message``."""
        line = " ".join(message.split())
        self._progress_sink(redact(f"[{self.name} {self.elapsed_s:.1f}s] {line}"))

    def note(self, text: str) -> None:
        """Add a remark to the reports (a difference from the quickstart text, a workaround in use)."""
        self._record.notes.append(text)

    def fail(self, diagnosis: str, **evidence: EvidenceContent) -> NoReturn:
        """End the stage as failed with ``diagnosis``; keyword arguments are kept as evidence files."""
        raise StageFailure(diagnosis, evidence)
