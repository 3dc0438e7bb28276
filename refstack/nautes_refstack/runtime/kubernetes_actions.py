"""The ``kubernetes-actions`` ClusterTask as the hooks PipelineRun's ``pipeline-run`` task uses it.

The catalog task runs ``$(params.script)`` in ``$(workspaces.manifest-dir.path)`` with kubectl. The only
script Nautes gives it is the pipeline-run script (:mod:`.pipeline_script`): write a kustomization around
the user's pipeline file, ``kubectl kustomize .`` and ``kubectl -n NS create -f -``. This implementation
does exactly that without a shell: it writes the same ``kustomization.yaml`` into the workspace, builds it
natively (:mod:`.kustomize`) and creates the result through the object store, printing what kubectl would.
Any other script fails the step, like a script the image cannot run.
"""

from __future__ import annotations

import re
from typing import Any

from nautes_refstack.kube import KubeError
from nautes_refstack.runtime import kustomize, pipeline_script
from nautes_refstack.runtime.multitenant import LABEL_BELONGS_TO
from nautes_refstack.tekton.task_api import Step, StepFailed, TaskContext, TaskOutcome

CLUSTER_TASK = "kubernetes-actions"
STEP = "kubectl"
_PIPELINE_FILE = re.compile(r"(?<=^resources:\n- ).+$", re.MULTILINE)  # the user's pipeline file


async def run_kubernetes_actions(ctx: TaskContext) -> TaskOutcome:
    async with ctx.step(STEP) as step:
        try:
            script = pipeline_script.parse(ctx.param("script"))
            text = script.kustomization_file()
        except pipeline_script.UnsupportedScript as error:
            raise StepFailed(127, f"the emulated kubectl image cannot run this script: {error}") from error
        directory = ctx.workspace("manifest-dir") or ctx.pod_path("/")
        # fault: the pipeline file path leads nowhere
        if ctx.faults.active("hooks-run-fails", about=ctx.namespace):
            text = _PIPELINE_FILE.sub(r"\g<0>.missing", text, count=1)
        (directory / "kustomization.yaml").write_text(text)
        step.log(text.rstrip("\n"))
        try:
            resources = kustomize.build(kustomize.parse(text), directory)
        except kustomize.KustomizeError as error:
            raise StepFailed(1, f"error: {error}") from error
        if not resources:
            raise StepFailed(1, "error: no objects passed to create")
        namespace = script.namespace
        # fault: the script names the product's namespace (contract §4.2 ``P``), not the runtime's
        if ctx.faults.active("pipelinerun-created-elsewhere", about=ctx.namespace):
            space = ctx.store.get("v1", "Namespace", None, ctx.namespace)
            namespace = (space["metadata"].get("labels") or {}).get(LABEL_BELONGS_TO, namespace)
        for resource in resources:
            _create(ctx, step, resource, namespace)
    return TaskOutcome()


def _create(ctx: TaskContext, step: Step, resource: dict[str, Any], namespace: str) -> None:
    """``kubectl -n <namespace> create -f -`` for one object."""
    metadata = resource["metadata"]
    if metadata.get("namespace") not in (None, "", namespace):
        raise StepFailed(
            1,
            f'error: the namespace from the provided object "{metadata["namespace"]}" does not match the '
            f"namespace \"{namespace}\". You must pass '--namespace={metadata['namespace']}' to perform "
            "this operation.",
        )
    metadata["namespace"] = namespace
    try:
        created = ctx.store.create(resource)
    except KubeError as error:
        raise StepFailed(
            1, f'Error from server ({error.reason}): error when creating "STDIN": {error.message}'
        ) from error
    group = str(created["apiVersion"]).rpartition("/")[0]
    step.log(f"{created['kind'].lower()}{'.' + group if group else ''}/{created['metadata']['name']} created")
