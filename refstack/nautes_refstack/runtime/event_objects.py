"""The Argo Events objects the runtime operator writes for one ProjectPipelineRuntime (contract §4.3).

Names, labels, annotations and spec shapes follow NAUTES ``internal/data/eventlistener/argoevent``
(``build_name.go``, ``eventsource_gitlab.go``, ``sensor.go``). Only GitLab event sources exist in the
quickstart; calendar sources are not emulated.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nautes_refstack.runtime import lua
from nautes_refstack.runtime.hooks_pipeline import EventParameter

ARGO_API_VERSION = "argoproj.io/v1alpha1"
EVENT_SOURCE_PORT = 12000
LABEL_CONSUMER = "nautes.argoevents.consumer"
ANNOTATION_CODE_REPOS = "code-repos"
SENSOR_SERVICE_ACCOUNT = "argo-events-sa"
CA_CONFIGMAP = "ca-certificates"
TOKEN_KEY = "token"

# CodeRepo webhook events → go-gitlab hook option names (argoevent/event_mapping.go).
ARGO_EVENT_BY_WEBHOOK_EVENT = {
    "confidential_issues_events": "ConfidentialIssuesEvents",
    "issues_events": "IssuesEvents",
    "job_events": "JobEvents",
    "merge_requests_events": "MergeRequestsEvents",
    "note_events": "NoteEvents",
    "pipeline_events": "PipelineEvents",
    "push_events": "PushEvents",
    "tag_push_events": "TagPushEvents",
}
# PPR event source events → the ``X-Gitlab-Event`` header GitLab sends (task/pipelineRuntime.go).
GITLAB_HEADER_BY_WEBHOOK_EVENT = {
    "deployment_events": "Deployment Hook",
    "issues_events": "Issue Hook",
    "job_events": "Job Hook",
    "merge_requests_events": "Merge Request Hook",
    "note_events": "Note Hook",
    "pipeline_events": "Pipeline Hook",
    "push_events": "Push Hook",
    "releases_events": "Release Hook",
    "tag_push_events": "Tag Push Hook",
}


class EventObjectError(ValueError):
    """The runtime asks for an event Nautes cannot map (the operator reports it and deploys nothing)."""


def unique_id(product_id: str, runtime: str) -> str:
    """``UID`` = ``P-R``: the index of a runtime's event source collection."""
    return f"{product_id}-{runtime}"


def event_source_name(uid: str) -> str:
    return f"{uid}-gitlab"


def access_token_secret(uid: str, repo: str) -> str:
    return f"{uid}-{repo}-access-token"


def secret_token_secret(uid: str, repo: str) -> str:
    return f"{uid}-{repo}-secret-token"


def dependency_name(uid: str, repo: str) -> str:
    return f"{uid}-{repo}-gitlab"


def sensor_name(product_id: str, runtime: str, index: int) -> str:
    return f"{product_id}-{runtime}-{index}"


def webhook_endpoint(uid: str, repo: str) -> str:
    return f"/{uid}/{repo}"


@dataclass(frozen=True)
class GitlabHookSource:
    """A GitLab repo an event source listens to: CR name ``repo-<id>``, hook events, API base URL."""

    repo: str
    project_id: str
    webhook_events: tuple[str, ...]
    gitlab_base_url: str


