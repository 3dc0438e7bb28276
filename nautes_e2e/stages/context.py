"""The ``stage`` handle a stage body works with: facts, evidence, progress lines, notes, waits, a decided
failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, TypeVar

from nautes_e2e.secrets import redact
from nautes_e2e.stages import waits
from nautes_e2e.stages.evidence import EvidenceStore
from nautes_e2e.stages.model import EvidenceContent, ProgressSink, StageFailure, StageRecord

T = TypeVar("T")

#: How often :meth:`StageContext.wait_for` looks again unless a stage says otherwise: short, because most
#: probes are one cheap GET, and a real Nautes is judged by the timeout, not by the poll.
DEFAULT_POLL_INTERVAL_S = 0.1


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
        timeout: Callable[[], float],
    ) -> None:
        self._record = record
        self._shared_facts = shared_facts
        self._evidence_store = evidence_store
        self._progress_sink = progress_sink
        self._started = time.monotonic()
        self._timeout = timeout

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def timeout_s(self) -> float:
        """How long this stage waits for the world to reach a state (see :mod:`.timeouts`); read when
        used, because the world's own timeouts are known only once it is up."""
        return self._timeout()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def fact(self, key: str, value: object) -> None:
        """Record something the stage established (a name, an id, a commit); later stages read it from the
        session-wide ``facts`` fixture, and the reports show it. Facts are the one channel between stages."""
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

    def wait_for(
        self,
        describe: str,
        probe: Callable[[], waits.Observation],
        *,
        interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> waits.Observation:
        """Poll ``probe`` until it is decided, at most the stage's timeout, printing each new state (see
        :func:`nautes_e2e.stages.waits.wait_for`)."""
        return waits.wait_for(
            describe, probe, timeout_s=self.timeout_s, interval_s=interval_s, progress=self.progress
        )

    def follow(
        self, describe: str, events: Iterable[T], judge: Callable[[T], waits.Observation]
    ) -> waits.Observation:
        """Judge ``events`` (a watch opened with ``timeout_s=stage.timeout_s``) until one is decided,
        printing each new state (see :func:`nautes_e2e.stages.waits.follow`)."""
        return waits.follow(describe, events, judge, progress=self.progress)
