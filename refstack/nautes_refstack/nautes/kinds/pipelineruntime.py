"""ProjectPipelineRuntime: ``projects/<project>/<runtime>.yaml`` (service/projectpipelineruntime.go, biz/...).

Repository references (pipeline source, GitLab event sources, additional resources) arrive as GitLab paths
in the product group and are stored as ``repo-<id>``. Replies convert them back to GitLab project names.
Kept quirks of v0.4.2: the service's trigger-to-pipeline check never fails; a reply with trigger inputs
panics (the converter dereferences both input sources); post hooks are only reported when pre hooks exist.
"""

from __future__ import annotations

from typing import Any

from nautes_refstack.nautes import errors, names, product_store
from nautes_refstack.nautes.crd_types import API_VERSION
from nautes_refstack.nautes.nodestree import Node
from nautes_refstack.nautes.protojson import Message
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.selector import FieldRule, matches

KIND = "ProjectPipelineRuntime"
RULES = {
    "project_name": FieldRule("Name", "in"),
    "pipeline_triggers.pipeline": FieldRule("Spec.PipelineTriggers.Pipeline", "in"),
    "destination": FieldRule("Spec.Destination", "in"),
    "pipeline_source": FieldRule("Spec.PipelineSource", "in"),
    "project": FieldRule("Spec.Project", "in"),
}


def _nil_if_empty(items: list[Any]) -> list[Any] | None:
    """An empty repeated proto field is a nil Go slice (``null`` where the CRD field is not omitempty)."""
    return items or None


def _validate(body: Message) -> None:
    """``ProjectPipelineRuntimeService.validate``: triggers name event sources; a destination is given."""
    source_names = {source.text("name") for source in body.children("event_sources")}
    for trigger in body.children("pipeline_triggers"):
        if trigger.text("event_source") not in source_names:
            raise errors.plain(
                f"the event source {trigger.text('event_source')} in the trigger does not exist"
            )
    destination = body.child("destination")
    if destination is None:
        raise errors.plain(
            "pipeline deployment target configuration not submitted, please checked '.Destination' field "
        )
    if not destination.text("environment"):
        raise errors.plain(
            "pipeline deployment environment cannot be empty, "
            "please checked '.Destination.Environment' field "
        )


def _event_source(source: Message) -> dict[str, Any]:
    gitlab, calendar = source.child("gitlab"), source.child("calendar")
    return {
        "name": source.text("name"),
        "gitlab": {
            "repoName": gitlab.text("repo_name"),
            "revision": gitlab.text("revision"),
            "events": _nil_if_empty(gitlab.texts("events")),
        }
        if gitlab is not None
        else None,
        "calendar": {
            "schedule": calendar.text("schedule"),
            "interval": calendar.text("interval"),
            "exclusionDates": _nil_if_empty(calendar.texts("exclusion_dates")),
            "timezone": calendar.text("timezone"),
        }
        if calendar is not None
        else None,
    }


def _trigger(trigger: Message) -> dict[str, Any]:
    inputs = []
    for item in trigger.children("inputs"):
        source: dict[str, str] = {}
        origin = item.child("source")
        if origin is not None:
            if origin.text("built_in_var"):
                source["builtInVar"] = origin.text("built_in_var")
            if origin.text("from_event"):
                source["fromEvent"] = origin.text("from_event")
        method = item.child("transmission_method")
        kustomization = method.child("kustomization") if method is not None else None
        transmission = (
            {"kustomization": {"path": kustomization.text("path")}} if kustomization is not None else {}
        )
        inputs.append({"source": source, "transmissionMethod": transmission})
    return {
        "eventSource": trigger.text("event_source"),
        "pipeline": trigger.text("pipeline"),
        "revision": trigger.text("revision"),
        "inputs": _nil_if_empty(inputs),
    }


def _hooks(hooks: Message | None, which: str) -> list[dict[str, Any]] | None:
    if hooks is None:
        return None
    converted = []
    for hook in hooks.children(which):
        entry: dict[str, Any] = {"name": hook.text("name"), "vars": hook.text_map("vars") or None}
        if hook.text("alias"):
            entry["alias"] = hook.text("alias")
        converted.append(entry)
    return _nil_if_empty(converted)


