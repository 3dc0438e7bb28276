"""Dotted JSON paths as Argo Events reads and writes them (the gjson/sjson subset Nautes' Sensors use).

Sensor filters and trigger parameters address event data with gjson paths (``headers.X-Gitlab-Event``,
``default.ref``) and write into the trigger resource with sjson paths (``spec.params.0.value``): keys
separated by dots (``\\.`` escapes a dot), numbers index arrays.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_SPLIT_RE = re.compile(r"(?<!\\)\.")


def split_path(path: str) -> list[str]:
    """``a.b\\.c.0`` → ``["a", "b.c", "0"]``."""
    return [part.replace("\\.", ".") for part in _SPLIT_RE.split(path)]


_MISSING = object()


def lookup(data: Mapping[str, Any] | list[Any], path: str) -> Any:
    """The value at ``path``, or ``None`` when any step is missing (gjson's "does not exist")."""
    value = _walk(data, path)
    return None if value is _MISSING else value


def exists(data: Mapping[str, Any] | list[Any], path: str) -> bool:
    return _walk(data, path) is not _MISSING


def _walk(data: Any, path: str) -> Any:
    current: Any = data
    for part in split_path(path):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def as_gjson_string(value: Any) -> str:
    """gjson ``Result.String()``: strings as-is, ``null`` as empty, everything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def assign(document: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at ``path`` in place, creating missing objects (sjson ``SetBytes``)."""
    parts = split_path(path)
    current: Any = document
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if isinstance(current, list):
            if not part.isdigit() or int(part) > len(current):
                raise KeyError(f"cannot index a list with {part!r} in path {path!r}")
            position = int(part)
            if position == len(current):
                current.append(None if last else {})
            if last:
                current[position] = value
            else:
                current = _descend(current, position)
        elif isinstance(current, dict):
            if last:
                current[part] = value
            else:
                current = _descend(current, part)
        else:
            raise KeyError(f"{path!r} crosses a scalar at {part!r}")


def _descend(container: Any, key: Any) -> Any:
    child = container.get(key) if isinstance(container, dict) else container[key]
    if child is None:
        child = container[key] = {}
    return child
