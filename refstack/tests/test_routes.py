"""The route log (what each answer's route was, by pattern) and ``nautes-refstack routes`` (every route the
emulations serve, with handler and source): they must name the same routes, and the log never a concrete
path's names, ids or tokens."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from nautes_refstack.http import ROUTE_LOG_ENV
from nautes_refstack.kube import KubeApiServer, ObjectStore
from nautes_refstack.nautes import NautesApiServer
from nautes_refstack.registry import Registry
from nautes_refstack.route_patterns import NO_ROUTE, below_catch_all
from nautes_refstack.routes import NO_SOURCE, ServedRoute, citations, merged, served_routes
from support.loop import BackgroundLoop

ADMIN_TOKEN = "admin-token-not-for-logs"
REGISTRY_AUTH = ("pusher", "registry-password-not-for-logs")
#: Stands in for every name, id and token a concrete path carries.
NAME = "secret-looking-name"


def log_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def route_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "routes.jsonl"
    monkeypatch.setenv(ROUTE_LOG_ENV, str(log))
    return log


@pytest.fixture
def loop() -> Iterator[BackgroundLoop]:
    with BackgroundLoop("route-tests", timeout=20) as running:
        yield running


def test_kubernetes_answers_are_logged_by_resource_pattern(route_log: Path, loop: BackgroundLoop) -> None:
    server = KubeApiServer(ObjectStore(), ADMIN_TOKEN)
    loop.run(server.start())
    try:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for path in (
            "/version",
            f"/api/v1/namespaces/{NAME}/configmaps",
            f"/api/v1/namespaces/default/pods/{NAME}/log",
            f"/api/v1/namespaces/{NAME}",
            f"/apis/tekton.dev/v1beta1/namespaces/default/pipelineruns/{NAME}",
        ):
            requests.get(server.url + path, headers=headers, timeout=5)
        requests.get(server.url + "/nowhere", timeout=5)
    finally:
        loop.run(server.stop())
    text = route_log.read_text()
    assert NAME not in text
    assert ADMIN_TOKEN not in text
    assert [(line["method"], line["route"], line["status"]) for line in log_lines(route_log)] == [
        ("GET", "/version", 200),
        ("GET", "/api/v1/namespaces/{namespace}/configmaps", 200),
        ("GET", "/api/v1/namespaces/{namespace}/pods/{name}/log", 404),
        ("GET", "/api/v1/namespaces/{name}", 404),
        ("GET", "/apis/tekton.dev/v1beta1/namespaces/{namespace}/pipelineruns/{name}", 404),
        ("GET", NO_ROUTE, 401),
    ]
    assert {line["server"] for line in log_lines(route_log)} == {"kubernetes"}


def test_registry_and_nautes_answers_are_logged_by_their_own_routers_patterns(
    route_log: Path, loop: BackgroundLoop
) -> None:
    registry = Registry(*REGISTRY_AUTH)
    nautes = NautesApiServer("http://127.0.0.1:9", "http://127.0.0.1:9", "vault-token")
    loop.run(registry.start())
    loop.run(nautes.start())
    try:
        requests.get(f"{registry.url}/v2/", timeout=5)
        requests.head(f"{registry.url}/v2/team/{NAME}/manifests/v1", auth=REGISTRY_AUTH, timeout=5)
        requests.delete(f"{nautes.url}/api/v1/products/{NAME}/environments", timeout=5)
        requests.get(f"{nautes.url}/api/v1/products/{NAME}/", allow_redirects=False, timeout=5)
    finally:
        loop.run(nautes.stop())
        loop.run(registry.stop())
    assert NAME not in route_log.read_text()
    assert [
        (line["server"], line["method"], line["route"], line["status"]) for line in log_lines(route_log)
    ] == [
        ("registry", "GET", "/v2/", 401),
        ("registry", "HEAD", "/v2/{name}/manifests/{reference}", 404),
        ("nautes-api", "DELETE", NO_ROUTE, 404),
        ("nautes-api", "GET", "/api/v1/products/{product_name}", 301),
    ]


def test_without_the_variable_nothing_is_logged_or_hooked(tmp_path: Path, loop: BackgroundLoop) -> None:
    server = Registry(*REGISTRY_AUTH)
    loop.run(server.start())
    try:
        assert requests.get(f"{server.url}/v2/", auth=REGISTRY_AUTH, timeout=5).status_code == 200
        assert not server._running.runner.app.on_response_prepare
    finally:
        loop.run(server.stop())
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def listed() -> list[ServedRoute]:
    return asyncio.run(served_routes())


def test_the_list_names_every_emulations_routes_as_the_log_does(listed: list[ServedRoute]) -> None:
    keys = {(route.server, route.method, route.pattern) for route in listed}
    assert {
        ("gitlab", "GET", "/api/v4/projects/{id}"),
        ("gitlab", "POST", "/{repo}/git-receive-pack"),
        ("nautes-api", "POST", "/api/v1/products/{product_name}"),
        ("registry", "HEAD", "/v2/{name}/manifests/{reference}"),
        ("kubernetes", "GET", "/api/v1/namespaces/{namespace}/configmaps"),
        ("kubernetes", "GET", "/api/v1/namespaces/{namespace}/pods/{name}/log"),
        ("kubernetes", "GET", "/api/v1/namespaces/{name}"),
        ("kubernetes", "PATCH", "/apis/tekton.dev/v1beta1/namespaces/{namespace}/pipelineruns/{name}/status"),
        ("argo-events", "*", "/{path}"),
    } <= keys
    assert len(keys) == len(listed)  # one entry per route, whatever number of clusters serve it
    assert not [route for route in listed if "{tail}" in route.pattern]  # catch-alls are expanded
    nautes_save = next(
        r for r in listed if r.pattern == "/api/v1/clusters/{cluster_name}" and r.method == "POST"
    )
    assert nautes_save.handler == "nautes_refstack.nautes.kinds.cluster.save"
    assert all(route.sources for route in listed)


def catch_all_variables(server: str, pattern: str) -> dict[str, str]:
    """What a request on ``pattern`` (placeholders filled in) gives ``server``'s catch-all route."""
    path = re.sub(r"{[^}]+}", NAME, pattern)
    if server == "kubernetes" and path.startswith("/apis/"):
        group, version, tail = path.removeprefix("/apis/").split("/", 2)
        return {"group": group, "version": version, "tail": tail}
    prefix = {"kubernetes": "/api/v1/", "registry": "/v2/", "nautes-api": "/"}[server]
    return {"tail": path.removeprefix(prefix)}


