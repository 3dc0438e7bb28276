"""Long-lived tasks of the stack (controllers, followers, workers) that say so when they die, and the
errors its controllers and handlers survive.

asyncio reports a task's exception only when the task is garbage-collected unretrieved; the stack keeps its
controllers' tasks until it stops, so one that raised would stop its controller for good without a word,
and every later run would meet a broken world (a Pod follower once died this way: no pod of its cluster
was bound after it). A real controller's crash restarts its pod and shows in ``kubectl get pods``; here
the death is an ERROR in the stack's log, with the traceback, which the harness's tests look for. So is an
exception a controller or handler catches and survives (:func:`log_survived_error`): it goes on, as
controller-runtime's reconcilers and a Go server's panic recovery do, but the exception is a bug of the
stack's own all the same, and a run that met it may have met a world kinder or harsher than the real one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def start_supervised(coroutine: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
    """``asyncio.create_task(coroutine, name=name)``, its end by an exception logged (:func:`log_death`)."""
    task = asyncio.create_task(coroutine, name=name)
    task.add_done_callback(log_death)
    return task


def log_death(task: asyncio.Task[Any]) -> None:
    """Log ``task``'s exception, if it ended by one (a cancelled or finished task says nothing)."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("%s stopped: %r", task.get_name(), error, exc_info=error)


def log_survived_error(message: str, *args: object) -> None:
    """Log the exception being handled (call it in an ``except`` block) as one the stack survived."""
    log.error(message, *args, exc_info=True)