def _spec(body: Message) -> dict[str, Any]:
    """``NewProjectPipelineRuntimeData``: the CR spec with repository *paths* still in place."""
    destination = body.child("destination")
    additional = body.child("additional_resources")
    git = additional.child("git") if additional is not None else None
    hooks = body.child("hooks")
    return {
        "project": body.text("project"),
        "pipelineSource": body.text("pipeline_source"),
        "eventSources": _nil_if_empty([_event_source(source) for source in body.children("event_sources")]),
        "pipelines": _nil_if_empty(
            [
                {key: pipeline.text(key) for key in ("name", "label", "path")}
                for pipeline in body.children("pipelines")
            ]
        ),
        "pipelineTriggers": _nil_if_empty(
            [_trigger(trigger) for trigger in body.children("pipeline_triggers")]
        ),
        "destination": {
            "environment": destination.text("environment") if destination else "",
            "namespace": destination.text("namespace") if destination else "",
        },
        "hooks": {"preHooks": _hooks(hooks, "pre_hooks"), "postHooks": _hooks(hooks, "post_hooks")},
        "isolation": body.text("isolation"),
        "additionalResources": {
            "git": {
                "codeRepo": git.text("coderepo"),
                "url": git.text("url"),
                "path": git.text("path"),
                "revision": git.text("revision"),
            }
        }
        if git is not None
        else {},
        "account": body.text("account"),
    }


async def _store_repository_ids(scope: RequestScope, product: str, spec: dict[str, Any]) -> None:
    """``SaveProjectPipelineRuntime``'s conversions; no group lookup happens before them."""
    try:
        spec["pipelineSource"] = await names.repository_path_to_id(scope, product, spec["pipelineSource"])
    except errors.NautesError as failure:
        raise errors.wrapped(
            "failed to get codeRepo name when converting pipeline repository name, err: ", failure
        ) from None
    git = spec["additionalResources"].get("git")
    if git is not None:
        try:
            git["codeRepo"] = await names.repository_path_to_id(scope, product, git["codeRepo"])
        except errors.NautesError as failure:
            raise errors.wrapped(
                "failed to get codeRepo name when converting git repository name for additional resources, "
                "err: ",
                failure,
            ) from None
    for source in spec["eventSources"] or []:
        gitlab = source["gitlab"]
        if gitlab is not None and gitlab["repoName"]:
            try:
                gitlab["repoName"] = await names.repository_path_to_id(scope, product, gitlab["repoName"])
            except errors.NautesError as failure:
                raise errors.wrapped(
                    "failed to get codeRepo name when converting git repository name for event source, err: ",
                    failure,
                ) from None


async def save(scope: RequestScope, request: Message) -> dict[str, Any]:
    body = request.child("body")
    if body is None:
        raise errors.panic()  # req.Body.PipelineTriggers on a nil body
    _validate(body)
    product, name = request.text("product_name"), request.text("project_pipeline_runtime_name")
    spec = _spec(body)
    await _store_repository_ids(scope, product, spec)

    async def build(existing: Node | None, root: str) -> Node:
        if existing is not None:
            if existing.spec.get("project") != spec["project"]:
                raise errors.plain("existing pipeline runtime is not allow modifying the project field")
            existing.content["spec"] = spec
            return existing
        content = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}
        return Node(name, f"{root}/projects/{spec['project']}/{name}.yaml", False, 4, KIND, content)

    await product_store.save(scope, KIND, product, name, request.flag("insecure_skip_check"), build)
    return {"message": f"Successfully saved {name} configuration"}


async def delete(scope: RequestScope, request: Message) -> dict[str, Any]:
    product, name = request.text("product_name"), request.text("project_pipeline_runtime_name")
    await product_store.delete(scope, KIND, product, request.flag("insecure_skip_check"), lambda _: name)
    return {"message": f"Successfully deleted {name} configuration"}


# --- replies ----------------------------------------------------------------------------------------


async def _with_repository_names(scope: RequestScope, node: Node) -> dict[str, Any]:
    """``convertCodeRepoNameToRepoName`` on a copy of the spec."""
    spec = node.spec
    if not spec.get("pipelineSource"):
        raise errors.plain(
            "the pipelineSource field value of projectPipelineRuntime "
            f"{node.resource_name} should not be empty"
        )
    converted = {**spec, "pipelineSource": await names.repository_id_to_name(scope, spec["pipelineSource"])}
    git = (spec.get("additionalResources") or {}).get("git")
    if isinstance(git, dict) and git.get("codeRepo"):
        repository = await names.repository_id_to_name(scope, git["codeRepo"])
        converted["additionalResources"] = {"git": {**git, "codeRepo": repository}}
    sources = []
    for source in spec.get("eventSources") or []:
        gitlab = source.get("gitlab")
        if isinstance(gitlab, dict):
            repository = await names.repository_id_to_name(scope, str(gitlab.get("repoName", "")))
            source = {**source, "gitlab": {**gitlab, "repoName": repository}}
        sources.append(source)
    converted["eventSources"] = sources
    return converted


