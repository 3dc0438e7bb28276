"""The Nautes custom resources the runtime side reads, as typed views over the YAML the API server writes.

Field names follow the CRDs (contract §3.6). Each view keeps only what the cluster-operator, the
runtime-operator and the emulated Argo Events act on; parsing is lenient the way controller-runtime
decoding is (absent fields are zero values), so a file the API server wrote always loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CLUSTER_KIND = "Cluster"
PROVIDER_KIND = "CodeRepoProvider"
CODE_REPO_KIND = "CodeRepo"
BINDING_KIND = "CodeRepoBinding"
ENVIRONMENT_KIND = "Environment"
PROJECT_KIND = "Project"
PPR_KIND = "ProjectPipelineRuntime"


def _spec(document: dict[str, Any]) -> dict[str, Any]:
    spec = document.get("spec")
    return spec if isinstance(spec, dict) else {}


def _name(document: dict[str, Any]) -> str:
    return str((document.get("metadata") or {}).get("name") or "")


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


@dataclass(frozen=True)
class Component:
    """One entry of a Cluster's ``componentsList`` (``pipeline: {name: tekton, namespace: ...}``)."""

    name: str
    namespace: str
    additions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cluster:
    name: str
    api_server: str
    usage: str
    worker_type: str
    primary_domain: str
    components: dict[str, Component]
    cluster_type: str = "physical"
    host_cluster: str = ""

    @classmethod
    def parse(cls, document: dict[str, Any]) -> Cluster:
        spec = _spec(document)
        components = {
            category: Component(
                name=str(entry.get("name") or ""),
                namespace=str(entry.get("namespace") or ""),
                additions={str(k): str(v) for k, v in (entry.get("additions") or {}).items()},
            )
            for category, entry in (spec.get("componentsList") or {}).items()
            if isinstance(entry, dict)
        }
        return cls(
            name=_name(document),
            api_server=str(spec.get("apiServer") or ""),
            usage=str(spec.get("usage") or ""),
            worker_type=str(spec.get("workerType") or ""),
            primary_domain=str(spec.get("primaryDomain") or ""),
            components=components,
            cluster_type=str(spec.get("clusterType") or ""),
            host_cluster=str(spec.get("hostCluster") or ""),
        )

    def is_served_at(self, api_server: str) -> bool:
        """Whether this CR describes the cluster whose API server is ``api_server``."""
        return self.api_server.rstrip("/") == api_server.rstrip("/")

    @property
    def is_pipeline_worker(self) -> bool:
        return self.usage == "worker" and self.worker_type == "pipeline"

    @property
    def is_virtual(self) -> bool:
        return self.cluster_type == "virtual"

    def component_namespace(self, category: str, default: str) -> str:
        component = self.components.get(category)
        return component.namespace if component is not None and component.namespace else default


@dataclass(frozen=True)
class CodeRepoProvider:
    name: str
    http_address: str
    ssh_address: str
    api_server: str
    provider_type: str

    @classmethod
    def parse(cls, document: dict[str, Any]) -> CodeRepoProvider:
        spec = _spec(document)
        return cls(
            name=_name(document),
            http_address=str(spec.get("httpAddress") or ""),
            ssh_address=str(spec.get("sshAddress") or ""),
            api_server=str(spec.get("apiServer") or ""),
            provider_type=str(spec.get("providerType") or "gitlab"),
        )


@dataclass(frozen=True)
class CodeRepo:
    """A product repository; ``name`` is ``repo-<gitlab project id>``, ``repo_name`` its GitLab path."""

    name: str
    project: str
    repo_name: str
    provider: str
    webhook_events: tuple[str, ...]

    @classmethod
    def parse(cls, document: dict[str, Any]) -> CodeRepo:
        spec = _spec(document)
        return cls(
            name=_name(document),
            project=str(spec.get("project") or ""),
            repo_name=str(spec.get("repoName") or ""),
            provider=str(spec.get("codeRepoProvider") or ""),
            webhook_events=_strings((spec.get("webhook") or {}).get("events")),
        )

    @property
    def gitlab_project_id(self) -> str:
        """Nautes' ``getIDFromCodeRepo``: what follows the first ``-`` of the name."""
        return self.name.split("-", 1)[1] if "-" in self.name else ""


@dataclass(frozen=True)
class CodeRepoBinding:
    name: str
    code_repo: str
    projects: tuple[str, ...]
    permissions: str

    @classmethod
    def parse(cls, document: dict[str, Any]) -> CodeRepoBinding:
        spec = _spec(document)
        return cls(
            name=_name(document),
            code_repo=str(spec.get("codeRepo") or ""),
            projects=_strings(spec.get("projects")),
            permissions=str(spec.get("permissions") or ""),
        )


