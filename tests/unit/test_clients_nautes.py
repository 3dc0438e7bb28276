"""NautesClient against a small recording aiohttp server: exactly what ``nautes`` v0.4.2 would send.

The server is a test double for the CLI's side of the wire only: it records each request (method, raw
path with query, headers, body) and answers what the test scripts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from nautes_e2e.clients import (
    Document,
    DocumentError,
    NautesApiError,
    NautesClient,
    NautesConnectionError,
    NautesNotFound,
    WireError,
    document_request,
    parse_documents,
)
from nautes_e2e.secrets import Secret
from tests.support.http import catch_all, serve
from tests.support.loop import BackgroundLoop

TOKEN = Secret("glpat-nautes-client-test-token")


@dataclass
class Recorded:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes


Responder = Callable[[Recorded], web.Response]


class RecordingServer:
    """Records every request; ``respond`` decides each reply. ``url`` is set once it is served."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.respond: Responder = lambda request: web.json_response({"message": "Successfully saved"})
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        recorded = Recorded(request.method, request.path_qs, dict(request.headers), await request.read())
        self.requests.append(recorded)
        return self.respond(recorded)


@pytest.fixture(scope="module")
def background() -> Iterator[BackgroundLoop]:
    with BackgroundLoop() as loop:
        yield loop


@pytest.fixture
def server(background: BackgroundLoop) -> Iterator[RecordingServer]:
    recording = RecordingServer()
    with serve(background, catch_all(recording.handle)) as served:
        recording.url = served.url
        yield recording


@pytest.fixture
def client(server: RecordingServer) -> Iterator[NautesClient]:
    nautes = NautesClient(server.url + "/", TOKEN, timeout=5)
    yield nautes
    nautes.close()


PRODUCT_FILE = """\
apiVersion: nautes.resource.nautes.io/v1alpha1
kind: Product
spec:
  name: demo
  git:
    gitlab: {name: demo, path: demo, visibility: private, description: demo, parentID: 0}
---
kind: CodeRepo
spec:
  name: repo-a
  product: demo
  project: project-demo
  codeRepoProvider: gitlab
  pipelineRuntime: true
  webhook: {events: [push_events]}
  git: {gitlab: {name: repo-a, path: repo-a, visibility: private}}
---
kind: ProjectPipelineRuntime
spec: {name: pr-demo, product: demo, project: project-demo, isolation: exclusive}
---
kind: CodeRepoBinding
spec: {productName: owner-product, name: bind, product: demo, coderepo: repo-a, permissions: readwrite}
---
kind: Project
spec: {name: project-demo, product: demo, language: golang}
---
kind: CodeRepo
spec: {name: repo-b, product: demo}
---
kind: Environment
spec: {name: env-dev, product: demo, cluster: c1, envType: dev}
---
kind: Cluster
spec: {name: c1, apiServer: "https://1.2.3.4:6443", usage: worker}
"""

APPLY_ORDER = [
    "/api/v1/clusters/c1",
    "/api/v1/products/demo",
    "/api/v1/products/demo/environments/env-dev",
    "/api/v1/products/demo/projects/project-demo",
    "/api/v1/products/demo/coderepos/repo-a",
    "/api/v1/products/demo/coderepos/repo-b",
    "/api/v1/products/owner-product/coderepobindings/bind",  # productName, not product (contract §1.3)
    "/api/v1/products/demo/projectpipelineruntimes/pr-demo",
]


def documents() -> list[Document]:
    return parse_documents(PRODUCT_FILE, "demo.yaml")


def test_apply_posts_each_document_in_kind_order_with_cli_headers_and_bodies(
    server: RecordingServer, client: NautesClient
) -> None:
    docs = documents()
    results = client.apply(docs)
    assert [r.path for r in results] == APPLY_ORDER
    assert [(r.method, r.path_qs) for r in server.requests] == [("POST", path) for path in APPLY_ORDER]
    bodies = {document_request(d)[0]: document_request(d)[1] for d in docs}
    for request in server.requests:
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Authorization"] == "Bearer " + TOKEN.reveal()
        assert request.body == bodies[request.path_qs]
    assert results[0].kind == "Cluster"
    assert results[0].name == "c1"
    assert results[0].message == "Successfully saved"
    assert results[0].duration_s > 0


