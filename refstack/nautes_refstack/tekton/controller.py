"""The Tekton controller of one runtime cluster: watches PipelineRuns and runs each new one.

It plays Tekton Pipelines v0.37.5 (``tekton-pipelines-controller``) plus the kubelet for the pods it
creates: every PipelineRun that appears without a status, in any namespace and under either served
version (v1alpha1 and v1beta1 share one resource), is run as an asyncio task on the stack's loop.
Deleting a PipelineRun cancels it; its TaskRuns and pods are garbage-collected by the store.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.kube import ObjectStore, WatchStream
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.supervision import start_supervised
from nautes_refstack.tekton.pipeline_spec import TEKTON_API, JsonObject
from nautes_refstack.tekton.pipelinerun import PipelineRunExecution, remove_claims
from nautes_refstack.tekton.taskrun import Environment

log = logging.getLogger(__name__)


class TektonController:
    """``await start()`` begins watching; ``await stop()`` cancels running pipelines and removes scratch data.

    The vault agent logs in at the auth path of the cluster's vault-agent injector (see
    :func:`~nautes_refstack.tekton.vault_agent.injector_auth_path`); ``work_dir`` holds workspace
    volumes and pod filesystems (a private temporary directory by default). ``faults`` reach every task
    (:attr:`~.task_api.TaskContext.faults`) and the executor (``task-fails``). Under a ``real`` ``pace``
    pods take time to start and steps to run (:mod:`.durations`), and a pod whose vault-agent TLS Secret
    is missing gets the kubelet's ``FailedMount`` Events (:mod:`.secret_volume`). With ``scheduler`` (the
    cluster's control plane runs and binds pods) a pod is reported only once it is bound.
    """

    def __init__(
        self,
        store: ObjectStore,
        vault_url: str,
        work_dir: Path | None = None,
        faults: Faults = NO_FAULTS,
        pace: Pace = INSTANT,
        *,
        scheduler: bool = False,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._vault_url = vault_url
        self._faults = faults
        self._pace = pace
        self._work_dir = work_dir
        self._owns_work_dir = work_dir is None
        self._environment: Environment | None = None
        self._watch: WatchStream | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._seen: set[str] = set()

    async def start(self) -> None:
        work_dir = self._work_dir or Path(tempfile.mkdtemp(prefix="nautes-e2e-tekton-"))
        work_dir.mkdir(parents=True, exist_ok=True)
        self._work_dir = work_dir
        self._environment = Environment(
            self._store, self._vault_url, work_dir, self._faults, self._pace, self._scheduler
        )
        self._watch = self._store.watch(TEKTON_API, "PipelineRun")
        self._loop_task = start_supervised(self._watch_loop(self._watch), "tekton controller")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.close()
        tasks = [task for task in (self._loop_task, *self._runs.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runs.clear()
        self._loop_task = self._watch = None
        if self._owns_work_dir and self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    async def _watch_loop(self, stream: WatchStream) -> None:
        async for event in stream:
            pipeline_run = event.object
            uid = pipeline_run["metadata"]["uid"]
            if event.type == "DELETED":
                self._forget(uid, pipeline_run)
            elif event.type in ("ADDED", "MODIFIED") and uid not in self._seen:
                self._seen.add(uid)
                if not (pipeline_run.get("status") or {}).get("conditions"):
                    self._start_run(uid, pipeline_run)

    def _start_run(self, uid: str, pipeline_run: JsonObject) -> None:
        assert self._environment is not None, "start() sets the environment"
        metadata = pipeline_run["metadata"]
        log.info("running PipelineRun %s/%s", metadata["namespace"], metadata["name"])
        execution = PipelineRunExecution(self._environment, pipeline_run)
        task = start_supervised(execution.run(), f"pipelinerun {metadata['namespace']}/{metadata['name']}")
        self._runs[uid] = task
        task.add_done_callback(lambda _: self._runs.pop(uid, None))

    def _forget(self, uid: str, pipeline_run: JsonObject) -> None:
        self._seen.discard(uid)
        task = self._runs.get(uid)
        if task is not None:  # it leaves _runs once its cancellation is done: stop() waits for it meanwhile
            task.cancel()
        if self._environment is not None:
            remove_claims(self._environment, pipeline_run)
