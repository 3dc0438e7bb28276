"""The garbage collector paused while the stack's modules are imported and the stack starts, then what
exists frozen, so that the collector's full collections no longer walk it.

Importing the stack's ~700 modules and starting it makes ~110k objects that mostly live as long as the
process: the collector runs ~150 times during the imports alone (~0.04 CPU-s of a start), and each later
full collection walks all of them again (~40 ms, several per main job). Imported first by ``python -m
nautes_refstack``, this module pauses the collector; :func:`resume`, once the stack is ready, moves every
object that exists to the permanent generation (:func:`gc.freeze`), which collections do not walk, and lets
the collector run again. The cyclic garbage of the start is kept with it (a few MB). Imported any other way
(a test importing the command's module), it leaves the collector alone.
"""

from __future__ import annotations

import gc
import sys

#: The program is ``python -m nautes_refstack``: runpy gives its ``__main__`` this module spec.
_RUNNING_THE_STACK = getattr(getattr(sys.modules.get("__main__"), "__spec__", None), "name", None) == (
    "nautes_refstack.__main__"
)
_PAUSED = _RUNNING_THE_STACK and gc.isenabled()
if _PAUSED:
    gc.disable()


def resume() -> None:
    """The stack is ready: freeze what exists and let the collector run again if it was paused here."""
    gc.freeze()
    if _PAUSED:
        gc.enable()
