"""Deep copies of JSON-like values (dicts, lists, strings, numbers, booleans, None), done by marshal in C.

The store hands out and takes in deep copies of whole objects on every read, write and watch event, and
a PipelineRun's or a CRD's body is large: ``copy.deepcopy`` walks it in Python, one call per node, and was
the largest part of the stack's own CPU time in a main job. A marshal round trip makes the same copy (shared
sub-objects stay shared, as deepcopy's memo keeps them) about five times faster. What marshal cannot hold
(any type other than the builtin ones, a subclass included) is deep-copied the usual way.
"""

from __future__ import annotations

import copy
import marshal
from typing import Any, TypeVar

_Value = TypeVar("_Value")


def deep_copy(value: _Value) -> _Value:
    """A deep copy of ``value``, equal to ``copy.deepcopy(value)``."""
    marshallable: Any = value  # marshal refuses what it cannot hold: that is the fall-back below
    try:
        copied: _Value = marshal.loads(marshal.dumps(marshallable))
    except ValueError:
        return copy.deepcopy(value)
    return copied
