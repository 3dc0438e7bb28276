"""The pure parts of the emulated Nautes API server: decoding, validation, routing, rendering, defaults.

Each expectation is a text or shape the real server (kratos v2.6.2, protobuf-go, PGV, sigs.k8s.io/yaml,
NAUTES v0.4.2) produces, so a regression shows up as a difference a client would see.
"""

from __future__ import annotations

import asyncio

import pytest
from nautes_refstack.nautes import components, crd_types, errors, gostruct, goyaml, messages, pgv, routing
from nautes_refstack.nautes.gitlab_api import go_gitlab_message, path_id
from nautes_refstack.nautes.jsontokens import JsonSyntaxError
from nautes_refstack.nautes.protojson import BindError, Message, bind_values, decode_message
from nautes_refstack.nautes.selector import FieldRule, matches

# --- body decoding (protojson, DiscardUnknown) --------------------------------------------------------


def test_body_accepts_json_and_proto_names_skips_unknown_keys_and_nulls() -> None:
    body = decode_message(
        b'{"name": "env", "product": "p", "cluster": "c", "envType": "dev", "extra": {"a": [1, null]}}',
        messages.ENVIRONMENT_BODY,
    )
    assert body.text("cluster") == "c"
    assert body.text("envType") == "dev"

    snake = decode_message(b'{"cluster": null, "env_type": "test"}', messages.ENVIRONMENT_BODY)
    assert not snake.is_set("cluster")
    assert snake.text("envType") == "test"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"cluster": 1}', "proto: (line 1:13): invalid value for string type: 1"),
        (b'{"cluster": "a",}', "proto: syntax error (line 1:17): unexpected token }"),
        (b"{", "proto: unexpected EOF"),
        (b"null", "proto: syntax error (line 1:1): unexpected token null"),
        (b'{"cluster": "a", "cluster": "b"}', 'proto: (line 1:18): duplicate field "cluster"'),
        (b'{"envType": "a", "env_type": "b"}', 'proto: (line 1:18): duplicate field "env_type"'),
        (b'{"a" 1}', 'proto: syntax error (line 1:6): unexpected character 1, missing ":" after field name'),
        (b'{\n "cluster": tru}', "proto: syntax error (line 2:13): invalid value tru"),
        (b"{} x", "proto: syntax error (line 1:4): invalid value x"),
    ],
)
def test_malformed_bodies_fail_with_protobuf_go_texts(data: bytes, expected: str) -> None:
    with pytest.raises(JsonSyntaxError) as failure:
        decode_message(data, messages.ENVIRONMENT_BODY)
    assert str(failure.value) == expected


def test_wrong_json_types_are_rejected_like_protojson() -> None:
    with pytest.raises(JsonSyntaxError, match=r'invalid value for bool type: "true"'):
        decode_message(b'{"deployment_runtime": "true"}', messages.CODEREPO_BODY)
    with pytest.raises(JsonSyntaxError, match=r"unexpected token \"x\""):
        decode_message(b'{"git": "x"}', messages.CODEREPO_BODY)
    with pytest.raises(JsonSyntaxError, match=r"invalid value for string type: null"):
        decode_message(b'{"projects": [null]}', messages.CODEREPOBINDING_BODY)


def test_list_value_maps_keep_arbitrary_json() -> None:
    body = decode_message(
        b'{"product_allowed_cluster_resources": {"p": [{"kind": "ClusterRole", "group": "g"}, 3]}}',
        messages.CLUSTER_BODY,
    )
    assert body.list_map("product_allowed_cluster_resources") == {
        "p": [{"kind": "ClusterRole", "group": "g"}, 3.0]
    }


def test_query_and_path_binding_match_proto_or_json_names() -> None:
    request = Message(messages.ENVIRONMENT.save)
    bind_values(request, [("insecure_skip_check", ["true"]), ("body.env_type", ["dev"])])
    bind_values(request, [("product_name", ["p"]), ("environmentName", ["e"])])
    assert request.flag("insecureSkipCheck")
    assert request.text("environmentName") == "e"
    body = request.child("body")
    assert body is not None
    assert body.text("envType") == "dev"


