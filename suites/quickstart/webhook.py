"""The source repository's hook is the one the runtime's event source registered, and it listens to pushes.

The runtime operator gives the runtime's EventSource ``<consumer>-gitlab`` one gitlab entry per repository,
named ``repo-<id>`` (contract §4.3); its pod registers a project hook at ``webhook.url`` +
``webhook.endpoint`` with the entry's events (``PushEvents`` → ``push_events``), its
``enableSSLVerification`` and the entry's secret token, or keeps a hook that already has that URL, whatever
else it says (Argo Events v1.7.1 ``eventsources/sources/gitlab/start.go``: ``getHook`` matches the URL
only). So a hook can exist and still never bring a push to the Sensors; here that is said where the hook
is made, not when no run starts two stages later:

* a hook with the event source's URL exists on the source repository;
* it listens to push events (the entry asks for them), and verifies TLS as the entry says;
* the secret token the event source checks ``X-Gitlab-Token`` against exists (a Secret it names, with a
  non-empty key). Whether GitLab's hook holds that same token cannot be read back: GitLab never returns a
  hook's token, and GitLab 15.10 has no API to send a test delivery (added in 17.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nautes_e2e.suite import GitLabClient, KubeClient, Observation
from suites.quickstart.probes import ARGO_EVENTS, ARGO_EVENTS_NAMESPACE, CORE

#: Argo Events' event names for GitLab's hook flags (eventsources/sources/gitlab: go-gitlab option names).
PUSH_EVENTS = "PushEvents"


@dataclass(frozen=True)
class EventSourceEntry:
    """What the event source's gitlab entry for one repository asks of its hook."""

    event_source: str
    event_name: str
    url: str
    events: tuple[str, ...]
    ssl_verification: bool
    secret_token: dict[str, str] | None


def event_source_entry(kube: KubeClient, consumer: str, repo_id: int) -> EventSourceEntry | None:
    """The gitlab entry ``repo-<id>`` of EventSource ``<consumer>-gitlab``, or None if it has none."""
    name = f"{consumer}-gitlab"
    source = kube.get(ARGO_EVENTS, "EventSource", name, ARGO_EVENTS_NAMESPACE) or {}
    entry = ((source.get("spec") or {}).get("gitlab") or {}).get(f"repo-{repo_id}")
    if not isinstance(entry, dict):
        return None
    webhook = entry.get("webhook") or {}
    return EventSourceEntry(
        event_source=name,
        event_name=f"repo-{repo_id}",
        # common.FormattedURL: the URL without its trailing slash, then the endpoint (which starts with /).
        url=str(webhook.get("url", "")).rstrip("/") + str(webhook.get("endpoint", "")),
        events=tuple(str(event) for event in entry.get("events") or []),
        ssl_verification=bool(entry.get("enableSSLVerification")),
        secret_token=entry.get("secretToken"),
    )


def hook_registered(gitlab: GitLabClient, project: str, url: str) -> Observation:
    """Done once the project has a hook at ``url`` (the event-source pod registers it when it starts)."""
    urls = sorted(str(hook.get("url")) for hook in gitlab.project_hooks(project))
    if url in urls:
        return Observation(done=True, state=f"hook {url}")
    return Observation(done=False, state=f"no hook at {url} yet (hooks: {urls or 'none'})")


def hook_problems(gitlab: GitLabClient, kube: KubeClient, project: str, entry: EventSourceEntry) -> list[str]:
    """How the hook at the entry's URL differs from what the entry asks, and a secret token that is
    missing; empty when the hook is as the event source registers it."""
    hook = next((h for h in gitlab.project_hooks(project) if h.get("url") == entry.url), None)
    where = f"the hook of {project} to EventSource {entry.event_source} ({entry.event_name}, {entry.url})"
    if hook is None:
        return [f"{where} is gone"]
    problems = []
    if PUSH_EVENTS in entry.events and hook.get("push_events") is not True:
        problems.append(
            f"{where} exists but does not listen to push events (push_events={hook.get('push_events')}), "
            "though the event source asks for PushEvents: a push would never reach the Sensors"
        )
    if hook.get("enable_ssl_verification") is not entry.ssl_verification:
        problems.append(
            f"{where} has enable_ssl_verification={hook.get('enable_ssl_verification')}, the event source "
            f"asks for {entry.ssl_verification}"
        )
    token_problem = _secret_token_problem(kube, entry)
    if token_problem:
        problems.append(token_problem)
    return problems


def _secret_token_problem(kube: KubeClient, entry: EventSourceEntry) -> str | None:
    """The Secret key the event source checks ``X-Gitlab-Token`` against must exist and hold a token (the
    runtime operator's ``UID-repo-<id>-secret-token``, contract §4.3); its value is never read out."""
    selector = entry.secret_token
    if not selector:
        return f"EventSource {entry.event_source} ({entry.event_name}) names no secretToken"
    name, key = selector.get("name", ""), selector.get("key", "")
    secret: dict[str, Any] = kube.get(CORE, "Secret", name, ARGO_EVENTS_NAMESPACE) or {}
    if not secret:
        return f"the secret token Secret {name} of EventSource {entry.event_source} does not exist"
    if not (secret.get("data") or {}).get(key) and not (secret.get("stringData") or {}).get(key):
        return f"the secret token Secret {name} of EventSource {entry.event_source} has no {key}"
    return None