def event_source(
    uid: str, namespace: str, webhook_url: str, sources: Sequence[GitlabHookSource]
) -> dict[str, Any]:
    """The ``UID-gitlab`` EventSource: one gitlab entry per distinct repo, named after the repo."""
    gitlab: dict[str, Any] = {}
    for source in sources:
        try:
            events = [ARGO_EVENT_BY_WEBHOOK_EVENT[event] for event in source.webhook_events]
        except KeyError as error:
            raise EventObjectError(f"event {error.args[0]} is unsupported") from None
        gitlab[source.repo] = {
            "webhook": {
                "endpoint": webhook_endpoint(uid, source.repo),
                "method": "POST",
                "port": str(EVENT_SOURCE_PORT),
                "url": webhook_url,
            },
            "events": events,
            "accessToken": {"name": access_token_secret(uid, source.repo), "key": TOKEN_KEY},
            "enableSSLVerification": False,
            "gitlabBaseURL": source.gitlab_base_url,
            "deleteHookOnFinish": True,
            "projects": [source.project_id],
            "secretToken": {"name": secret_token_secret(uid, source.repo), "key": TOKEN_KEY},
        }
    return {
        "apiVersion": ARGO_API_VERSION,
        "kind": "EventSource",
        "metadata": {
            "name": event_source_name(uid),
            "namespace": namespace,
            "annotations": {ANNOTATION_CODE_REPOS: ",".join(source.repo for source in sources)},
        },
        "spec": {
            "template": {
                "container": {"volumeMounts": [{"name": "certs-volume", "mountPath": "/etc/ssl/certs"}]},
                "volumes": [{"name": "certs-volume", "configMap": {"name": CA_CONFIGMAP}}],
            },
            "service": {"ports": [{"port": EVENT_SOURCE_PORT, "targetPort": EVENT_SOURCE_PORT}]},
            "gitlab": gitlab,
        },
    }


def ingress(uid: str, namespace: str, host: str) -> dict[str, Any]:
    """The entry point for the event source: ``UID-gitlab``, path ``/UID`` → the event source service."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": event_source_name(uid), "namespace": namespace},
        "spec": {
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": f"/{uid}",
                                "pathType": "ImplementationSpecific",
                                "backend": {
                                    "service": {
                                        "name": f"{uid}-gitlab-eventsource-svc",
                                        "port": {"number": EVENT_SOURCE_PORT},
                                    }
                                },
                            }
                        ]
                    },
                }
            ]
        },
    }


def token_secret(name: str, namespace: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "data": {TOKEN_KEY: base64.b64encode(token.encode()).decode("ascii")},
    }


@dataclass(frozen=True)
class Consumer:
    """One trigger of a runtime: the repo whose events it waits for, its filters and what it creates."""

    repo: str
    events: tuple[str, ...]
    revision: str
    resource: dict[str, Any]
    parameters: tuple[EventParameter, ...]


def sensor(
    product_id: str, runtime: str, index: int, uid: str, namespace: str, consumer: Consumer
) -> dict[str, Any]:
    """Sensor ``P-R-<index>``: a dependency on ``UID-gitlab``/``repo-<id>`` and a k8s ``create`` trigger."""
    dependency = dependency_name(uid, consumer.repo)
    try:
        headers = [GITLAB_HEADER_BY_WEBHOOK_EVENT[event] for event in consumer.events]
    except KeyError as error:
        raise EventObjectError(f"un support event type {error.args[0]}") from None
    filters: dict[str, Any] = {
        "data": [{"path": "headers.X-Gitlab-Event", "type": "string", "value": headers, "comparator": "="}]
    }
    if consumer.revision:
        filters["script"] = lua.render_match_script([lua.MatchRule("event.body.ref", (consumer.revision,))])
    return {
        "apiVersion": ARGO_API_VERSION,
        "kind": "Sensor",
        "metadata": {
            "name": sensor_name(product_id, runtime, index),
            "namespace": namespace,
            "labels": {LABEL_CONSUMER: unique_id(product_id, runtime)},
        },
        "spec": {
            "template": {"serviceAccountName": SENSOR_SERVICE_ACCOUNT},
            "dependencies": [
                {
                    "name": dependency,
                    "eventSourceName": event_source_name(uid),
                    "eventName": consumer.repo,
                    "filters": filters,
                    "transform": {"script": lua.TRANSFORM_SCRIPT},
                }
            ],
            "triggers": [
                {
                    "template": {
                        "name": dependency,
                        "conditions": dependency,
                        "k8s": {
                            "source": {"resource": consumer.resource},
                            "operation": "create",
                            "parameters": [
                                {"src": {"dependencyName": dependency, "dataKey": p.data_key}, "dest": p.dest}
                                for p in consumer.parameters
                            ],
                        },
                    }
                }
            ],
        },
    }
