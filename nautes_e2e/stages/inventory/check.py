"""The world as the preflight found it, and the teardown's checks against it.

The preflight takes the snapshot (:meth:`WorldInventory.take`). The teardown, before ``nautes remove``,
takes another: the objects it names as this run's are what the run made (evidence), and its ids tell later
which ``repo-<id>`` and ``product-<id>`` were the run's once GitLab has deleted them. Then it registers two
checks with the removal (:meth:`WorldInventory.check_removal`):

* nothing of this run's may be left: listed again and again within the teardown's timeout until nothing
  is, every object still there named (``left behind: ...``), whatever its kind. Once a look found the
  run's objects in some services only, the next looks list those alone (the wait can last the whole
  timeout, and listing all four services five times a second was most of a failing teardown's work);
  nothing is left only when a look at all four says so, so an object that comes back anywhere is found;
* nothing that was there before the run may be gone, unless it was this run's (a kept run of the same
  suffix) or another run's (runs sharing the world end meanwhile), or is one of the runtime components a
  cluster registration installs and its removal prunes (their namespaces: an earlier registration of the
  claimed cluster may still be pruning them when the run starts): once the wait is over.

Objects other runs create meanwhile are neither; they are counted, never reported as this run's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from nautes_e2e.clients import Document
from nautes_e2e.stages.applied import AppliedDocuments
from nautes_e2e.stages.context import StageContext
from nautes_e2e.stages.inventory.items import SERVICES, Item, Snapshot, ordered
from nautes_e2e.stages.inventory.listing import InventoryClients, take_snapshot
from nautes_e2e.stages.inventory.owners import Owner, RunNames
from nautes_e2e.stages.model import describe_exception


class WorldInventory:
    """What exists before the run and after it, and whose it is."""

    def __init__(self, clients: InventoryClients, names: RunNames) -> None:
        self._clients = clients
        self._names = names
        self.before: Snapshot | None = None
        self._paths: dict[str, str] = {}
        self._last: Snapshot | None = None
        #: The services the last look found this run's objects in (None: look at all of them).
        self._still_holding: frozenset[str] | None = None
        #: Whether the last look listed only some services (then ``_last`` is not the whole world).
        self._looked_at_some = False
        self._component_namespaces: frozenset[str] = frozenset()

    def take(self, stage: StageContext) -> None:
        """The snapshot before the run changes anything (the preflight's last step): its counts a fact,
        the objects' names evidence."""
        self.before = self._snapshot()
        stage.fact("inventory", self.before.counts())
        stage.evidence("inventory-before.json", [str(item) for item in ordered(self.before.items)])

    def check_removal(self, stage: StageContext, applied: AppliedDocuments) -> None:
        """Before ``nautes remove``: what the run made (evidence), and the two checks of what its removal
        leaves (:meth:`AppliedDocuments.expect_gone`, :meth:`AppliedDocuments.expect_kept`). A listing
        that fails here keeps nothing from being removed: a note says so, and the leftover check, which
        lists again, fails if the service still cannot be listed."""
        try:
            made = self._of(self._snapshot(), Owner.THIS_RUN)
        except Exception as unlisted:  # whatever it is, the removal must still run
            stage.note(
                "could not list what the run made before removing it (objects named only by the ids it "
                f"learned then may go unnoticed): {describe_exception(unlisted)}"
            )
        else:
            stage.fact("run_objects", len(made))
            stage.evidence("inventory-run.json", [str(item) for item in made])
        if self.before is None:
            stage.note(
                "no inventory was taken before the run: whether it removed what was there is not known"
            )
        self._component_namespaces = component_namespaces(applied.documents)
        applied.expect_gone(self._left_behind)
        applied.expect_kept(self._gone_since_before)

    def _left_behind(self) -> str | None:
        services = self._still_holding or frozenset(SERVICES)
        self._last, self._looked_at_some = None, False  # until this look succeeds
        snapshot = self._snapshot(services)
        if services == frozenset(SERVICES):
            self._last = snapshot
        else:
            self._looked_at_some = True
        left = self._of(snapshot, Owner.THIS_RUN)
        if left:
            self._still_holding = frozenset(item.service for item in left)
            return ", ".join(str(item) for item in left)
        if self._still_holding is not None:  # those are clear: all four must say so too
            self._still_holding = None
            return self._left_behind()
        return None

    def _gone_since_before(self) -> list[str]:
        """What was there before the run and is not now, and was no run's (never listed when the wait's
        last look failed: the failure is reported instead). A wait that ended on a look at some services
        only gets one look at all of them first."""
        if self._looked_at_some:
            self._looked_at_some = False
            try:
                self._last = self._snapshot(SERVICES)
            except Exception:  # as after a failed last look: no diff (the stage fails naming what is left)
                return []
        if self.before is None or self._last is None:
            return []
        gone = Snapshot.of(self.before.items - self._last.items, {})
        return [
            f"gone since the preflight: {item}"
            for item in self._of(gone, Owner.NONE)
            if item.namespace not in self._component_namespaces
        ]

    def _snapshot(self, services: Collection[str] = SERVICES) -> Snapshot:
        snapshot = take_snapshot(self._clients, services)
        self._paths.update(snapshot.paths)  # ids stay known once GitLab deleted what they stand for
        return snapshot

    def _of(self, snapshot: Snapshot, owner: Owner) -> list[Item]:
        return [item for item in ordered(snapshot.items) if self._names.owner(item, self._paths) is owner]


def component_namespaces(documents: Iterable[Document]) -> frozenset[str]:
    """The namespaces of the components the run's Cluster registrations install on the runtime cluster
    (``componentsList.<component>.namespace``, contract §3.6; Argo CD prunes them with the registration,
    contract §3.1)."""
    return frozenset(
        str(component["namespace"])
        for document in documents
        if document.kind == "Cluster"
        for component in (document.spec.get("componentsList") or {}).values()
        if isinstance(component, dict) and component.get("namespace")
    )