def test_apply_sends_the_cli_struct_not_the_yaml(server: RecordingServer, client: NautesClient) -> None:
    client.apply(documents())
    repo_a = json.loads(next(r.body for r in server.requests if r.path_qs.endswith("/coderepos/repo-a")))
    assert "codeRepoProvider" not in repo_a
    assert "pipelineRuntime" not in repo_a
    assert repo_a["pipeline_runtime"] is False  # pipelineRuntime: true is dropped (contract §1.4)
    assert repo_a["deployment_runtime"] is False
    assert repo_a["git"]["gitlab"]["ssh_url_to_repo"] == ""
    ppr = json.loads(next(r.body for r in server.requests if "projectpipelineruntimes" in r.path_qs))
    assert ppr["destination"] is None
    assert ppr["pipelines"] is None
    assert "hooks" not in ppr  # omitempty
    binding = json.loads(next(r.body for r in server.requests if "coderepobindings" in r.path_qs))
    assert binding["product_name"] == "owner-product"
    assert binding["projects"] is None


def test_insecure_skip_check_is_a_query_on_apply_and_remove(server: RecordingServer) -> None:
    client = NautesClient(server.url, TOKEN, insecure_skip_check=True)
    cluster = [d for d in documents() if d.kind == "Cluster"]
    client.apply(cluster)
    client.remove(cluster)
    assert [(r.method, r.path_qs) for r in server.requests] == [
        ("POST", "/api/v1/clusters/c1?insecure_skip_check=true"),
        ("DELETE", "/api/v1/clusters/c1?insecure_skip_check=true"),
    ]


def test_remove_deletes_kinds_in_reverse_with_file_order_within_a_kind(
    server: RecordingServer, client: NautesClient
) -> None:
    results = client.remove(documents())
    expected = [
        "/api/v1/products/demo/projectpipelineruntimes/pr-demo",
        "/api/v1/products/owner-product/coderepobindings/bind",
        "/api/v1/products/demo/coderepos/repo-a",  # the CLI keeps file order inside a kind
        "/api/v1/products/demo/coderepos/repo-b",
        "/api/v1/products/demo/projects/project-demo",
        "/api/v1/products/demo/environments/env-dev",
        "/api/v1/products/demo",
        "/api/v1/clusters/c1",
    ]
    assert [(r.method, r.path_qs) for r in server.requests] == [("DELETE", path) for path in expected]
    assert all(r.body == b"" for r in server.requests)
    assert [r.method for r in results] == ["DELETE"] * len(expected)


def test_first_failure_stops_the_run_and_is_parsed(server: RecordingServer, client: NautesClient) -> None:
    kratos = {
        "code": 404,
        "reason": "GROUP_NOT_FOUND",
        "message": "failed to get group, err: GET https://gitlab/api/v4/groups/demo: 404 Not Found",
        "metadata": {},
    }

    def respond(request: Recorded) -> web.Response:
        if request.path_qs.endswith("/environments/env-dev"):
            return web.json_response(kratos, status=404)
        return web.json_response({"message": "ok"})

    server.respond = respond
    with pytest.raises(NautesApiError) as caught:
        client.apply(documents())
    error = caught.value
    assert len(server.requests) == 3  # cluster, product, then the failing environment; nothing after it
    assert (error.status, error.code, error.reason, error.message) == (
        404,
        404,
        "GROUP_NOT_FOUND",
        kratos["message"],
    )
    assert (error.kind, error.name, error.method) == ("Environment", "env-dev", "POST")
    assert error.url == server.url + "/api/v1/products/demo/environments/env-dev"
    assert str(error) == "failed to operate Environment:\n" + json.dumps(kratos)
    assert [r.kind for r in error.completed] == ["Cluster", "Product"]


