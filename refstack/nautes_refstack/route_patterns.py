"""Route patterns: which emulation an application is, and the pattern of the route a request took.

A route is named by its pattern (``GET /api/v4/projects/{id}``), never by the concrete path, which carries
names, ids and tokens. Most emulations route with aiohttp, whose matched resource already has that
pattern. Three route with one catch-all and parse the rest themselves, the way their real servers do:
the Nautes API (gorilla/mux, :mod:`.nautes.routing`), the registry (repository names contain slashes) and
the Kubernetes API (``[namespaces/{namespace}/]{resource}[/{name}[/{subresource}]]`` below a group
version). For them the pattern is the one their own router resolves, so the route log and the route list
(:mod:`.routes`) name the same routes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from aiohttp import web

from nautes_refstack.nautes import routing as nautes_routing
from nautes_refstack.registry.content import NAME_PATTERN

# The package a handler lives in names its emulation (longest prefix first).
_EMULATIONS = (
    ("nautes_refstack.runtime.argoevents", "argo-events"),
    ("nautes_refstack.gitlab", "gitlab"),
    ("nautes_refstack.kube", "kubernetes"),
    ("nautes_refstack.nautes", "nautes-api"),
    ("nautes_refstack.registry", "registry"),
)
#: The pattern of a request no route (or no route for its method) matched.
NO_ROUTE = "(no route)"

# The registry's routes below /v2/ (distribution's spec, "Endpoints"), by the names registry.server gives
# them, matched in its order.
REGISTRY_ROUTES = {
    "uploads": ("/v2/{name}/blobs/uploads/", re.compile(rf"^{NAME_PATTERN}/blobs/uploads/?$")),
    "upload": ("/v2/{name}/blobs/uploads/{uuid}", re.compile(rf"^{NAME_PATTERN}/blobs/uploads/[^/]+$")),
    "blob": ("/v2/{name}/blobs/{digest}", re.compile(rf"^{NAME_PATTERN}/blobs/[^/]+$")),
    "manifest": ("/v2/{name}/manifests/{reference}", re.compile(rf"^{NAME_PATTERN}/manifests/[^/]+$")),
    "tags": ("/v2/{name}/tags/list", re.compile(rf"^{NAME_PATTERN}/tags/list$")),
}
# Subresources of the Namespace object itself, which "namespaces/{namespace}/{resource}" would swallow.
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


def emulation_of(app: web.Application) -> str:
    """The emulation ``app`` belongs to, by the package of its first route's handler."""
    for route in app.router.routes():
        module = getattr(route.handler, "__module__", "") or ""
        for prefix, name in _EMULATIONS:
            if module == prefix or module.startswith(prefix + "."):
                return name
        return module.rsplit(".", 1)[-1] or "unknown"
    return "unknown"


def request_pattern(server: str, request: web.Request) -> str:
    """The pattern of the route ``request`` took on ``server``: its router's, refined by the emulation's
    own routing below a catch-all; :data:`NO_ROUTE` when nothing matched."""
    resource = request.match_info.route.resource
    if resource is None:
        return NO_ROUTE
    return below_catch_all(server, request.method, request.match_info) or resource.canonical


def below_catch_all(server: str, method: str, match: Mapping[str, str]) -> str | None:
    """The pattern ``server``'s own router resolves below its catch-all route, given the catch-all's
    variables (``match``); None for a route of the aiohttp router itself."""
    refine = _REFINERS.get(server)
    return refine(method, match) if refine else None


def _nautes_pattern(method: str, match: Mapping[str, str]) -> str | None:
    tail = match.get("tail")
    if tail is None:
        return None
    path = "/" + tail
    for route in nautes_routing.ROUTES:
        if route.method == method and route.pattern.match(path):
            return route.template
    return NO_ROUTE


def _registry_pattern(method: str, match: Mapping[str, str]) -> str | None:
    tail = match.get("tail")
    if tail is None:
        return None
    if tail in ("", "_catalog"):
        return "/v2/" + tail
    routes = REGISTRY_ROUTES.values()
    return next((template for template, pattern in routes if pattern.match(tail)), NO_ROUTE)


def _kube_pattern(method: str, match: Mapping[str, str]) -> str | None:
    tail = match.get("tail")
    if tail is None:
        return None
    prefix = "/api/v1" if "group" not in match else f"/apis/{match['group']}/{match['version']}"
    return kube_resource_pattern(prefix, [part for part in tail.split("/") if part])


def kube_resource_pattern(prefix: str, parts: list[str]) -> str:
    """``{prefix}[/namespaces/{namespace}]/{resource}[/{name}[/{subresource}]]`` with the resource and
    subresource as requested (types, not names) and the rest as placeholders."""
    scope = ""
    namespaced = len(parts) >= 3 and parts[0] == "namespaces"
    if namespaced and not (len(parts) == 3 and parts[2] in _NAMESPACE_SUBRESOURCES):
        scope, parts = "/namespaces/{namespace}", parts[2:]
    if not 1 <= len(parts) <= 3:
        return NO_ROUTE
    pattern = f"{prefix}{scope}/{parts[0]}"
    if len(parts) > 1:
        pattern += "/{name}"
    if len(parts) > 2:
        pattern += "/" + parts[2]
    return pattern


_REFINERS: dict[str, Callable[[str, Mapping[str, str]], str | None]] = {
    "nautes-api": _nautes_pattern,
    "registry": _registry_pattern,
    "kubernetes": _kube_pattern,
}
