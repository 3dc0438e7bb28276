"""What a run ``nautes apply``-ed, so that it can all be removed again and proven gone.

Stages apply through :class:`AppliedDocuments` and register leftover probes with it; the session's teardown
stage (``fixtures/teardown.py``) calls :meth:`AppliedDocuments.remove_all`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from nautes_e2e.clients import (
    ApplyResult,
    Document,
    NautesApiError,
    NautesClient,
    NautesClusterNotSynced,
    NautesConnectionError,
    NautesNotFound,
    NautesProductNotEmpty,
    NautesRequestCut,
)
from nautes_e2e.clients.nautes import KINDS
from nautes_e2e.stages.context import StageContext
from nautes_e2e.stages.model import StageFailure, describe_exception
from nautes_e2e.stages.waits import Observation, wait_for

#: The first pause before a waiting save is sent again; pauses double up to the maximum. Argo CD syncs the
#: tenant repository every 3 minutes (contract §3.5): a pause of 10 s at most costs little against that,
#: and a fast world (the reference stack) is not kept waiting long.
RETRY_FIRST_PAUSE_S = 0.2
RETRY_MAX_PAUSE_S = 10.0

#: Names what the run left behind (a GitLab group, a namespace, a Vault secret), or ``None`` once it is gone.
LeftoverProbe = Callable[[], "str | None"]
#: Once the leftover wait is over: what the removal broke that no wait mends (what was there before the run
#: and is gone), one line each; empty when nothing.
KeptCheck = Callable[[], "list[str]"]
#: Names what Nautes has not done yet with a saved document, or ``None`` once it has (see
#: :meth:`AppliedDocuments.settle_before_removal`).
SettledProbe = Callable[[], "str | None"]
#: The share of the teardown's timeout a removal waits for its document to settle: the rest is left to the
#: removal itself and to the leftover wait.
SETTLE_SHARE = 1 / 3


class AppliedDocuments:
    """The batches of documents applied in this session, in order."""

    def __init__(self, nautes: NautesClient) -> None:
        self._nautes = nautes
        self._batches: list[list[Document]] = []
        self._leftover_probes: list[LeftoverProbe] = []
        self._kept_checks: list[KeptCheck] = []
        self._uncertain: set[int] = set()  # ids of documents whose apply failed or never ran
        self._settled_probes: dict[int, tuple[str, SettledProbe]] = {}  # document id -> what to wait for

    @property
    def documents(self) -> list[Document]:
        """Every document sent to Nautes (or about to be) in this session, in order."""
        return [document for batch in self._batches for document in batch]

    def expect_gone(self, probe: LeftoverProbe) -> None:
        """After the removal, ``probe()`` must come to return None; until then it names what is left
        (a GitLab group, a namespace, a Vault secret). Nothing the run created may outlive it."""
        self._leftover_probes.append(probe)

    def expect_kept(self, check: KeptCheck) -> None:
        """Once the leftover wait is over, ``check()`` must find nothing: what was there before the run
        stays (the run removes only what it made)."""
        self._kept_checks.append(check)

    def settle_before_removal(self, document: Document, describe: str, probe: SettledProbe) -> None:
        """Before ``document`` (saved) is removed, wait until ``probe()`` returns None: some of what a save
        makes is undone only by Nautes's clean-up of the resource it synced, so a removal sent before the
        sync leaves it behind for good (a Cluster removed before Argo CD created its resource keeps its
        kubeconfig in Vault: the API server's delete leaves it to the cluster-operator, contract §3.5).
        The wait takes at most :data:`SETTLE_SHARE` of the teardown's timeout; then the document is removed
        anyway, a note says so, and the leftover check names whatever that leaves."""
        self._settled_probes[id(document)] = (describe, probe)

    def apply(self, stage: StageContext, documents: Sequence[Document]) -> list[ApplyResult]:
        """``nautes apply`` the documents. They are remembered before sending: ``apply`` stops at the first
        failure and leaves the earlier documents applied, and those must be removed too. A document whose
        save failed (a 500 can come after side effects) or was interrupted (Ctrl-C or a signal while it
        was sent: it may have landed) is uncertain, as is every one after it: it is removed as well, but
        "not found" for it is no error (see :meth:`remove_all`).

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
            with self._nautes.reporting_collisions(partial(_told, stage)):
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
        except BaseException:
            # A failed save may have had side effects (a 500 after them), and one interrupted (Ctrl-C, a
            # signal) may or may not have landed: every document not known to be saved is uncertain.
            self._uncertain.update(id(document) for document in sending.pending)
            raise
        return sending.done

    def _read_back(self, pending: Sequence[Document], cut: NautesRequestCut) -> bool:
        """Whether Nautes has the document whose save was cut (its GET answers something)."""
        document = next(d for d in pending if (d.kind, d.name) == (cut.kind, cut.name))
        return self._nautes.read_back(document) is not None

    def remove_all(self, stage: StageContext) -> None:
        """``nautes remove`` every batch, the last applied first, each in ``nautes remove``'s order; then
        wait until the leftover probes find nothing, and run the kept checks.

        Nothing stops the removal half-way, and the leftover checks always run: a document that does not
        go is listed with why (fact ``not_removed``) and the others are still removed; the stage then fails
        naming every document not removed and everything left behind. "Not found" is never an error: the
        document is gone, or (uncertain: its save failed or was interrupted) was never saved. Any other
        refusal for an uncertain document is settled by reading it back. A product whose group still holds
        the repositories just removed (GitLab deletes them in a background job) is sent again with backoff
        until they are gone, within the stage's timeout."""
        removal = _Removal()
        try:
            for batch in reversed(self._batches):
                ordered = _removal_order(batch)
                stage.progress("nautes remove " + ", ".join(_label(document) for document in ordered))
                for document in ordered:
                    self._remove(stage, document, removal)
        finally:  # also when a second signal cuts the teardown short: what went is known
            stage.fact("removed", len(removal.removed))
            stage.evidence("removed.json", removal.removed)
            if removal.not_removed:
                stage.fact("not_removed", removal.not_removed)
        problems = [f"nautes remove failed for {what}" for what in removal.not_removed]
        try:
            self._wait_until_nothing_is_left(stage)
        except StageFailure as left:
            problems.append(left.diagnosis)
        except Exception as broken:  # a probe that cannot tell (an API answering 500): the check failed
            problems.append(describe_exception(broken))
        problems += [problem for check in self._kept_checks for problem in check()]
        if problems:
            stage.fail("; ".join(problems))

    def _remove(self, stage: StageContext, document: Document, removal: _Removal) -> None:
        if removal.unreachable is not None:
            removal.not_removed.append(f"{_label(document)}: not tried, {removal.unreachable}")
            return
        uncertain = id(document) in self._uncertain
        if not uncertain and id(document) in self._settled_probes:
            self._wait_settled(stage, document, *self._settled_probes[id(document)])
        # Once something did not go, a product's group may never empty: its refusal is not waited out.
        waits: tuple[type[Exception], ...] = () if removal.not_removed else (NautesProductNotEmpty,)
        try:
            with self._nautes.reporting_collisions(partial(_told, stage)):
                results = _retrying(stage, waits, partial(_waiting_for_gitlab, stage))(
                    self._nautes.remove, [document]
                )
        except NautesNotFound as gone:
            stage.note(f"{_label(document)} {_absent(uncertain)}: removing it answered {gone.message}")
            return
        except (NautesApiError, NautesConnectionError, ValueError) as error:
            why = _why(error)
            if uncertain:
                try:
                    if self._nautes.read_back(document) is None:
                        stage.note(f"{_label(document)} was never saved: removing it answered {why}")
                        return
                except (NautesApiError, NautesConnectionError, ValueError) as unreadable:
                    why += f" (reading it back answered {_why(unreadable)})"
            stage.progress(f"could not remove {_label(document)}: {why}")
            removal.not_removed.append(f"{_label(document)}: {why}")
            if isinstance(error, NautesConnectionError) and not isinstance(error, NautesRequestCut):
                removal.unreachable = "Nautes did not answer"
            return
        removal.removed += [f"{result.kind} {result.name}" for result in results]

    @staticmethod
    def _wait_settled(stage: StageContext, document: Document, describe: str, probe: SettledProbe) -> None:
        def settled() -> Observation:
            pending = probe()
            return Observation(done=pending is None, state=pending or "done")

        try:
            wait_for(
                describe,
                settled,
                timeout_s=stage.timeout_s * SETTLE_SHARE,
                interval_s=0.2,
                progress=stage.progress,
            )
        except Exception as unsettled:  # a timeout, or a probe that cannot tell: the removal goes ahead
            stage.note(
                f"removing {_label(document)} without waiting any longer for {describe} "
                f"({describe_exception(unsettled)}): what only that clean-up removes may be left behind"
            )

    def _wait_until_nothing_is_left(self, stage: StageContext) -> None:
        def leftovers() -> Observation:
            left = [what for probe in self._leftover_probes if (what := probe()) is not None]
            if left:
                return Observation(done=False, state="left behind: " + ", ".join(left))
            return Observation(done=True, state="nothing left behind")

        # Removed things take time to disappear (namespaces terminate, operators reconcile): the stage's
        # timeout bounds the wait.
        stage.wait_for(
            f"everything the run created to be gone (leftover checks: {len(self._leftover_probes)})",
            leftovers,
            interval_s=0.2,
        )
        stage.fact("leftover_checks", len(self._leftover_probes))


def _label(document: Document) -> str:
    return f"{document.kind} {document.name or '?'}"


def _absent(uncertain: bool) -> str:
    return "was never saved" if uncertain else "was already gone"


def _why(error: Exception) -> str:
    """One line: what Nautes answered, or why no answer came."""
    if isinstance(error, NautesApiError):
        return f"{error.status} {' '.join(error.message.split())}"
    return " ".join(describe_exception(error).split())


def _removal_order(batch: Sequence[Document]) -> list[Document]:
    """The order ``nautes remove`` sends a batch in: kinds in reverse apply order, file order within a
    kind (a kind the client does not know last, where the client refuses it)."""
    rank = {kind: position for position, kind in enumerate(KINDS)}
    return sorted(batch, key=lambda document: -rank.get(document.kind, -1))


@dataclass
class _Removal:
    """What the teardown removed (``Kind name``) and what it could not (``Kind name: why``)."""

    removed: list[str] = field(default_factory=list)
    not_removed: list[str] = field(default_factory=list)
    #: Set once Nautes could not be reached: the documents after that are listed, not tried.
    unreachable: str | None = None


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


def _told(stage: StageContext, line: str) -> None:
    """A request Nautes refused for another one at the same moment, and resent: shown and kept in the
    stage's notes (a collision of Nautes' own, not of the run)."""
    stage.progress(line)
    stage.note(line)


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
