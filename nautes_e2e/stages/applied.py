"""What a run ``nautes apply``-ed, so that it can all be removed again and proven gone.

Stages apply through :class:`AppliedDocuments` and register leftover probes with it; the session's teardown
stage (``fixtures/teardown.py``) calls :meth:`AppliedDocuments.remove_all`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from nautes_e2e.clients import (
    ApplyResult,
    Document,
    NautesApiError,
    NautesClient,
    NautesClusterNotSynced,
    NautesProductNotEmpty,
    NautesRequestCut,
)
from nautes_e2e.stages.context import StageContext
from nautes_e2e.stages.model import StageFailure, describe_exception
from nautes_e2e.stages.waits import Observation

#: The first pause before a waiting save is sent again; pauses double up to the maximum. Argo CD syncs the
#: tenant repository every 3 minutes (contract §3.5): a pause of 10 s at most costs little against that,
#: and a fast world (the reference stack) is not kept waiting long.
RETRY_FIRST_PAUSE_S = 0.2
RETRY_MAX_PAUSE_S = 10.0

#: Names what the run left behind (a GitLab group, a namespace, a Vault secret), or ``None`` once it is gone.
LeftoverProbe = Callable[[], "str | None"]


class AppliedDocuments:
    """The batches of documents applied in this session, in order."""

    def __init__(self, nautes: NautesClient) -> None:
        self._nautes = nautes
        self._batches: list[list[Document]] = []
        self._leftover_probes: list[LeftoverProbe] = []
        self._uncertain: set[int] = set()  # ids of documents whose apply failed or never ran

    def expect_gone(self, probe: LeftoverProbe) -> None:
        """After the removal, ``probe()`` must come to return None; until then it names what is left
        (a GitLab group, a namespace, a Vault secret). Nothing the run created may outlive it."""
        self._leftover_probes.append(probe)

    def apply(self, stage: StageContext, documents: Sequence[Document]) -> list[ApplyResult]:
        """``nautes apply`` the documents. They are remembered before sending: ``apply`` stops at the first
        failure and leaves the earlier documents applied, and those must be removed too. The document
        whose save failed may or may not have left something behind (a 500 can come after side
        effects), so it is removed as well, but "not found" for it is no error (see :meth:`remove_all`).

        Two answers are not failures but waits; the documents not saved yet are sent again with backoff, a
        progress line each time, within the stage's timeout:

        * a save that names a cluster Nautes has not synced yet (:class:`NautesClusterNotSynced`);
        * a save the client's timeout cut (:class:`NautesRequestCut`): it is read back first and the
          progress line says whether it landed, then sent again (a save creates or updates).

        Every other error fails at once."""
        batch = list(documents)
        self._batches.append(batch)
        sending = _Sending(batch)

        def before_retry(error: BaseException, attempt: int) -> None:
            if isinstance(error, NautesClusterNotSynced):
                stage.progress(
                    f"waiting for Nautes to sync cluster {error.cluster} ({error.kind} {error.name}: the API "
                    f"server does not see the Cluster resource yet; attempt {attempt})"
                )
            elif isinstance(error, NautesRequestCut):
                landed = self._read_back(sending.pending, error)
                stage.progress(
                    f"the save of {error.kind} {error.name} got no reply in time; read back, Nautes "
                    f"{'has it' if landed else 'does not have it yet'}; sending it again (a save creates or "
                    "updates)"
                )

        try:
            _retrying(stage, (NautesClusterNotSynced, NautesRequestCut), before_retry)(
                sending.send, self._nautes.apply
            )
        except NautesClusterNotSynced as never_synced:
            self._uncertain.update(id(document) for document in sending.pending)
            raise StageFailure(
                f"Nautes did not sync cluster {never_synced.cluster} within {stage.timeout_s:g}s: the "
                f"{never_synced.kind} {never_synced.name} save still answers that the Cluster resource does "
                "not exist (Argo CD has not synced the tenant repository since the cluster was registered): "
                f"{never_synced.message}"
            ) from never_synced
        except (NautesApiError, NautesRequestCut):
            self._uncertain.update(id(document) for document in sending.pending)
            raise
        return sending.done

    def _read_back(self, pending: Sequence[Document], cut: NautesRequestCut) -> bool:
        """Whether Nautes has the document whose save was cut (its GET answers something)."""
        document = next(d for d in pending if (d.kind, d.name) == (cut.kind, cut.name))
        return self._nautes.read_back(document) is not None

    def remove_all(self, stage: StageContext) -> None:
        """``nautes remove`` every batch, the last applied first. A batch that fails to go does not keep the
        others: all are tried, then the stage fails with every error. A product whose group still holds the
        repositories just removed (GitLab deletes them in a background job) is sent again with backoff
        until they are gone, within the stage's timeout."""
        errors: list[str] = []
        removed: list[str] = []
        for batch in reversed(self._batches):
            uncertain = [document for document in batch if id(document) in self._uncertain]
            for document in reversed(uncertain):
                try:
                    removed += [f"{r.kind} {r.name}" for r in self._nautes.remove([document])]
                except NautesApiError as error:  # it was never saved: the leftover checks judge the rest
                    stage.note(
                        f"{_label(document)} was not applied, and removing it answered: {error.message}"
                    )
            applied = [document for document in batch if id(document) not in self._uncertain]
            stage.progress("nautes remove " + ", ".join(_label(document) for document in applied))
            sending = _Sending(applied)
            try:
                waiting = _retrying(stage, (NautesProductNotEmpty,), partial(_waiting_for_gitlab, stage))
                waiting(sending.send, self._nautes.remove)
            except Exception as error:  # any failure: the other batches must still be tried
                errors.append(describe_exception(error))
            removed += [f"{result.kind} {result.name}" for result in sending.done]
        stage.fact("removed", len(removed))
        stage.evidence("removed.json", removed)
        if errors:
            stage.fail("nautes remove failed: " + "; ".join(errors))
        self._wait_until_nothing_is_left(stage)

    def _wait_until_nothing_is_left(self, stage: StageContext) -> None:
        def leftovers() -> Observation:
            left = [what for probe in self._leftover_probes if (what := probe()) is not None]
            if left:
                return Observation(done=False, state="left behind: " + ", ".join(left))
            return Observation(done=True, state="nothing left behind")

        # Removed things take time to disappear (namespaces terminate, operators reconcile): the stage's
        # timeout bounds the wait.
        stage.wait_for(
            f"everything the run created to be gone ({len(self._leftover_probes)} checks)",
            leftovers,
            interval_s=0.2,
        )
        stage.fact("leftover_checks", len(self._leftover_probes))


