"""A Tekton controller on a :class:`~support.kube.RunningKube`, for the tests that run PipelineRuns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nautes_refstack.tekton import TektonController

from support.kube import RunningKube


@contextmanager
def controller_running(
    running: RunningKube, controller: TektonController, install: Callable[[], None]
) -> Iterator[None]:
    """Run ``install`` (what the controller's PipelineRuns need: Tekton, tasks) on the store's loop, start
    ``controller``, and stop it on the way out."""
    running.call(install)
    running.run(controller.start())
    try:
        yield
    finally:
        running.run(controller.stop())
