"""The runtime operator's re-validation of a ProjectPipelineRuntime before it deploys (contract §4.1, §2.6.6).

The API server validates at save time, but the runtime operator checks again against the resources that
actually reached the cluster: the destination must be a pipeline worker, the project must own or be bound
to the pipeline repository, hooks must be known, and every trigger must name an existing pipeline and
event source. An event source whose repo the project may not use is not fatal: it is reported in
``status.illegalEventSources`` and left out, together with the triggers that use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautes_refstack.runtime.resources import Cluster, ProjectPipelineRuntime
from nautes_refstack.runtime.snapshots import ProductSnapshot


@dataclass(frozen=True)
class IllegalEventSource:
    event_source: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    """``error`` set: deploy nothing. Otherwise deploy without ``illegal_event_sources``."""

    error: str | None
    illegal_event_sources: tuple[IllegalEventSource, ...] = ()

    def is_legal(self, event_source: str) -> bool:
        return all(item.event_source != event_source for item in self.illegal_event_sources)


def may_use_repository(product: ProductSnapshot, project: str, repo: str) -> bool:
    """The project owns the repo, or a CodeRepoBinding grants it (all projects when ``projects`` is empty)."""
    code_repo = product.code_repos.get(repo)
    if code_repo is None:
        return False
    if code_repo.project == project:
        return True
    return any(
        binding.code_repo == repo and (not binding.projects or project in binding.projects)
        for binding in product.bindings
    )


def validate(runtime: ProjectPipelineRuntime, product: ProductSnapshot, cluster: Cluster) -> Verdict:
    if not cluster.is_pipeline_worker:
        return Verdict("verify project pipeline runtime failed, err: cluster is not a pipeline cluster")
    if not may_use_repository(product, runtime.project, runtime.pipeline_source):
        return Verdict(
            "verify project pipeline runtime failed, err: "
            f"not permitted to use repository {runtime.pipeline_source}"
        )
    if runtime.hook_names:
        # No hook plugin is installed, so ConfigMap nautes-hooks-metadata lists none.
        return Verdict(f"hook is illegal: unknown hook {runtime.hook_names[0]}")
    for trigger in runtime.triggers:
        if runtime.event_source(trigger.event_source) is None:
            return Verdict(f"found non-existent event source {trigger.event_source} in trigger")
        if runtime.pipeline(trigger.pipeline) is None:
            return Verdict(f"found non-existent pipeline {trigger.pipeline} in trigger")
    illegal = tuple(
        IllegalEventSource(source.name, f"not permitted to use repository {source.gitlab.repo_name}")
        for source in runtime.event_sources
        if source.gitlab is not None
        and not may_use_repository(product, runtime.project, source.gitlab.repo_name)
    )
    return Verdict(None, illegal)
