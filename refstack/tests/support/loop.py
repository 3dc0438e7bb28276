"""The one asyncio loop in a background thread that the tests' emulated servers run on.

The clients the tests drive the emulations with (python-gitlab, kubernetes, hvac, requests, ``git``) are
synchronous, while the servers are asyncio and loop-affine, as in the reference stack. So every test module
that needs a server starts it on a :class:`BackgroundLoop` and reaches it only through :meth:`run` and
:meth:`call`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """An asyncio loop in a daemon thread, running from ``__enter__`` until ``__exit__`` stops and closes it.

    ``timeout`` is the default wait of :meth:`run`: how long a start, stop or call may take before the test
    fails instead of hanging.
    """

    def __init__(self, name: str = "refstack-tests", timeout: float = 30) -> None:
        self._loop = asyncio.new_event_loop()
        self._timeout = timeout
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and return its result (or raise its error)."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(self._timeout if timeout is None else timeout)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a synchronous ``function`` on the loop (where the object store lives) and return its result."""

        async def invoke() -> T:
            return function(*args, **kwargs)

        return self.run(invoke())
