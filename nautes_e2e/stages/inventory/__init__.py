"""The world's inventory: what exists, listed before the run changes anything and again after ``nautes
remove``, so that the teardown names every object that outlived the run (whatever its kind, on no hand-made
list) and every object that was there before the run and is gone.

* :mod:`.items`: an inventoried object (:class:`Item`) and a :class:`Snapshot` of them;
* :mod:`.listing`: :func:`take_snapshot`, list calls only, the four services at once;
* :mod:`.owners`: :class:`RunNames`, whose an object is (this run's, another run's, or neither);
* :mod:`.check`: :class:`WorldInventory`, the snapshot before and the teardown's checks against it.
"""

from __future__ import annotations

from nautes_e2e.stages.inventory.check import WorldInventory
from nautes_e2e.stages.inventory.items import Item, Snapshot
from nautes_e2e.stages.inventory.listing import InventoryClients, take_snapshot
from nautes_e2e.stages.inventory.owners import Owner, RunNames

__all__ = ["InventoryClients", "Item", "Owner", "RunNames", "Snapshot", "WorldInventory", "take_snapshot"]
