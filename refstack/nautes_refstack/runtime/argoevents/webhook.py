"""The HTTP side of Argo Events' GitLab event sources (v1.7.1): one server for every webhook endpoint.

A real installation runs one event-source pod per EventSource, behind an Ingress per ``/UID``; here one
aiohttp server plays all of them. Routes come from the EventSource objects at request time
(``spec.gitlab.<event>.webhook.endpoint``). What a request meets is ``eventsources/sources/gitlab``:
the ``X-Gitlab-Token`` must equal the secret token (else 400 ``token mismatch``), the body must be JSON,
the event data is ``{"headers", "body", "metadata"}`` with Go-canonical header names, and the reply is
200 ``success`` before the sensors see the event (it travels over the EventBus). Unknown paths get the
router's ``404 page not found``; ``/health`` answers ``OK``. Under fault ``argo-events-crashloop`` no
event-source pod is ready, so the Ingress in front of them answers ingress-nginx's 503.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.kube import ObjectStore
from nautes_refstack.runtime.argoevents.sensor import Event
from nautes_refstack.runtime.kube_apply import secret_value

EVENT_SOURCE_API_VERSION = "argoproj.io/v1alpha1"
MAX_BODY_BYTES = 65536
# ingress-nginx's answer for a Service without ready endpoints.
NO_ENDPOINTS_HTML = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def canonical_header(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: ``x-gitlab-event`` → ``X-Gitlab-Event``."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


@dataclass(frozen=True)
class Route:
    event_source: str
    event_name: str
    secret_token: str | None


class WebhookReceiver:
    """Serves the GitLab webhook endpoints of the EventSources in ``namespace``; events go to ``deliver``."""

    def __init__(
        self,
        store: ObjectStore,
        namespace: str,
        deliver: Callable[[Event], object],
        faults: Faults = NO_FAULTS,
    ) -> None:
        self._store = store
        self._namespace = namespace
        self._deliver = deliver
        self._faults = faults

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/health", self._health)
        app.router.add_route("*", "/{path:.*}", self._handle)
        return app

    async def _health(self, _: web.Request) -> web.Response:
        return web.Response(text="OK")

    def _route(self, path: str) -> Route | None:
        """The gitlab entry serving ``path``; None also when its secret token Secret is missing (the
        event-source pod could not start)."""
        for source in self._store.list(EVENT_SOURCE_API_VERSION, "EventSource", namespace=self._namespace):
            for event_name, entry in ((source.get("spec") or {}).get("gitlab") or {}).items():
                if "/" + str((entry.get("webhook") or {}).get("endpoint") or "").lstrip("/") != path:
                    continue
                selector = entry.get("secretToken")
                token = secret_value(self._store, self._namespace, selector) if selector else None
                if selector and token is None:
                    return None
                return Route(source["metadata"]["name"], event_name, token)
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        # fault: every event-source pod crash-loops
        if self._faults.active("argo-events-crashloop", about=request.path):
            return web.Response(status=503, text=NO_ENDPOINTS_HTML, content_type="text/html")
        route = self._route(request.path)
        if route is None:
            return web.Response(status=404, text="404 page not found\n")
        if route.secret_token and request.headers.get("X-Gitlab-Token") != route.secret_token:
            return web.Response(status=400, text="token mismatch")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=400, text="http: request body too large")
        try:
            body = json.loads(raw)
        except ValueError:
            return web.Response(status=400, text="invalid event")
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(canonical_header(name), []).append(value)
        event = Event(
            route.event_source, route.event_name, {"headers": headers, "body": body, "metadata": None}
        )
        loop = asyncio.get_running_loop()
        loop.call_soon(self._deliver, event)
        # fault: the publish is retried after a lost ack (eventsources/eventing.go wraps the EventBus
        # publish in common.DoWithRetry), and the EventBus carries the event twice
        if self._faults.active("push-starts-two-runs", about=route.event_source):
            loop.call_soon(self._deliver, event)
        return web.Response(text="success")