def test_only_200_is_success(server: RecordingServer, client: NautesClient) -> None:
    server.respond = lambda request: web.json_response({"message": "created"}, status=201)
    with pytest.raises(NautesApiError) as caught:
        client.apply(documents()[:1])
    assert caught.value.status == 201


def test_non_json_error_body_is_kept_as_the_message(server: RecordingServer, client: NautesClient) -> None:
    server.respond = lambda request: web.Response(status=404, text="404 page not found\n")
    with pytest.raises(NautesApiError) as caught:
        client.apply(documents()[:1])
    assert (caught.value.code, caught.value.reason, caught.value.message) == (404, "", "404 page not found\n")


def test_error_text_never_holds_the_token(server: RecordingServer, client: NautesClient) -> None:
    server.respond = lambda request: web.json_response(
        {"code": 500, "reason": "", "message": f"git clone https://oauth2:{TOKEN.reveal()}@gitlab/x failed"},
        status=500,
    )
    with pytest.raises(NautesApiError) as caught:
        client.apply(documents()[:1])
    assert TOKEN.reveal() not in str(caught.value)
    assert TOKEN.reveal() not in caught.value.message
    assert "***" in caught.value.message


def test_list_follows_the_trailing_slash_redirect_like_go(
    server: RecordingServer, client: NautesClient
) -> None:
    def respond(request: Recorded) -> web.Response:
        if request.path_qs == "/api/v1/products/demo/coderepos/":
            raise web.HTTPMovedPermanently("/api/v1/products/demo/coderepos")
        return web.json_response({"items": [{"name": "repo-a"}, {"name": "repo-b"}]})

    server.respond = respond
    assert client.list("crs", product="demo") == [{"name": "repo-a"}, {"name": "repo-b"}]
    first, second = server.requests
    assert (first.method, first.path_qs) == ("GET", "/api/v1/products/demo/coderepos/")
    sent = json.loads(first.body)  # the CLI sends its (nearly empty) spec with a GET too
    assert (sent["name"], sent["product"], sent["git"]) == ("", "demo", None)
    assert (second.method, second.path_qs, second.body) == ("GET", "/api/v1/products/demo/coderepos", b"")
    assert second.headers["Authorization"] == "Bearer " + TOKEN.reveal()


def test_get_uses_product_name_for_bindings_and_returns_the_reply(
    server: RecordingServer, client: NautesClient
) -> None:
    reply = {
        "product": "demo",
        "name": "bind",
        "projects": [],
        "permissions": "readwrite",
        "coderepo": "repo-a",
    }
    server.respond = lambda request: web.json_response(reply)
    assert client.get("CodeRepoBinding", "bind", product="demo") == reply
    (request,) = server.requests
    assert (request.method, request.path_qs) == ("GET", "/api/v1/products/demo/coderepobindings/bind")
    assert json.loads(request.body)["product_name"] == "demo"
    assert client.get("cluster", "c1") == reply
    assert server.requests[-1].path_qs == "/api/v1/clusters/c1"


def test_get_error_raises(server: RecordingServer, client: NautesClient) -> None:
    server.respond = lambda request: web.json_response(
        {"code": 404, "reason": "RESOURCE_NOT_FOUND", "message": "the resource is not found", "metadata": {}},
        status=404,
    )
    with pytest.raises(NautesApiError, match="failed to operate ProjectPipelineRuntime") as caught:
        client.get("ppr", "nope", product="demo")
    assert caught.value.reason == "RESOURCE_NOT_FOUND"


def kratos(code: int, reason: str, message: str) -> Responder:
    """A reply with the API server's error body (contract §2.5) and its code as the HTTP status."""
    body = {"code": code, "reason": reason, "message": message, "metadata": {}}
    return lambda request: web.json_response(body, status=code)


