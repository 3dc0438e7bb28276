"""The 32 routes of the API server and gorilla/mux's way of matching them (kratos v2.6.2 defaults).

kratos builds its router with ``StrictSlash(true)`` and hands unmatched requests (unknown path or wrong
method) to Go's ``http.DefaultServeMux``, which answers ``404 page not found``. mux also cleans the path
first (``//`` and ``..`` are redirected away) and, because of strict slashes, redirects ``/x/`` to ``/x``
with 301 when ``/x`` is a route for that method: that is how ``nautes get <kind>`` (which requests the
list URL with a trailing slash) reaches the list handlers (contract §1.3, §2.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

KINDS = (
    "product",
    "project",
    "environment",
    "cluster",
    "coderepo",
    "coderepobinding",
    "deploymentruntime",
    "projectpipelineruntime",
)


@dataclass(frozen=True)
class Route:
    """One registered route: ``operation`` is ``(kind, verb)`` with verb in get/list/save/delete."""

    method: str
    template: str
    kind: str
    verb: str
    pattern: re.Pattern[str] = field(compare=False)
    variables: tuple[str, ...] = field(compare=False)


def _route(method: str, template: str, kind: str, verb: str) -> Route:
    variables = tuple(re.findall(r"{([^}]+)}", template))
    regex = re.sub(r"{[^}]+}", "([^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
    return Route(method, template, kind, verb, re.compile(f"^{regex}(/?)$"), variables)


def _crud(kind: str, collection: str, item: str) -> list[Route]:
    """The registration order of one generated ``Register<Kind>HTTPServer``: get, list, save, delete."""
    return [
        _route("GET", f"{collection}/{item}", kind, "get"),
        _route("GET", collection, kind, "list"),
        _route("POST", f"{collection}/{item}", kind, "save"),
        _route("DELETE", f"{collection}/{item}", kind, "delete"),
    ]


_PRODUCT_SCOPED = "/api/v1/products/{product_name}"
ROUTES: tuple[Route, ...] = tuple(
    _crud("product", "/api/v1/products", "{product_name}")
    + _crud("project", f"{_PRODUCT_SCOPED}/projects", "{project_name}")
    + _crud("environment", f"{_PRODUCT_SCOPED}/environments", "{environmentName}")
    + _crud("cluster", "/api/v1/clusters", "{cluster_name}")
    + _crud("coderepo", f"{_PRODUCT_SCOPED}/coderepos", "{coderepoName}")
    + _crud("coderepobinding", f"{_PRODUCT_SCOPED}/coderepobindings", "{coderepo_binding_name}")
    + _crud(
        "deploymentruntime", "/api/v1/products/{productName}/deploymentruntimes", "{deploymentruntimeName}"
    )
    + _crud(
        "projectpipelineruntime",
        f"{_PRODUCT_SCOPED}/projectpipelineruntimes",
        "{project_pipeline_runtime_name}",
    )
)


@dataclass(frozen=True)
class Matched:
    route: Route
    variables: dict[str, str]


@dataclass(frozen=True)
class Redirect:
    """A 301 answer: ``location`` is what mux puts in the ``Location`` header."""

    location: str
    with_body: bool


NOT_FOUND_TEXT = "404 page not found\n"


def resolve(method: str, path: str, raw_query: str) -> Matched | Redirect | None:
    """Match a request like kratos' router; ``None`` means Go's ``404 page not found``."""
    cleaned = clean_path(path)
    if cleaned != path:
        return Redirect(_with_query(quote(cleaned, safe="/:@!$&'()*+,;=-._~"), raw_query), with_body=False)
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is None or route.method != method:
            continue
        values = found.groups()
        if values[-1]:
            return Redirect(_with_query(path[:-1], raw_query), with_body=method in ("GET", "HEAD"))
        return Matched(route, dict(zip(route.variables, values[:-1], strict=True)))
    return None


def _with_query(path: str, raw_query: str) -> str:
    return f"{path}?{raw_query}" if raw_query else path


def clean_path(path: str) -> str:
    """gorilla/mux ``cleanPath``: Go's ``path.Clean`` that keeps a trailing slash."""
    if not path:
        return "/"
    if not path.startswith("/"):
        path = "/" + path
    cleaned = _go_path_clean(path)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def _go_path_clean(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)
