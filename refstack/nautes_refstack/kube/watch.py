"""Watch streams: how changes recorded by the store reach watchers, filtered like the apiserver's cache.

A watch with a selector sees the object's membership change, not just its updates: an update that makes
an object match is delivered as ``ADDED``, one that makes it stop matching as ``DELETED`` (carrying the
previous state with the new resourceVersion), exactly as kube-apiserver's watch cache does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from nautes_refstack.kube import crd_versions
from nautes_refstack.kube.json_copy import deep_copy
from nautes_refstack.kube.resource_type import ResourceType
from nautes_refstack.kube.selectors import FieldSelector, LabelSelector

EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]


@dataclass(frozen=True)
class WatchEvent:
    """One line of a watch stream: ``{"type": ..., "object": ...}``."""

    type: EventType
    object: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One committed mutation, as recorded in the store's history (objects are never mutated later)."""

    resource_version: int
    storage_key: tuple[str, str]
    namespace: str
    type: Literal["ADDED", "MODIFIED", "DELETED"]
    object: dict[str, Any]
    previous: dict[str, Any] | None


def stamp(resource_type: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``obj`` as served at ``resource_type``'s version (``apiVersion`` and ``kind`` first).

    Every version of a resource shows the same fields, except CustomResourceDefinitions, whose v1 and
    v1beta1 shapes differ (:mod:`.crd_versions`)."""
    return deep_copy(served_view(resource_type, obj))


def served_view(resource_type: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as :func:`stamp` serves it, but sharing its fields with ``obj`` instead of copying them: for
    comparing objects, and for storing one the store alone holds (stored objects are never mutated)."""
    if resource_type.storage_key == (crd_versions.GROUP, "customresourcedefinitions"):
        obj = crd_versions.convert(obj, resource_type.version)
    body = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind")}
    return {"apiVersion": resource_type.api_version, "kind": resource_type.kind, **body}


def with_resource_version(obj: dict[str, Any], resource_version: int) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(resource_version)}}


@dataclass(frozen=True)
class WatchFilter:
    """Which changes a watcher wants: one resource, optionally one namespace and selectors."""

    resource_type: ResourceType
    namespace: str | None = None
    labels: LabelSelector = field(default_factory=LabelSelector)
    fields: FieldSelector = field(default_factory=FieldSelector)

    def matches(self, obj: dict[str, Any]) -> bool:
        return self.labels.matches(obj) and self.fields.matches(obj)

    def event_for(self, change: Change) -> WatchEvent | None:
        """The event this watcher sees for ``change``, if any."""
        if change.storage_key != self.resource_type.storage_key:
            return None
        if self.namespace is not None and change.namespace != self.namespace:
            return None
        matches_now = change.type != "DELETED" and self.matches(change.object)
        if change.type == "DELETED":
            matched_before = self.matches(change.object)
            before = change.object
        else:
            matched_before = change.previous is not None and self.matches(change.previous)
            before = with_resource_version(change.previous or change.object, change.resource_version)
        if matches_now:
            kind: EventType = "MODIFIED" if matched_before else "ADDED"
            return WatchEvent(kind, stamp(self.resource_type, change.object))
        if matched_before:
            return WatchEvent("DELETED", stamp(self.resource_type, before))
        return None


class _End:
    """Wakes a waiting reader after :meth:`WatchStream.close`."""


class WatchStream:
    """An open watch: iterate it (``async for event in stream``) or poll it with :meth:`next_event`.

    Events are queued without bound, in commit order; the stream ends when :meth:`close` is called.
    """

    def __init__(
        self,
        watch_filter: WatchFilter,
        current_resource_version: Callable[[], int],
        detach: Callable[[WatchStream], None],
    ) -> None:
        self.filter = watch_filter
        self._current_resource_version = current_resource_version
        self._detach = detach
        self._queue: asyncio.Queue[WatchEvent | _End] = asyncio.Queue()
        self.closed = False

    def push(self, event: WatchEvent) -> None:
        if not self.closed:
            self._queue.put_nowait(event)

    def deliver(self, change: Change) -> None:
        event = self.filter.event_for(change)
        if event is not None:
            self.push(event)

    def bookmark(self) -> None:
        """Queue a ``BOOKMARK`` telling the watcher everything up to the current resourceVersion was sent."""
        rt = self.filter.resource_type
        metadata = {"resourceVersion": str(self._current_resource_version())}
        self.push(
            WatchEvent("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": metadata})
        )

    def end(self) -> None:
        """End the stream after the events already queued (the watched resource is no longer served)."""
        if not self.closed:
            self._detach(self)
            self._queue.put_nowait(_End())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._detach(self)
            self._queue.put_nowait(_End())

    async def next_event(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event, or None when ``timeout`` passes first or the stream is closed."""
        if self.closed:
            return None
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(item, _End) or self.closed:
            self.closed = True  # the end of the stream was read, or the watcher closed it meanwhile
            return None
        return item

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> WatchEvent:
        event = await self.next_event()
        if event is None:
            raise StopAsyncIteration
        return event