def _label(document: Document) -> str:
    return f"{document.kind} {document.name or '?'}"


class _Sending:
    """How far a batch got: ``done`` went through, ``pending`` did not (yet); a failed run keeps what it
    completed, so that sending again sends only the rest."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.done: list[ApplyResult] = []
        self.pending = list(documents)

    def send(self, operation: Callable[[Sequence[Document]], list[ApplyResult]]) -> None:
        try:
            self.done.extend(operation(self.pending))
        except (NautesApiError, NautesRequestCut) as error:
            self.done.extend(error.completed)
            finished = {(result.kind, result.name) for result in error.completed}
            self.pending = [d for d in self.pending if (d.kind, d.name) not in finished]
            raise
        self.pending = []


def _retrying(
    stage: StageContext,
    waits: tuple[type[Exception], ...],
    before_retry: Callable[[BaseException, int], None],
) -> Retrying:
    """Send again on the answers in ``waits`` (states to wait out, not failures), with backoff, within the
    stage's timeout; anything else, or the last answer at the timeout, is raised."""

    def announce(attempt: RetryCallState) -> None:
        error = attempt.outcome.exception() if attempt.outcome is not None else None
        if error is not None:
            before_retry(error, attempt.attempt_number)

    return Retrying(
        retry=retry_if_exception_type(waits),
        wait=wait_exponential(multiplier=RETRY_FIRST_PAUSE_S, max=RETRY_MAX_PAUSE_S),
        stop=stop_after_delay(stage.timeout_s),
        before_sleep=announce,
        reraise=True,
    )


def _waiting_for_gitlab(stage: StageContext, error: BaseException, attempt: int) -> None:
    if isinstance(error, NautesProductNotEmpty):
        stage.progress(
            f"waiting for GitLab to delete the repositories of product {error.name}: Nautes answers "
            f"{error.message!r} (attempt {attempt})"
        )