@pytest.mark.parametrize(
    "respond",
    [
        kratos(404, "RESOURCE_NOT_FOUND", "the resource is not found"),
        kratos(404, "PROJECT_NOT_FOUND", "failed to get project, err: GET https://gitlab/x: 404"),
        kratos(404, "GROUP_NOT_FOUND", "failed to get group, err: GET https://gitlab/x: 404"),
        lambda request: web.Response(status=404, text="404 page not found\n"),
    ],
    ids=["resource", "project", "group", "no-route"],
)
def test_a_404_is_not_found(server: RecordingServer, client: NautesClient, respond: Responder) -> None:
    server.respond = respond
    with pytest.raises(NautesNotFound) as caught:
        client.get("ppr", "nope", product="demo")
    assert (caught.value.status, caught.value.kind, caught.value.name) == (
        404,
        "ProjectPipelineRuntime",
        "nope",
    )


NOT_FOUND_OR_INVALID = (
    "resource {} not found or invalid. Please check whether the resource exists under the default project"
)


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (lambda nautes: nautes.get("Cluster", "c1"), "the cluster resource c1 is not found"),
        (lambda nautes: nautes.clusters.delete("c1"), "the cluster resource c1 is not found"),
        (lambda nautes: nautes.get("Product", "demo"), "there are no default projects under this product"),
        (lambda nautes: nautes.projects("demo").delete("p"), "Project " + NOT_FOUND_OR_INVALID.format("p")),
        (
            lambda nautes: nautes.projectpipelineruntimes("demo").delete("pr"),
            "ProjectPipelineRuntime " + NOT_FOUND_OR_INVALID.format("pr"),
        ),
        (
            lambda nautes: nautes.coderepobindings("demo").delete("b"),
            "CodeRepoBinding " + NOT_FOUND_OR_INVALID.format("b"),
        ),
        (
            lambda nautes: nautes.deploymentruntimes("demo").delete("dr"),
            "DeploymentRuntime " + NOT_FOUND_OR_INVALID.format("dr"),
        ),
    ],
    ids=[
        "get-cluster",
        "delete-cluster",
        "get-product",
        "delete-project",
        "delete-ppr",
        "delete-crb",
        "delete-dr",
    ],
)
def test_the_500s_that_say_the_resource_does_not_exist_are_not_found(
    server: RecordingServer,
    client: NautesClient,
    operation: Callable[[NautesClient], object],
    message: str,
) -> None:
    """Contract §2.5, "Not-found per operation": these answer 500 with a plain Go error, not 404."""
    server.respond = kratos(500, "", message)
    with pytest.raises(NautesNotFound) as caught:
        operation(client)
    assert (caught.value.status, caught.value.reason, caught.value.message) == (500, "", message)
    assert str(caught.value).startswith(f"failed to operate {caught.value.kind}:\n")


@pytest.mark.parametrize(
    "respond",
    [
        kratos(500, "", "GET https://gitlab/api/v4/groups/demo: 401 {message: 401 Unauthorized}"),
        # Also what DELETE of a missing environment answers (a nil dereference), but any crash does too.
        kratos(500, "UNKNOWN", "unknown request error"),
        # A save refused because something it refers to is missing: the named resource is not the one.
        kratos(500, "RESOURCE_NOT_EXIST", "the Environment env-x does not exist or is unavailable"),
        kratos(
            500,
            "",
            "during global validation, it was found that Cluster 'c1' does not exist or is unavailable. "
            "Please check Environment 'env-dev' in directory 'envs'err: not found",
        ),
        kratos(500, "", "failed to get host cluster, err: cluster host is not found"),
        lambda request: web.Response(status=500, text="Internal Server Error"),
        lambda request: web.Response(status=502, text="the cluster resource c1 is not found"),
    ],
    ids=["internal", "panic", "reference-typed", "reference-plain", "wrapped", "text", "not-500"],
)
def test_any_other_error_is_an_api_error_but_not_not_found(
    server: RecordingServer, client: NautesClient, respond: Responder
) -> None:
    server.respond = respond
    with pytest.raises(NautesApiError) as caught:
        client.get("Cluster", "c1")
    assert not isinstance(caught.value, NautesNotFound)
    assert caught.value.status in (500, 502)


