"""Watch streams of the object store, each followed by a task of its own until stopped: the shape every
in-process control-plane controller of a runtime cluster has (endpoints, events, the root CA publisher),
as a real controller's informers follow the apiserver's watches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from nautes_refstack.kube.watch import WatchStream
from nautes_refstack.supervision import start_supervised

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
        self._tasks.append(start_supervised(handler(stream), name))

    async def stop(self) -> None:
        for stream in self._streams:
            stream.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._streams, self._tasks = [], []