@dataclass(frozen=True)
class Environment:
    name: str
    cluster: str

    @classmethod
    def parse(cls, document: dict[str, Any]) -> Environment:
        return cls(name=_name(document), cluster=str(_spec(document).get("cluster") or ""))


@dataclass(frozen=True)
class Pipeline:
    name: str
    label: str
    path: str


@dataclass(frozen=True)
class GitlabEventSource:
    repo_name: str
    revision: str
    events: tuple[str, ...]


@dataclass(frozen=True)
class EventSource:
    name: str
    gitlab: GitlabEventSource | None


@dataclass(frozen=True)
class TriggerInput:
    """A built-in variable or event field, patched into the user's PipelineRun at ``path``."""

    built_in_var: str
    from_event: str
    path: str


@dataclass(frozen=True)
class PipelineTrigger:
    event_source: str
    pipeline: str
    revision: str
    inputs: tuple[TriggerInput, ...]


@dataclass(frozen=True)
class ProjectPipelineRuntime:
    name: str
    project: str
    pipeline_source: str
    pipelines: tuple[Pipeline, ...]
    environment: str
    destination_namespace: str
    event_sources: tuple[EventSource, ...]
    triggers: tuple[PipelineTrigger, ...]
    account_name: str
    hook_names: tuple[str, ...]

    @classmethod
    def parse(cls, document: dict[str, Any]) -> ProjectPipelineRuntime:
        spec = _spec(document)
        destination = spec.get("destination") or {}
        hooks = spec.get("hooks") or {}
        return cls(
            name=_name(document),
            project=str(spec.get("project") or ""),
            pipeline_source=str(spec.get("pipelineSource") or ""),
            pipelines=tuple(
                Pipeline(str(p.get("name") or ""), str(p.get("label") or ""), str(p.get("path") or ""))
                for p in spec.get("pipelines") or []
            ),
            environment=str(destination.get("environment") or ""),
            destination_namespace=str(destination.get("namespace") or ""),
            event_sources=tuple(_event_source(entry) for entry in spec.get("eventSources") or []),
            triggers=tuple(_trigger(entry) for entry in spec.get("pipelineTriggers") or []),
            account_name=str(spec.get("account") or ""),
            hook_names=tuple(
                str(hook.get("name") or "")
                for key in ("preHooks", "postHooks")
                for hook in hooks.get(key) or []
            ),
        )

    @property
    def namespace(self) -> str:
        """``NS``: ``destination.namespace`` or the runtime's name."""
        return self.destination_namespace or self.name

    @property
    def account(self) -> str:
        """``A``: ``spec.account`` or the runtime's name."""
        return self.account_name or self.name

    def pipeline(self, name: str) -> Pipeline | None:
        return next((p for p in self.pipelines if p.name == name), None)

    def event_source(self, name: str) -> EventSource | None:
        return next((e for e in self.event_sources if e.name == name), None)

    @property
    def gitlab_repos(self) -> tuple[str, ...]:
        """The distinct code repos of the gitlab event sources, in first-use order."""
        repos = [e.gitlab.repo_name for e in self.event_sources if e.gitlab is not None]
        return tuple(dict.fromkeys(repos))


def _event_source(entry: dict[str, Any]) -> EventSource:
    gitlab = entry.get("gitlab")
    return EventSource(
        name=str(entry.get("name") or ""),
        gitlab=GitlabEventSource(
            repo_name=str(gitlab.get("repoName") or ""),
            revision=str(gitlab.get("revision") or ""),
            events=_strings(gitlab.get("events")),
        )
        if isinstance(gitlab, dict)
        else None,
    )


def _trigger(entry: dict[str, Any]) -> PipelineTrigger:
    inputs = tuple(
        TriggerInput(
            built_in_var=str((item.get("source") or {}).get("builtInVar") or ""),
            from_event=str((item.get("source") or {}).get("fromEvent") or ""),
            path=str(((item.get("transmissionMethod") or {}).get("kustomization") or {}).get("path") or ""),
        )
        for item in entry.get("inputs") or []
    )
    return PipelineTrigger(
        event_source=str(entry.get("eventSource") or ""),
        pipeline=str(entry.get("pipeline") or ""),
        revision=str(entry.get("revision") or ""),
        inputs=inputs,
    )
