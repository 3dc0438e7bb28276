"""The transport in front of every handler (contract §2.1, §1.3): kratos' router and request decoder.

These requests carry what the CLI never sends (another Content-Type, a body that is not JSON) or expect
what the client would hide (a redirect it follows), so they go out raw. None of them reaches a handler.
"""

from __future__ import annotations

import pytest

from suites.api_conformance.conftest import ConformanceNames
from suites.api_conformance.wire import Refusal, Wire, expect_refusal

GO_NOT_FOUND = "404 page not found\n"
ROUTER_SOURCE = "contract §2.1 (unknown path or wrong method); KRATOS transport/http/server.go"


@pytest.mark.stage("route-unknown-path")
def test_unknown_path_is_go_404_text(wire: Wire) -> None:
    """An unknown path is answered by Go's ``http.DefaultServeMux``: 404, plain text, no kratos body."""
    answer = wire.raw("GET", "/api/v1/nothing-here", b"", {})
    assert (answer.status, answer.text) == (404, GO_NOT_FOUND), f"[{ROUTER_SOURCE}] {answer.shown()}"
    assert answer.headers.get("Content-Type") == "text/plain; charset=utf-8", f"[{ROUTER_SOURCE}]"


@pytest.mark.stage("route-no-put")
def test_put_is_no_route(wire: Wire, names: ConformanceNames) -> None:
    """There is no PUT (Save is POST, create-or-update): a PUT on a product's path is an unknown route."""
    answer = wire.raw(
        "PUT", f"/api/v1/products/{names.absent_product}", b"{}", {"Content-Type": "application/json"}
    )
    source = "contract §2.2 (no PUT/PATCH: Save is create-or-update); KRATOS transport/http/server.go"
    assert (answer.status, answer.text) == (404, GO_NOT_FOUND), f"[{source}] {answer.shown()}"


@pytest.mark.stage("route-wrong-method")
def test_wrong_method_is_no_route(wire: Wire) -> None:
    """A method no route has for a path (DELETE on a list) is Go's 404 as well, not a 405."""
    answer = wire.raw("DELETE", "/api/v1/products", b"", {})
    assert (answer.status, answer.text) == (404, GO_NOT_FOUND), f"[{ROUTER_SOURCE}] {answer.shown()}"


@pytest.mark.stage("route-trailing-slash")
def test_list_with_trailing_slash_is_redirected(wire: Wire) -> None:
    """``nautes get <kind>`` asks for the list URL with a trailing slash; mux (StrictSlash) answers 301."""
    answer = wire.raw("GET", "/api/v1/clusters/", b"", {})
    source = "contract §1.3 (StrictSlash redirects /x/ to /x); KRATOS transport/http/server.go"
    assert answer.status == 301, f"[{source}] {answer.shown()}"
    assert answer.headers.get("Location") == "/api/v1/clusters", f"[{source}] {answer.headers}"


@pytest.mark.stage("codec-unregistered-content-type")
def test_unregistered_content_type_is_codec_400(wire: Wire, names: ConformanceNames) -> None:
    answer = wire.raw(
        "POST", f"/api/v1/products/{names.absent_product}", b"{}", {"Content-Type": "text/plain"}
    )
    expect_refusal(
        answer,
        Refusal(
            400,
            "CODEC",
            "unregister Content-Type: text/plain",
            "contract §2.1 (registered Content-Type); KRATOS transport/http/codec.go DefaultRequestDecoder",
        ),
    )


@pytest.mark.stage("codec-malformed-json")
def test_malformed_json_is_codec_400(wire: Wire, names: ConformanceNames) -> None:
    answer = wire.raw(
        "POST", f"/api/v1/products/{names.absent_product}", b'{"git":', {"Content-Type": "application/json"}
    )
    expect_refusal(
        answer,
        Refusal(
            400,
            "CODEC",
            "body unmarshal {any}",
            "contract §2.1, §2.5 (bad JSON body); KRATOS transport/http/codec.go DefaultRequestDecoder",
        ),
    )


@pytest.mark.stage("auth-token-missing")
def test_request_without_token_is_plain_500(wire: Wire, names: ConformanceNames) -> None:
    """The token is not checked by the API server but handed to GitLab: without one, the GitLab client
    cannot be made, a plain Go error (no 401)."""
    answer = wire.raw("GET", f"/api/v1/products/{names.absent_product}", b"", {}, token=False)
    expect_refusal(
        answer,
        Refusal(
            500,
            "",
            "token is not found",
            "contract §2.1 (missing header: token is not found, inferred); NAUTES app/api-server/"
            "pkg/middleware/auth/auth.go, internal/data/gitlab.go",
        ),
    )