def below_a_catch_all(route: ServedRoute) -> bool:
    if route.server == "kubernetes":  # the rest (discovery, /version, /openapi/v2) are aiohttp routes
        return route.pattern.startswith("/api/v1/") or route.pattern.count("/") >= 4
    return route.server in ("nautes-api", "registry")


def test_every_route_listed_below_a_catch_all_is_what_the_log_names_its_requests(
    listed: list[ServedRoute],
) -> None:
    below = [route for route in listed if below_a_catch_all(route)]
    assert len(below) > 400

    logged = {r: below_catch_all(r.server, r.method, catch_all_variables(r.server, r.pattern)) for r in below}

    assert [r for r, pattern in logged.items() if pattern != r.pattern] == []


def test_routes_command_prints_json(tmp_path: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "nautes_refstack", "routes", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    routes = json.loads(listed.stdout)
    assert {"server", "method", "pattern", "handler", "sources"} == set(routes[0])


def test_citations_are_contract_sections_upstream_files_and_public_urls() -> None:
    text = (
        "# kratos answers 404 (contract §1.3, §2.1); see pkg/util/transport_util.go and "
        "https://docs.gitlab.com/15.10/ee/api/branches.html. Served at http://127.0.0.1:P/x."
    )
    assert citations(text) == (
        "contract §1.3",
        "contract §2.1",
        "pkg/util/transport_util.go",
        "https://docs.gitlab.com/15.10/ee/api/branches.html",
    )
    assert citations("nothing here") == ()


def test_merging_keeps_one_entry_per_route() -> None:
    list_route = ServedRoute("kubernetes", "/api/v1/pods", "GET", "KubeApi._list", (NO_SOURCE,))
    watch_route = ServedRoute("kubernetes", "/api/v1/pods", "GET", "KubeApi._watch", ("contract §4",))
    assert merged([list_route, watch_route, list_route]) == [
        ServedRoute("kubernetes", "/api/v1/pods", "GET", "KubeApi._list | KubeApi._watch", ("contract §4",))
    ]