def test_query_binding_errors_are_kratos_form_codec_texts() -> None:
    request = Message(messages.CLUSTER.save)
    with pytest.raises(BindError) as bad_bool:
        bind_values(request, [("insecure_skip_check", ["yes"])])
    assert str(bad_bool.value) == (
        'parsing field "insecure_skip_check": strconv.ParseBool: parsing "yes": invalid syntax'
    )
    with pytest.raises(BindError, match=r'too many values for field "cluster_name": a, b'):
        bind_values(request, [("cluster_name", ["a", "b"])])


# --- PGV ------------------------------------------------------------------------------------------


def _save(kind: messages.KindRequests, body: bytes) -> Message:
    request = Message(kind.save)
    request.set("body", decode_message(body, kind.save.fields[-1].message or kind.save))
    return request


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        (
            messages.CLUSTER,
            b'{"api_server": "https://x", "cluster_kind": "kubernetes", "cluster_type": "physical", '
            b'"usage": "edge"}',
            "invalid SaveRequest.Body: embedded message failed validation | caused by: "
            "invalid SaveRequest_Body.Usage: value must be in list [host worker]",
        ),
        (
            messages.CLUSTER,
            b"{}",
            "invalid SaveRequest.Body: embedded message failed validation | caused by: "
            "invalid SaveRequest_Body.ApiServer: value length must be at least 1 runes",
        ),
        (
            messages.PROJECT_PIPELINE_RUNTIME,
            b'{"project": "p", "pipeline_source": "s", "pipelines": [{"name": "n"}]}',
            "invalid SaveRequest.Body: embedded message failed validation | caused by: "
            "invalid SaveRequest_Body.Pipelines[0]: embedded message failed validation | caused by: "
            "invalid Pipeline.Path: value length must be at least 1 runes",
        ),
        (
            messages.PROJECT_PIPELINE_RUNTIME,
            b'{"project": "p", "pipeline_source": "s", "pipelines": [{"name": "n", "path": "x"}], '
            b'"event_sources": [{"name": "e"}], '
            b'"pipeline_triggers": [{"event_source": "e", "pipeline": "n"}], '
            b'"destination": {"environment": "env"}}',
            "invalid SaveRequest.Body: embedded message failed validation | caused by: "
            "invalid SaveRequest_Body.Isolation: value must be in list [shared exclusive]",
        ),
        (
            messages.DEPLOYMENT_RUNTIME,
            b'{"projects_ref": []}',
            "invalid SaveRequest.Body: embedded message failed validation | caused by: "
            "invalid SaveRequest_Body.ManifestSource: value is required",
        ),
    ],
)
def test_pgv_reports_the_first_violation_in_declaration_order(
    kind: messages.KindRequests, body: bytes, expected: str
) -> None:
    assert pgv.first_violation(_save(kind, body)) == expected


def test_pgv_for_the_whole_product_request() -> None:
    missing = Message(messages.PRODUCT.save)
    assert pgv.first_violation(missing) == "invalid SaveProductRequest.Git: value is required"
    invalid = decode_message(b'{"git": {"gitlab": {"visibility": "internal"}}}', messages.PRODUCT.save)
    assert pgv.first_violation(invalid) == (
        "invalid SaveProductRequest.Git: embedded message failed validation | caused by: invalid Git.Gitlab: "
        "embedded message failed validation | caused by: invalid Gitlab.Visibility: value must be in list "
        "[public private]"
    )


def test_a_request_without_body_skips_pgv_of_the_body() -> None:
    assert pgv.first_violation(Message(messages.CLUSTER.save)) is None


# --- routing ----------------------------------------------------------------------------------------


def test_routes_cover_32_operations_with_kratos_path_variables() -> None:
    assert len(routing.ROUTES) == 32
    matched = routing.resolve("POST", "/api/v1/products/demo/environments/env-dev", "")
    assert isinstance(matched, routing.Matched)
    assert (matched.route.kind, matched.route.verb) == ("environment", "save")
    assert matched.variables == {"product_name": "demo", "environmentName": "env-dev"}


