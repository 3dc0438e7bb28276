"""The init ("hooks") PipelineRun a Sensor creates for a pipeline trigger (contract §4.4 steps 1-3).

Mirrors NAUTES ``internal/data/pipeline/tekton/tekton.go``: ``buildBaseHooks`` (git-clone the pipeline
repo, then ``kubernetes-actions`` running the pipeline-run script), ``buildBaseInputOverWrite`` (the push
ref goes to ``Revision`` unless the trigger has inputs; to ``PipelineRevision`` unless the trigger pins a
revision) and ``addUserRequestVarIntoBasePipelineRun`` (one ``UserRequest_<n>`` param per input). The
result is the trigger's resource plus the list of event fields the Sensor copies into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nautes_refstack.runtime import pipeline_script
from nautes_refstack.runtime.resources import Pipeline, PipelineTrigger

PARAM_REVISION = "Revision"
PARAM_PIPELINE_REVISION = "PipelineRevision"
PARAM_PIPELINE_FILE = "PipelineFile"
WORKSPACE_SSH_CREDS = "ssh-creds"
WORKSPACE_PIPELINES = "pipelines"
SECRET_PIPELINE_READONLY_SSH_KEY = "pipeline-readonly-ssh-key"
KUBECTL_IMAGE = "ghcr.io/nautes-labs/kubectl:v1.27.3-alpine-v3.18-v2"
PIPELINES_VOLUME_SIZE = "10M"

# Event fields by request variable (NAUTES config/apps/overlays/runtime-operator/rules.yaml, argo-events).
_REQUEST_VAR_PATHS: dict[tuple[str, str | None], str] = {
    ("ref", None): "default.ref",
    ("commitID", None): "body.after",
    ("target_branch", "merge_requests_events"): "body.object_attributes.target_branch",
    ("source_branch", "merge_requests_events"): "body.object_attributes.source_branch",
    ("state", "merge_requests_events"): "body.object_attributes.state_id",
    ("labels", "merge_requests_events"): "body.object_attributes.labels",
    ("title", "merge_requests_events"): "body.object_attributes.title",
}


class HooksError(ValueError):
    """The trigger asks for something the init pipeline cannot carry (e.g. an unknown event variable)."""


@dataclass(frozen=True)
class EventParameter:
    """Copy event field ``data_key`` into ``dest`` of the created resource (a Sensor trigger parameter)."""

    data_key: str
    dest: str


@dataclass(frozen=True)
class HooksTemplate:
    pipeline_run: dict[str, Any]
    parameters: tuple[EventParameter, ...]


@dataclass(frozen=True)
class HooksContext:
    """What one trigger knows: where it runs, who runs it, which file, and the built-in variables."""

    namespace: str
    account: str
    pipeline_repo_url: str
    pipeline: Pipeline
    trigger: PipelineTrigger
    event_type: str
    builtin_vars: Mapping[str, str]


def build_hooks(context: HooksContext) -> HooksTemplate:
    """The hooks PipelineRun and the event fields the Sensor copies into it."""
    pipeline_run = _base_pipeline_run(context)
    params: list[dict[str, Any]] = pipeline_run["spec"]["params"]
    declared: list[dict[str, Any]] = pipeline_run["spec"]["pipelineSpec"]["params"]
    parameters: list[EventParameter] = []
    user_params: list[pipeline_script.UserParam] = []

    if not context.trigger.inputs:
        parameters.append(EventParameter(_event_path("ref", context.event_type), "spec.params.0.value"))
        user_params.append(pipeline_script.UserParam(PARAM_REVISION, "/spec/params/0/value"))
    if context.trigger.revision:
        params[1]["value"] = context.trigger.revision
    else:
        parameters.append(EventParameter(_event_path("ref", context.event_type), "spec.params.1.value"))

    for number, item in enumerate(context.trigger.inputs):
        name = f"UserRequest_{number}"
        index = len(params)
        if item.built_in_var:
            params.append({"name": name, "value": context.builtin_vars.get(item.built_in_var, "")})
            declared.append({"name": name})
        else:
            params.append({"name": name, "value": ""})
            declared.append({"name": name, "default": ""})
            parameters.append(
                EventParameter(_event_path(item.from_event, context.event_type), f"spec.params.{index}.value")
            )
        user_params.append(pipeline_script.UserParam(name, item.path))

    script = pipeline_script.render(context.pipeline.label, context.namespace, user_params)
    pipeline_run["spec"]["pipelineSpec"]["tasks"][1]["params"][1]["value"] = script
    return HooksTemplate(pipeline_run=pipeline_run, parameters=tuple(parameters))


def _event_path(request_var: str, event_type: str) -> str:
    path = _REQUEST_VAR_PATHS.get((request_var, None)) or _REQUEST_VAR_PATHS.get((request_var, event_type))
    if path is None:
        raise HooksError(f"get target date path in event source failed: unknown request var {request_var!r}")
    return path


def _base_pipeline_run(context: HooksContext) -> dict[str, Any]:
    """``buildBaseHooks``: git-clone the pipeline repo, then run the pipeline-run script."""
    return {
        "apiVersion": "tekton.dev/v1alpha1",
        "kind": "PipelineRun",
        "metadata": {"generateName": "hooks-", "namespace": context.namespace},
        "spec": {
            "serviceAccountName": context.account,
            "pipelineSpec": {
                "tasks": [
                    {
                        "name": "git-clone",
                        "taskRef": {"name": "git-clone", "kind": "ClusterTask"},
                        "params": [
                            {"name": "url", "value": context.pipeline_repo_url},
                            {"name": "revision", "value": f"$(params.{PARAM_PIPELINE_REVISION})"},
                        ],
                        "workspaces": [
                            {"name": "ssh-directory", "workspace": WORKSPACE_SSH_CREDS},
                            {"name": "output", "workspace": WORKSPACE_PIPELINES},
                        ],
                    },
                    {
                        "name": "pipeline-run",
                        "taskRef": {"name": "kubernetes-actions", "kind": "ClusterTask"},
                        "runAfter": ["git-clone"],
                        "params": [
                            {"name": "image", "value": KUBECTL_IMAGE},
                            {"name": "script", "value": ""},
                        ],
                        "workspaces": [{"name": "manifest-dir", "workspace": WORKSPACE_PIPELINES}],
                    },
                ],
                "params": [
                    {"name": PARAM_REVISION},
                    {"name": PARAM_PIPELINE_REVISION},
                    {"name": PARAM_PIPELINE_FILE},
                ],
                "workspaces": [{"name": WORKSPACE_PIPELINES}, {"name": WORKSPACE_SSH_CREDS}],
            },
            "params": [
                {"name": PARAM_REVISION, "value": ""},
                {"name": PARAM_PIPELINE_REVISION, "value": ""},
                {"name": PARAM_PIPELINE_FILE, "value": context.pipeline.path},
            ],
            "workspaces": [
                {
                    "name": WORKSPACE_PIPELINES,
                    "volumeClaimTemplate": {
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": PIPELINES_VOLUME_SIZE}},
                        },
                    },
                },
                {"name": WORKSPACE_SSH_CREDS, "secret": {"secretName": SECRET_PIPELINE_READONLY_SSH_KEY}},
            ],
        },
    }
