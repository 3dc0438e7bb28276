"""GitLab whose application server is restarting: Workhorse answers 502 (fault ``gitlab-502-first-request``).

GitLab's Workhorse fronts the REST API; when Puma does not answer (a restart, a worker being replaced) the
round trip fails and Workhorse injects a 502 whose body is ``GitLab is not responding``, ``Content-Type:
text/plain`` (gitlab-workhorse ``internal/badgateway/roundtripper.go``, production mode; its test
``TestErrorPage502``). Under the fault the first request of every REST API path (its method and path; the
query does not count) gets that answer, and every later one is served: a client that sends it again passes.

Left alone, so that the fault stands for what the issue promises about API requests:

- git smart HTTP (``*.git/info/refs``, ``git-upload-pack``, ``git-receive-pack``) and SSH: the git clients
  of Nautes (its API server clones and pushes the product and tenant repositories), of the pipeline's tasks
  and of the harness do not resend a request GitLab answered 502, so a restart during a clone fails it, on a
  real installation as here; that is an outage of git, not a transient API answer;
- the internal API (``/api/v4/internal/...``): gitlab-shell and the repository hooks call it in the middle
  of a ``git push``, so it belongs to git's path, not to an API client's.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.errors import API_PREFIX

#: Workhorse's injected answer (gitlab-workhorse internal/badgateway/roundtripper.go).
NOT_RESPONDING = b"GitLab is not responding"
_INTERNAL_API = f"{API_PREFIX}/internal/"


def bad_gateway_on_first_request() -> Middleware:
    """A middleware answering Workhorse's 502 to the first request of each REST API method and path while
    the fault acts (armed for one run: on the paths that carry the run's names)."""
    answered: set[tuple[str, str]] = set()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        first = (request.method, path)
        if (
            path.startswith(f"{API_PREFIX}/")
            and not path.startswith(_INTERNAL_API)
            and first not in answered
            and context(request).faults.active("gitlab-502-first-request", about=path)
        ):
            answered.add(first)
            # Workhorse sets only Content-Type on the response it injects (no charset).
            return web.Response(status=502, body=NOT_RESPONDING, headers={"Content-Type": "text/plain"})
        return await handler(request)

    return middleware
