"""What an Argo Events GitLab event-source pod does to GitLab: register project hooks, and remove them.

On start each gitlab entry lists the project's hooks with the access token from its Secret, keeps a hook
whose URL is ``webhook.url + webhook.endpoint``, or creates one with the entry's events, the secret token
and ``enable_ssl_verification`` (v1.7.1 ``eventsources/sources/gitlab/start.go``). A daemon repeats this
every 60 s. When the pod stops (the EventSource changed or went away) hooks are deleted if
``deleteHookOnFinish`` is set. Here one manager watches every EventSource of the namespace and converges
the set of registered hooks on each change; GitLab is reached over its REST API as go-gitlab reaches it:
a 429 or 5xx answer is sent again, a POST too (:mod:`nautes_refstack.go_gitlab`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from nautes_refstack import go_gitlab
from nautes_refstack.kube import ObjectStore
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.runtime.kube_apply import secret_value
from nautes_refstack.supervision import log_survived_error

log = logging.getLogger(__name__)

EVENT_SOURCE_API_VERSION = "argoproj.io/v1alpha1"
RESYNC_SECONDS = 60.0
# go-gitlab AddProjectHookOptions that Argo Events sets to false unless the entry lists the event.
HOOK_EVENT_OPTIONS = {
    "ConfidentialNoteEvents": "confidential_note_events",
    "PushEvents": "push_events",
    "IssuesEvents": "issues_events",
    "ConfidentialIssuesEvents": "confidential_issues_events",
    "MergeRequestsEvents": "merge_requests_events",
    "TagPushEvents": "tag_push_events",
    "NoteEvents": "note_events",
    "JobEvents": "job_events",
    "PipelineEvents": "pipeline_events",
    "WikiPageEvents": "wiki_page_events",
}


@dataclass(frozen=True)
class HookSpec:
    """One hook a gitlab entry wants on one project, with the credentials its pod would hold."""

    api_url: str
    project: str
    options: tuple[tuple[str, Any], ...]
    access_token: str
    delete_on_finish: bool

    @property
    def url(self) -> str:
        return str(dict(self.options)["url"])

    @property
    def hooks_url(self) -> str:
        return f"{self.api_url}/projects/{quote(self.project, safe='')}/hooks"


@dataclass(frozen=True)
class Registration:
    spec: HookSpec
    hook_id: int


HookKey = tuple[str, str, str]  # (EventSource, event name, project)


class GitLabAnswerError(Exception):
    """GitLab's last answer to a hook call was not a success (go-gitlab ``CheckResponse``)."""


def api_url(gitlab_base_url: str) -> str:
    """go-gitlab ``WithBaseURL``: the API root is ``<base>/api/v4``."""
    base = gitlab_base_url.rstrip("/")
    return base if base.endswith("/api/v4") else f"{base}/api/v4"