def test_strict_slash_redirects_and_404s() -> None:
    listing = routing.resolve("GET", "/api/v1/products/demo/coderepos/", "field_selector=project%3Dp")
    assert listing == routing.Redirect(
        "/api/v1/products/demo/coderepos?field_selector=project%3Dp", with_body=True
    )
    assert routing.resolve("DELETE", "/api/v1/clusters/", "") is None
    assert routing.resolve("PUT", "/api/v1/clusters/c", "") is None
    assert routing.resolve("GET", "/api/v2/clusters", "") is None
    assert routing.resolve("GET", "/api/v1//clusters", "") == routing.Redirect(
        "/api/v1/clusters", with_body=False
    )


# --- errors -----------------------------------------------------------------------------------------


def test_wrapped_typed_errors_embed_the_kratos_text() -> None:
    typed = errors.project_not_found("failed to get project, err: GET http://g/api/v4/projects/p/r: 404 x")
    wrapped = errors.wrapped("failed to convert repository name r to codeRepo name, err: ", typed)
    assert wrapped.body() == {
        "code": 500,
        "reason": "",
        "message": "failed to convert repository name r to codeRepo name, err: error: code = 404 "
        "reason = PROJECT_NOT_FOUND message = failed to get project, "
        "err: GET http://g/api/v4/projects/p/r: 404 x "
        "metadata = map[] cause = <nil>",
        "metadata": {},
    }


def test_go_gitlab_error_messages() -> None:
    assert go_gitlab_message(b'{"message": "404 Group Not Found"}') == "{message: 404 Group Not Found}"
    assert go_gitlab_message(b'{"message": {"name": ["has already been taken"]}}') == (
        "{message: {name: [has already been taken]}}"
    )
    assert go_gitlab_message(b"oops") == "failed to parse unknown error format: oops"
    assert path_id("demo/default.project") == "demo%2Fdefault.project"
    assert path_id(42) == "42"


# --- field selectors --------------------------------------------------------------------------------


def test_field_selectors_substring_list_and_type_rules() -> None:
    rules = {
        "coderepo": FieldRule("Spec.CodeRepo", "in"),
        "projects.in": FieldRule("Spec.Projects.In", "in"),
        "pipeline_runtime": FieldRule("Spec.PipelineRuntime", "bool"),
        "destination": FieldRule("Spec.Destination", "in"),
    }
    view = {
        "Spec": {
            "CodeRepo": "coderepo-deploy",
            "Projects": ["a", "bb"],
            "PipelineRuntime": True,
            "Destination": {},
        }
    }
    assert matches("coderepo=deploy", view, rules)
    assert matches("projects.in=b,pipeline_runtime=true", view, rules)
    assert not matches("projects.in=c", view, rules)
    with pytest.raises(errors.NautesError, match="operator symbol != is not supported"):
        matches("coderepo!=x", view, rules)
    with pytest.raises(errors.NautesError, match="expected is 'String', but now is 'struct'"):
        matches("destination=x", view, rules)


# --- YAML rendering ---------------------------------------------------------------------------------


def test_resources_render_like_json_marshal_then_sigs_yaml() -> None:
    binding: gostruct.Json = {
        "apiVersion": crd_types.API_VERSION,
        "kind": "CodeRepoBinding",
        "metadata": {"name": "b"},
        "spec": {"codeRepo": "repo-5", "projects": [], "permissions": "readwrite", "product": "product-1"},
    }
    assert goyaml.dump(gostruct.canonical(crd_types.CODE_REPO_BINDING, binding)) == (
        "apiVersion: nautes.resource.nautes.io/v1alpha1\n"
        "kind: CodeRepoBinding\n"
        "metadata:\n"
        "  creationTimestamp: null\n"
        "  name: b\n"
        "spec:\n"
        "  codeRepo: repo-5\n"
        "  permissions: readwrite\n"
        "  product: product-1\n"
    )