def test_not_found_stops_a_remove_run_like_any_failure(server: RecordingServer, client: NautesClient) -> None:
    def respond(request: Recorded) -> web.Response:
        if request.path_qs.endswith("/coderepos/repo-b"):
            return kratos(404, "NODE_NOT_FOUND", "failed to get coderepo of repository repo-9")(request)
        return web.json_response({"message": "Successfully deleted"})

    server.respond = respond
    with pytest.raises(NautesNotFound) as caught:
        client.remove(documents())
    assert [r.kind for r in caught.value.completed] == [
        "ProjectPipelineRuntime",
        "CodeRepoBinding",
        "CodeRepo",
    ]
    assert (caught.value.method, caught.value.name) == ("DELETE", "repo-b")


def test_managers_fill_and_check_the_bound_product(server: RecordingServer, client: NautesClient) -> None:
    result = client.environments("demo").save({"name": "env-x", "cluster": "c1", "envType": "dev"})
    assert result.path == "/api/v1/products/demo/environments/env-x"
    assert json.loads(server.requests[-1].body)["product"] == "demo"
    with pytest.raises(ValueError, match="names product 'other'"):
        client.environments("demo").save({"name": "env-x", "product": "other"})
    client.coderepobindings("owner").delete("bind")
    assert (server.requests[-1].method, server.requests[-1].path_qs) == (
        "DELETE",
        "/api/v1/products/owner/coderepobindings/bind",
    )
    client.clusters.delete("c1")
    assert server.requests[-1].path_qs == "/api/v1/clusters/c1"
    with pytest.raises(ValueError, match="needs a product"):
        client.manager("Environment")


def test_a_malformed_document_fails_before_anything_is_sent(
    server: RecordingServer, client: NautesClient
) -> None:
    bad = parse_documents("kind: Project\nspec: {name: p, product: [demo]}\n", "bad.yaml")
    with pytest.raises(WireError, match=r"^bad.yaml#1 spec.product: cannot unmarshal !!seq into string$"):
        client.apply([*documents(), *bad])
    assert server.requests == []


def test_connection_refused_is_a_connection_error() -> None:
    client = NautesClient("http://127.0.0.1:9", TOKEN, timeout=2)
    with pytest.raises(NautesConnectionError) as refused:
        client.apply([d for d in documents() if d.kind == "Cluster"])
    assert str(refused.value) == (
        "Nautes API at http://127.0.0.1:9 did not answer POST /api/v1/clusters/c1: connection refused"
    )


# -- how documents are read and encoded (no server needed) -------------------------------------------


def test_the_file_is_split_on_every_triple_dash_like_the_cli() -> None:
    # contract §1.5: a PEM block inside an inline kubeconfig breaks the file apart
    text = "kind: Cluster\nspec:\n  name: c\n  kubeconfig: |\n    -----BEGIN CERTIFICATE-----\n    QUJD\n"
    with pytest.raises(
        DocumentError, match=r"^x.yaml \(chunk 2 between '---' separators\): a resource must be"
    ):
        parse_documents(text, "x.yaml")


def test_empty_chunks_and_unknown_kinds_are_skipped() -> None:
    text = (
        "---\n# comment only\n---\nkind: ArtifactRepo\nspec: {name: a}\n---\nkind: Project\nspec: {name: p}\n"
    )
    (document,) = parse_documents(text, "f.yaml")
    assert (document.kind, document.name, document.source) == ("Project", "p", "f.yaml#1")