class GitlabHookManager:
    """Keeps GitLab project hooks in line with the EventSources of one namespace."""

    def __init__(
        self,
        store: ObjectStore,
        namespace: str,
        http: aiohttp.ClientSession,
        running: Callable[[dict[str, Any]], bool] = lambda _: True,
        pace: Pace = INSTANT,
    ) -> None:
        """``running(event_source)``: whether its pod runs (only a running pod registers hooks); ``pace``
        makes go-gitlab's pauses between resends last as real pauses do on this stack."""
        self._store = store
        self._namespace = namespace
        self._http = http
        self._running = running
        self._pace = pace
        self._registered: dict[HookKey, Registration] = {}

    async def run(self) -> None:
        """Converge whenever a Deployment of the namespace changes, and every 60 s, until cancelled.

        It is the event-source pod that registers its hooks when it starts and removes them when it stops
        (Argo Events' gitlab event source): every start, roll or removal of an EventSource's pod shows on
        the Deployment the controller made for it, and a new or changed EventSource always rolls it."""
        stream = self._store.watch("apps/v1", "Deployment", namespace=self._namespace)
        try:
            while True:
                try:
                    await self.sync()
                except Exception:  # the event-source daemon keeps running, like Argo Events' hook manager
                    log_survived_error("gitlab hook sync failed; retrying on the next change")
                await stream.next_event(timeout=RESYNC_SECONDS)
        finally:
            stream.close()

    async def sync(self) -> None:
        """Stop the pods whose entry changed or went away, then (re)start every wanted one: as Argo's daemon,
        a start keeps the hook with the right URL or creates it again when someone deleted it."""
        desired = self._desired()
        for key, registration in list(self._registered.items()):
            if desired.get(key) != registration.spec:
                await self._finish(key, registration)
        for key, spec in desired.items():
            await self._start(key, spec)

    async def stop(self) -> None:
        """Stop every event source: remove the hooks that ask for it."""
        for key, registration in list(self._registered.items()):
            await self._finish(key, registration)

    def _desired(self) -> dict[HookKey, HookSpec]:
        desired: dict[HookKey, HookSpec] = {}
        for source in self._store.list(EVENT_SOURCE_API_VERSION, "EventSource", namespace=self._namespace):
            if not self._running(source):
                continue
            name = source["metadata"]["name"]
            for event_name, entry in ((source.get("spec") or {}).get("gitlab") or {}).items():
                for project in entry.get("projects") or []:
                    spec = self._spec(entry, str(project))
                    if spec is not None:
                        desired[(name, event_name, str(project))] = spec
        return desired

    def _spec(self, entry: dict[str, Any], project: str) -> HookSpec | None:
        """The hook options of a gitlab entry, or None when its pod could not start (missing Secret)."""
        webhook = entry.get("webhook") or {}
        selector = entry.get("accessToken")
        access_token = secret_value(self._store, self._namespace, selector) if selector else None
        if not webhook.get("url") or access_token is None:
            return None
        options: dict[str, Any] = {
            "url": f"{webhook['url']}/{str(webhook.get('endpoint') or '').lstrip('/')}",
            "enable_ssl_verification": bool(entry.get("enableSSLVerification")),
            **{option: False for option in HOOK_EVENT_OPTIONS.values()},
        }
        for event in entry.get("events") or []:
            if event not in HOOK_EVENT_OPTIONS:
                log.warning("gitlab event source: unknown event %s", event)
                return None
            options[HOOK_EVENT_OPTIONS[event]] = True
        if entry.get("secretToken"):
            secret_token = secret_value(self._store, self._namespace, entry["secretToken"])
            if secret_token is None:
                return None
            options["token"] = secret_token
        return HookSpec(
            api_url=api_url(str(entry.get("gitlabBaseURL") or "")),
            project=project,
            options=tuple(sorted(options.items())),
            access_token=access_token,
            delete_on_finish=bool(entry.get("deleteHookOnFinish")),
        )

    async def _start(self, key: HookKey, spec: HookSpec) -> None:
        hooks_url = spec.hooks_url
        try:
            listed = await self._call("GET", hooks_url, spec)
            existing = [hook for hook in json.loads(listed.body) if hook.get("url") == spec.url]
            if existing:
                self._registered[key] = Registration(spec, int(existing[0]["id"]))
                return
            created = json.loads((await self._call("POST", hooks_url, spec, dict(spec.options))).body)
        except (TimeoutError, aiohttp.ClientError, GitLabAnswerError) as error:
            log.error("failed to create gitlab webhook for project %s: %s", spec.project, error)
            return
        self._registered[key] = Registration(spec, int(created["id"]))
        log.info("gitlab hook %s created for project %s", created["id"], spec.project)

    async def _finish(self, key: HookKey, registration: Registration) -> None:
        del self._registered[key]
        spec = registration.spec
        if not spec.delete_on_finish:
            return
        url = f"{spec.hooks_url}/{registration.hook_id}"
        try:
            await self._call("DELETE", url, spec, gone_ok=True)
        except (TimeoutError, aiohttp.ClientError, GitLabAnswerError) as error:
            log.error("failed to delete hook %s of project %s: %s", registration.hook_id, spec.project, error)
            return
        log.info("gitlab hook %s deleted for project %s", registration.hook_id, spec.project)

    async def _call(
        self, method: str, url: str, spec: HookSpec, body: dict[str, Any] | None = None, gone_ok: bool = False
    ) -> go_gitlab.Answer:
        """One go-gitlab request with the entry's access token; :class:`GitLabAnswerError` unless its last
        answer is a success (or, with ``gone_ok``, a 404)."""
        headers = {"PRIVATE-TOKEN": spec.access_token}

        async def once() -> go_gitlab.Answer:
            async with self._http.request(method, url, json=body, headers=headers) as resp:
                return go_gitlab.Answer(resp.status, await resp.read())

        answer = await go_gitlab.send(once, self._pace, f"{method} {url}")
        if not (200 <= answer.status < 300 or (gone_ok and answer.status == 404)):
            raise GitLabAnswerError(f"{method} {url}: {answer.status} {answer.body.decode(errors='replace')}")
        return answer
