"""Tekton Pipelines v0.37.5 for the reference stack's runtime clusters, executed for real on the host.

``TektonController(store, vault_url)`` watches PipelineRuns in one cluster's
:class:`~nautes_refstack.kube.ObjectStore` and runs them; ``install_tekton(store)`` installs the
``tekton-pipelines`` namespace and the Nautes catalog ClusterTasks; ``register_cluster_task(name, impl)``
adds an implementation (``async def run(ctx: TaskContext) -> TaskOutcome``) for a ClusterTask.
"""

from __future__ import annotations

from nautes_refstack.tekton import tasks as _builtin_tasks  # noqa: F401 - registers the catalog tasks
from nautes_refstack.tekton.catalog import TEKTON_NAMESPACE, install_tekton
from nautes_refstack.tekton.controller import TektonController
from nautes_refstack.tekton.task_api import (
    Step,
    StepFailed,
    TaskContext,
    TaskOutcome,
    register_cluster_task,
)

__all__ = [
    "TEKTON_NAMESPACE",
    "Step",
    "StepFailed",
    "TaskContext",
    "TaskOutcome",
    "TektonController",
    "install_tekton",
    "register_cluster_task",
]