def test_go_yaml_quoting_and_natural_key_order() -> None:
    text = goyaml.dump({"repo-10": "", "repo-9": "30080", "a": "true", "b": "- x", "c": None, "d": {}})
    assert text == 'a: "true"\nb: \'- x\'\nc: null\nd: {}\nrepo-9: "30080"\nrepo-10: ""\n'


def test_nil_and_empty_values_follow_omitempty_rules() -> None:
    runtime = gostruct.canonical(
        crd_types.PROJECT_PIPELINE_RUNTIME,
        {"spec": {"additionalResources": {}, "hooks": {"preHooks": None}, "eventSources": [{"gitlab": {}}]}},
    )
    assert isinstance(runtime, dict)
    spec = runtime["spec"]
    assert isinstance(spec, dict)
    assert spec["additionalResources"] == {}
    assert spec["hooks"] == {}
    assert spec["pipelines"] is None
    assert spec["eventSources"] == [{"name": "", "gitlab": {"repoName": "", "events": None}}]


# --- cluster components -----------------------------------------------------------------------------


def test_physical_pipeline_worker_gets_every_required_component_with_defaults() -> None:
    body = decode_message(
        b'{"components_list": {"multi_tenant": {"name": "hnc", "additions": {"k": "v"}}, "gateway": '
        b'{"name": "traefik", "additions": {"httpsNodePort": "31443"}}, '
        b'"progressive_delivery": {"name": "x"}}}',
        messages.CLUSTER_BODY,
    )
    shape = components.ClusterShape("w", "https://127.0.0.1:6443", "worker", "physical", "pipeline")
    listed = asyncio.run(components.components_list(body, shape))
    assert listed["pipeline"] == {
        "name": "tekton",
        "namespace": "tekton-pipelines",
        "additions": {"host": "tekton.w.127.0.0.1.nip.io"},
    }
    assert listed["deployment"] == {
        "name": "argocd",
        "namespace": "argocd",
        "additions": {"host": "argocd.w.127.0.0.1.nip.io"},
    }
    assert listed["gateway"] == {
        "name": "traefik",
        "namespace": "traefik",
        "additions": {"httpsNodePort": "31443", "httpNodePort": "30080"},
    }
    assert listed["multiTenant"] == {"name": "hnc", "namespace": "hnc-system", "additions": {"k": "v"}}
    assert listed["progressiveDelivery"] is None
    assert listed["secretManagement"] == {"name": "vault", "namespace": "vault", "additions": {}}
    assert listed["oauthProxy"] == {"name": "oauth2-proxy", "namespace": "oauth2-proxy", "additions": {}}


def test_component_errors_use_the_real_texts() -> None:
    with pytest.raises(
        components.ComponentError, match=r"failed to match component type \[host\|physical\|pipeline\]"
    ):
        components.definition("h", "host", "physical", "pipeline")
    body = decode_message(b'{"components_list": {"pipeline": {"name": "jenkins"}}}', messages.CLUSTER_BODY)
    shape = components.ClusterShape("w", "https://127.0.0.1:6443", "worker", "physical", "pipeline")
    with pytest.raises(
        components.ComponentError, match="failed to get jenkins component for the component type"
    ):
        asyncio.run(components.components_list(body, shape))
    listed: dict[str, dict[str, object]] = {
        category: {"name": components.default_for(category).name, "additions": {}}
        for category in components.CATEGORY_DEFINITIONS["worker|physical|deployment"]
    }
    listed["gateway"]["additions"] = {"httpNodePort": "x", "httpsNodePort": "1"}
    spec = {
        "usage": "worker",
        "clusterType": "physical",
        "workerType": "deployment",
        "componentsList": listed,
    }
    with pytest.raises(components.ComponentError) as failure:
        components.validate("w", spec)
    assert str(failure.value) == (
        "validation of component list failed with errors: the value x of the component matches incorrectly, "
        "meeting the following rule: ^[0-9]+$, the 'host' of component argocd is a required value"
    )
