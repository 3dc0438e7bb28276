"""``nautes-refstack routes [--json]``: every route the stack's emulations serve, with the handler that
answers it and the source that handler follows.

The routes are read from a stack started for the purpose (in a temporary directory, stopped at once): every
application :func:`.http.serve` starts is collected, so a route an emulation adds is listed without anyone
updating a list. Below a catch-all route (Nautes API, registry, Kubernetes resources) the routes are those
the emulation's own router resolves, named as the route log names them (:mod:`.route_patterns`). The
source is what the handler's docstring and comments cite (a contract section, an upstream file, a
documentation URL); where the handler cites nothing its module's docstring is looked at, and where that
cites nothing either the list says so: a finding about the emulation, not a gap in the list.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from nautes_refstack import route_patterns
from nautes_refstack.http import collecting_served_apps
from nautes_refstack.kube.resource_type import SUBRESOURCE_VERBS, ResourceType
from nautes_refstack.nautes import routing as nautes_routing
from nautes_refstack.nautes.server import _HANDLER_NAMES, _KIND_MODULES
from nautes_refstack.stack import ReferenceStack

NO_SOURCE = "no source cited"
# What counts as a citation: a contract section, an upstream source or documentation file, a public URL.
_SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)")
_FILE = re.compile(r"(?<![\w/.-])(?:[\w.-]+/)+[\w.-]+\.(?:go|rb|proto|md)\b")
_URL = re.compile(r"https?://[^\s)>\"'`,]+")
_LOCAL_URL = re.compile(r"https?://(?:127\.|localhost|HOST|\w+:\d|[A-Z_]+[/:])")
# How the Kubernetes API dispatches a verb (kube.api.KubeApi), and which HTTP method carries it.
_KUBE_VERB_HANDLERS = {
    "get": "_get",
    "list": "_list",
    "watch": "_watch",
    "create": "_create",
    "update": "_update",
    "patch": "_patch",
    "delete": "_delete",
    "deletecollection": "_delete_collection",
}
_KUBE_COLLECTION_METHODS = (
    ("GET", ("list", "watch")),
    ("POST", ("create",)),
    ("DELETE", ("deletecollection",)),
)
_KUBE_OBJECT_METHODS = (
    ("GET", ("get",)),
    ("PUT", ("update",)),
    ("PATCH", ("patch",)),
    ("DELETE", ("delete",)),
)


@dataclass(frozen=True, order=True)
class ServedRoute:
    """One route: ``pattern`` as the route log names it, ``handler`` a qualified name, ``sources`` what
    the handler (or, marked ``module:``, its module) cites."""

    server: str
    pattern: str
    method: str
    handler: str
    sources: tuple[str, ...]


def citations(text: str) -> tuple[str, ...]:
    """The sources ``text`` cites, in order of appearance, each once."""
    found: list[tuple[int, str]] = []
    found += [(m.start(), f"contract §{m.group(1)}") for m in _SECTION.finditer(text)]
    found += [(m.start(), m.group(0)) for m in _FILE.finditer(text)]
    found += [(m.start(), m.group(0).rstrip(".")) for m in _URL.finditer(text) if not _LOCAL_URL.match(m[0])]
    return tuple(dict.fromkeys(source for _, source in sorted(found)))


def sources_of(handler: Callable[..., Any]) -> tuple[str, ...]:
    """What ``handler``'s own source (docstring and comments) cites, else its module's docstring."""
    function = inspect.unwrap(getattr(handler, "__func__", handler))
    try:
        own = citations(inspect.getsource(function))
    except (OSError, TypeError):
        own = ()
    if own:
        return own
    module = inspect.getmodule(function)
    return tuple(f"module: {source}" for source in citations(inspect.getdoc(module) or "")) or (NO_SOURCE,)


def qualified_name(handler: Callable[..., Any]) -> str:
    function = getattr(handler, "__func__", handler)
    return f"{function.__module__}.{function.__qualname__}"


def routes_of(server: str, app: web.Application) -> list[ServedRoute]:
    """Every route of ``app``: its router's, with each catch-all replaced by the routes below it."""
    found: list[ServedRoute] = []
    for route in app.router.routes():
        below = _BELOW_CATCH_ALL.get(server)
        expanded = below(route) if below is not None else None
        if expanded is not None:
            found += expanded
            continue
        if route.resource is not None:
            found.append(_served(server, route.method, route.resource.canonical, route.handler))
    return found


def _served(server: str, method: str, pattern: str, handler: Callable[..., Any]) -> ServedRoute:
    return ServedRoute(server, pattern, method, qualified_name(handler), sources_of(handler))


def _nautes_routes(route: web.AbstractRoute) -> list[ServedRoute] | None:
    if route.resource is None or route.resource.canonical != "/{tail}":
        return None
    found = []
    for matched in nautes_routing.ROUTES:
        module = _KIND_MODULES[matched.kind][0]
        handler = getattr(module, _HANDLER_NAMES[matched.verb])
        found.append(_served("nautes-api", matched.method, matched.template, handler))
    return found


