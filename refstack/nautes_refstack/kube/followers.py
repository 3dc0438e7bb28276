"""Watch streams of the object store, each followed by a task of its own until stopped: the shape every
in-process control-plane controller of a runtime cluster has (endpoints, events, the root CA publisher),
as a real controller's informers follow the apiserver's watches."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from nautes_refstack.kube.watch import WatchStream

log = logging.getLogger(__name__)

#: What follows one stream: ``async for event in stream`` until the stream is closed.
Follow = Callable[[WatchStream], Coroutine[Any, Any, None]]


class StreamFollowers:
    """``follow(stream, handler, name)`` starts a task that runs ``handler(stream)``; ``stop()`` closes every
    stream and ends every task."""

    def __init__(self) -> None:
        self._streams: list[WatchStream] = []
        self._tasks: list[asyncio.Task[None]] = []

    def follow(self, stream: WatchStream, handler: Follow, name: str) -> None:
        self._streams.append(stream)
        task = asyncio.create_task(handler(stream), name=name)
        task.add_done_callback(_report_death)
        self._tasks.append(task)

    async def stop(self) -> None:
        for stream in self._streams:
            stream.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._streams, self._tasks = [], []


def _report_death(task: asyncio.Task[None]) -> None:
    """A follower that ends by an exception stops its controller for good, silently (its task is kept, so
    asyncio never reports it): the stack's log must say so, with the traceback."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("%s stopped: %r", task.get_name(), error, exc_info=error)