def test_yaml_errors_name_the_place_but_never_quote_the_content() -> None:
    with pytest.raises(
        DocumentError, match=r"^f.yaml \(chunk 1 between '---' separators\): line 3"
    ) as caught:
        parse_documents("kind: Cluster\nspec: {kubeconfig: 'token: s3cr3t-value\n", "f.yaml")
    assert "s3cr3t" not in str(caught.value)


def test_yaml_errors_keep_pyyaml_s_words_though_libyaml_parses() -> None:
    # libyaml says "mapping values are not allowed in this context": the refused text is parsed again by
    # PyYAML's own parser, so the message is the one the harness always gave
    with pytest.raises(DocumentError) as caught:
        parse_documents("kind: Cluster\nspec: a: b\n", "f.yaml")
    assert str(caught.value) == (
        "f.yaml (chunk 1 between '---' separators): line 2 column 8: mapping values are not allowed here"
    )


def wire_of(yaml_text: str) -> dict[str, Any]:
    (document,) = parse_documents(yaml_text, "t.yaml")
    return dict(json.loads(document_request(document)[1]))


def test_string_fields_get_the_scalar_text_as_yaml_v3_gives_it() -> None:
    body = wire_of(
        "kind: Cluster\nspec:\n  name: c\n  primaryDomain: on\n  clusterKind: 1.10\n  workerType: 007\n"
        "  componentsList:\n    gateway: {name: traefik, additions: {httpNodePort: 30080, debug: true}}\n"
    )
    assert body["primary_domain"] == "on"  # YAML 1.1 would have made it a boolean
    assert body["cluster_kind"] == "1.10"
    assert body["worker_type"] == "007"
    assert body["components_list"]["gateway"]["additions"] == {"debug": "true", "httpNodePort": "30080"}


def test_bool_and_int_fields_decode_like_yaml_v3() -> None:
    body = wire_of("kind: CodeRepo\nspec: {name: r, deploymentRuntime: yes, projectPipelineRuntime: true}\n")
    assert (body["deployment_runtime"], body["pipeline_runtime"]) == (True, True)
    product = wire_of("kind: Product\nspec: {name: p, git: {gitlab: {parentID: 0x10}}}\n")
    assert product["git"]["gitlab"]["parent_id"] == 16


def test_deployment_runtime_reads_the_lower_case_manifestsource_key() -> None:
    body = wire_of(
        "kind: DeploymentRuntime\nspec:\n  name: dr\n  product: demo\n"
        "  manifestsource: {codeRepo: deploy, targetRevision: main, path: deployments/test}\n"
    )
    assert body["manifest_source"] == {
        "code_repo": "deploy",
        "target_revision": "main",
        "path": "deployments/test",
    }
    camel = wire_of("kind: DeploymentRuntime\nspec: {name: dr, manifestSource: {codeRepo: deploy}}\n")
    assert camel["manifest_source"] is None


def test_hooks_and_trigger_inputs_follow_omitempty() -> None:
    body = wire_of(
        "kind: ProjectPipelineRuntime\nspec:\n  name: pr\n"
        "  pipelineTriggers:\n  - {eventSource: webhook, pipeline: p, inputs: [{source: {fromEvent: ref},"
        " transmissionMethod: {kustomization: {path: /spec/params/0/value}}}]}\n"
        "  hooks:\n    preHooks: [{name: log, vars: {printPath: /var}}]\n"
    )
    assert body["pipeline_triggers"] == [
        {
            "event_source": "webhook",
            "pipeline": "p",
            "revision": "",
            "inputs": [
                {
                    "source": {"from_event": "ref"},
                    "transmission_method": {"kustomization": {"path": "/spec/params/0/value"}},
                }
            ],
        }
    ]
    assert body["hooks"] == {"pre_hooks": [{"name": "log", "vars": {"printPath": "/var"}}]}


def test_bodies_escape_html_characters_like_go() -> None:
    (document,) = parse_documents("kind: Project\nspec: {name: p, language: 'a<b>&c'}\n", "t.yaml")
    assert b'"language":"a\\u003cb\\u003e\\u0026c"' in document_request(document)[1]