def _registry_routes(route: web.AbstractRoute) -> list[ServedRoute] | None:
    owner = getattr(route.handler, "__self__", None)
    if owner is None or route.resource is None or route.resource.canonical != "/v2/{tail}":
        return None
    # The registry answers /v2/ (the version check) and /v2/_catalog in its dispatcher itself.
    found = [_served("registry", "GET", "/v2/", route.handler)]
    found.append(_served("registry", "GET", "/v2/_catalog", owner._catalog))
    for (name, method), handler in owner._handlers.items():
        found.append(_served("registry", method, route_patterns.REGISTRY_ROUTES[name][0], handler))
    return found


def _kube_routes(route: web.AbstractRoute) -> list[ServedRoute] | None:
    owner = getattr(route.handler, "__self__", None)
    if owner is None or route.resource is None or not route.resource.canonical.endswith("{tail}"):
        return None
    core = route.resource.canonical.startswith("/api/v1/")
    found = []
    for rt in owner._store.resource_types():
        if (rt.group == "") == core:
            # A verb handler of another name is still answered by the catch-all: listed under it.
            found += [
                _served("kubernetes", method, pattern, getattr(owner, handler, route.handler))
                for method, pattern, handler in _kube_methods(rt)
            ]
    return found


def _kube_methods(rt: ResourceType) -> Iterable[tuple[str, str, str]]:
    """(method, pattern, KubeApi handler) of every verb ``rt`` allows, on each path it is served at."""
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    collection, item = f"{prefix}{scope}/{rt.plural}", f"{prefix}{scope}/{rt.plural}/{{name}}"
    for method, verbs in _KUBE_COLLECTION_METHODS:
        for verb in (v for v in verbs if v in rt.verbs):
            yield method, collection, _KUBE_VERB_HANDLERS[verb]
            if rt.namespaced and method == "GET":  # across namespaces: list and watch only
                yield method, f"{prefix}/{rt.plural}", _KUBE_VERB_HANDLERS[verb]
    for method, verbs in _KUBE_OBJECT_METHODS:
        for verb in (v for v in verbs if v in rt.verbs):
            yield method, item, _KUBE_VERB_HANDLERS[verb]
    for subresource in rt.subresources:
        for method, verbs in (*_KUBE_OBJECT_METHODS[:3], ("POST", ("create",))):
            for verb in (v for v in verbs if v in SUBRESOURCE_VERBS.get(subresource, ())):
                yield method, f"{item}/{subresource}", _KUBE_VERB_HANDLERS[verb]


_BELOW_CATCH_ALL: dict[str, Callable[[web.AbstractRoute], list[ServedRoute] | None]] = {
    "nautes-api": _nautes_routes,
    "registry": _registry_routes,
    "kubernetes": _kube_routes,
}


async def served_routes() -> list[ServedRoute]:
    """Start a stack in a temporary directory, collect the routes of everything it serves, stop it."""
    with tempfile.TemporaryDirectory(prefix="nautes-refstack-routes-") as directory:
        stack = ReferenceStack(Path(directory))
        with collecting_served_apps() as served:
            try:
                await stack.start()
            finally:
                await stack.stop()
    return merged(route for server, app in served for route in routes_of(server, app))


def merged(routes: Iterable[ServedRoute]) -> list[ServedRoute]:
    """One entry per route, sorted: the same route served by several servers (one per cluster) is one,
    and a route whose answer depends on the query (a Kubernetes list or watch) names both handlers."""
    by_route: dict[tuple[str, str, str], list[ServedRoute]] = {}
    for route in routes:
        by_route.setdefault((route.server, route.pattern, route.method), []).append(route)
    return [
        ServedRoute(
            *key,
            " | ".join(dict.fromkeys(route.handler for route in same)),
            _merged_sources(same),
        )
        for key, same in sorted(by_route.items())
    ]


def _merged_sources(routes: list[ServedRoute]) -> tuple[str, ...]:
    sources = dict.fromkeys(source for route in routes for source in route.sources if source != NO_SOURCE)
    return tuple(sources) or (NO_SOURCE,)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nautes-e2e refstack routes",
        description="list every route the reference stack serves: emulation, method, pattern, handler, "
        "the source it follows",
    )
    parser.add_argument("--json", action="store_true", help="one JSON array of objects instead of lines")
    args = parser.parse_args(argv)
    routes = asyncio.run(served_routes())
    if args.json:
        json.dump([asdict(route) for route in routes], sys.stdout, indent=1)
        print()
    else:
        for route in routes:
            print(
                "\t".join(
                    (route.server, route.method, route.pattern, route.handler, "; ".join(route.sources))
                )
            )
    return 0