def _reply(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """``NewReplay``."""
    if "additionalResources" not in spec:
        raise errors.panic()  # val.Git on a nil *ProjectPipelineRuntimeAdditionalResources
    triggers, inputs = [], []
    for trigger in spec.get("pipelineTriggers") or []:
        for item in trigger.get("inputs") or []:
            source = item.get("source") or {}
            kustomization = (item.get("transmissionMethod") or {}).get("kustomization")
            if "builtInVar" not in source or "fromEvent" not in source or not isinstance(kustomization, dict):
                raise errors.panic()  # *Source.BuiltInVar / *Source.FromEvent / Kustomization.Path on nil
            inputs.append(
                {
                    "source": {"built_in_var": source["builtInVar"], "from_event": source["fromEvent"]},
                    "transmission_method": {"kustomization": {"path": kustomization.get("path", "")}},
                }
            )
        triggers.append(
            {
                "event_source": trigger.get("eventSource", ""),
                "pipeline": trigger.get("pipeline", ""),
                "revision": trigger.get("revision", ""),
                "inputs": list(inputs),
            }
        )
    git = (spec.get("additionalResources") or {}).get("git")
    hooks = spec.get("hooks") if isinstance(spec.get("hooks"), dict) else None
    pre_hooks = hooks.get("preHooks") if hooks else None
    return {
        "name": name,
        "project": spec.get("project", ""),
        "pipeline_source": spec.get("pipelineSource", ""),
        "event_sources": [_event_source_reply(source) for source in spec.get("eventSources") or []],
        "pipelines": [
            {key: pipeline.get(key, "") for key in ("name", "label", "path")}
            for pipeline in spec.get("pipelines") or []
        ],
        "pipeline_triggers": triggers,
        "destination": {
            "environment": (spec.get("destination") or {}).get("environment", ""),
            "namespace": (spec.get("destination") or {}).get("namespace", ""),
        },
        "isolation": spec.get("isolation", ""),
        "additional_resources": {
            "git": {
                "coderepo": git.get("codeRepo", ""),
                "url": git.get("url", ""),
                "revision": git.get("revision", ""),
                "path": git.get("path", ""),
            }
            if isinstance(git, dict)
            else None
        },
        "account": spec.get("account", ""),
        "hooks": {
            "pre_hooks": [_hook_reply(hook) for hook in pre_hooks or []],
            "post_hooks": [_hook_reply(hook) for hook in (hooks or {}).get("postHooks") or []]
            if pre_hooks
            else [],
        },
    }


def _event_source_reply(source: dict[str, Any]) -> dict[str, Any]:
    gitlab, calendar = source.get("gitlab"), source.get("calendar")
    return {
        "name": source.get("name", ""),
        "gitlab": {
            "repo_name": gitlab.get("repoName", ""),
            "revision": gitlab.get("revision", ""),
            "events": list(gitlab.get("events") or []),
        }
        if isinstance(gitlab, dict)
        else None,
        "calendar": {
            "schedule": calendar.get("schedule", ""),
            "interval": calendar.get("interval", ""),
            "exclusion_dates": list(calendar.get("exclusionDates") or []),
            "timezone": calendar.get("timezone", ""),
        }
        if isinstance(calendar, dict)
        else None,
    }


def _hook_reply(hook: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": hook.get("name", ""),
        "vars": dict(hook.get("vars") or {}),
        "alias": hook.get("alias", ""),
    }


async def get(scope: RequestScope, request: Message) -> dict[str, Any]:
    name = request.text("project_pipeline_runtime_name")
    node = await product_store.get(scope, KIND, request.text("product_name"), name)
    return _reply(name, await _with_repository_names(scope, node))


async def list_items(scope: RequestScope, request: Message) -> dict[str, Any]:
    tree = await product_store.list_tree(scope, request.text("product_name"))
    items = []
    for node in tree.files(KIND):
        spec = await _with_repository_names(scope, node)
        view = {
            "Name": node.resource_name,
            "Spec": {
                "Project": spec.get("project", ""),
                "PipelineSource": spec.get("pipelineSource", ""),
                "Destination": dict(spec.get("destination") or {}),
                "PipelineTriggers": [
                    {"EventSource": trigger.get("eventSource", ""), "Pipeline": trigger.get("pipeline", "")}
                    for trigger in spec.get("pipelineTriggers") or []
                ],
            },
        }
        if matches(request.text("field_selector"), view, RULES):
            items.append(_reply(node.resource_name, spec))
    return {"items": items}
