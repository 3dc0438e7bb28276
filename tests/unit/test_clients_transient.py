"""Transient answers are absorbed, permanent ones are not: every client against a scripted double.

A double answers each request with the next scripted status (then 200), and records what it was sent, so
each test can say how many sends a client made and what its retry log kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from nautes_e2e.clients import (
    GitLabClient,
    GitLabError,
    GitLabNotFound,
    KubeClient,
    KubeError,
    NautesApiError,
    NautesClient,
    RegistryClient,
    RegistryEndpoint,
    RegistryError,
    VaultClient,
    VaultClientError,
    parse_documents,
)
from nautes_e2e.clients.transient import RetryLog, RetryPolicy, TransientRetry, call_with_retries
from nautes_e2e.secrets import Secret
from tests.support.http import catch_all, serve
from tests.support.loop import BackgroundLoop

TOKEN = Secret("transient-test-token-4711")
#: What GitLab's Workhorse answers when Puma does not (gitlab-workhorse internal/badgateway/roundtripper.go:
#: production mode, "GitLab is not responding", text/plain).
WORKHORSE_502 = (502, "GitLab is not responding", "text/plain")
CLUSTER_FILE = """\
apiVersion: nautes.resource.nautes.io/v1alpha1
kind: Cluster
spec:
  name: c1
  apiServer: https://127.0.0.1:6443
  clusterType: physical
  clusterKind: kubernetes
  usage: worker
  workerType: pipeline
"""


@dataclass
class Scripted:
    """Answers each request with the next scripted ``(status, body, content type)``, then ``ok`` (200);
    a ``reset`` entry closes the connection without an answer. Records ``METHOD path`` of every request."""

    script: list[tuple[int, str, str] | str] = field(default_factory=list)
    ok: object = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        await request.read()
        if self.script:
            entry = self.script.pop(0)
            if isinstance(entry, str):  # "reset"
                assert request.transport is not None
                request.transport.abort()
                raise ConnectionResetError("reset by the double")
            status, body, content_type = entry
            return web.Response(status=status, text=body, content_type=content_type)
        return web.json_response(self.ok)


@pytest.fixture(scope="module")
def background() -> Iterator[BackgroundLoop]:
    with BackgroundLoop() as loop:
        yield loop


@pytest.fixture
def double(background: BackgroundLoop) -> Iterator[tuple[Scripted, str]]:
    scripted = Scripted()
    with serve(background, catch_all(scripted.handle)) as served:
        yield scripted, served.url


def sends(retries: RetryLog) -> list[str]:
    return [f"{retry.method} {retry.path} {retry.answer}" for retry in retries.retries]


# -- the policy itself ------------------------------------------------------------------------------------


def test_a_transient_answer_on_every_send_is_returned_after_the_last_of_a_bounded_number() -> None:
    log, pauses = RetryLog(), list[float]()
    answers = iter([502, 503, 504, 502, 200])

    status = call_with_retries(
        RetryPolicy(sleep=pauses.append),
        log,
        lambda: next(answers),
        status_of=lambda status: status,
        service="S",
        method="GET",
        path="/x",
    )

    assert status == 502  # the fourth send's answer: the client's own error will say what it was
    assert [retry.attempt for retry in log.retries] == [1, 2, 3]
    assert pauses == [0.25, 0.5, 1.0]  # exponential, short


def test_each_retry_is_told_to_the_listeners_as_it_happens() -> None:
    log, heard = RetryLog(), list[TransientRetry]()
    answers = iter([503, 200])
    with log.listening(heard.append):
        call_with_retries(
            RetryPolicy(sleep=lambda _: None),
            log,
            lambda: next(answers),
            status_of=lambda status: status,
            service="Vault",
            method="GET",
            path="/v1/sys/health",
        )
    assert heard == log.retries
    assert str(heard[0]).startswith("Vault answered GET /v1/sys/health with HTTP 503 (send 1); sent again")


# -- GitLab (python-gitlab on a retrying session) ---------------------------------------------------------


def test_gitlab_502_then_200_passes_with_one_logged_retry(double: tuple[Scripted, str]) -> None:
    scripted, url = double
    scripted.script = [WORKHORSE_502]
    scripted.ok = {"id": 1, "username": "demo"}
    client = GitLabClient(url, TOKEN)

    assert client.current_user()["username"] == "demo"

    assert scripted.requests == ["GET /api/v4/user", "GET /api/v4/user"]
    assert sends(client.retries) == ["GET /api/v4/user HTTP 502"]


def test_a_reset_connection_is_retried_like_a_502(double: tuple[Scripted, str]) -> None:
    scripted, url = double
    scripted.script = ["reset"]
    scripted.ok = {"id": 1, "username": "demo"}
    client = GitLabClient(url, TOKEN)

    assert client.current_user()["username"] == "demo"
    assert sends(client.retries) == ["GET /api/v4/user a connection reset"]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((500, '{"message":"500 Internal Server Error"}', "application/json"), GitLabError),
        ((404, '{"message":"404 Project Not Found"}', "application/json"), GitLabNotFound),
    ],
    ids=["500", "404"],
)
def test_gitlab_500_and_404_are_not_retried(
    double: tuple[Scripted, str], answer: tuple[int, str, str], error: type[GitLabError]
) -> None:
    scripted, url = double
    scripted.script = [answer]
    client = GitLabClient(url, TOKEN)

    with pytest.raises(error) as caught:
        client.project("demo/app")

    assert caught.value.status == answer[0]
    assert len(scripted.requests) == 1
    assert client.retries.retries == []


def test_a_gitlab_post_that_creates_is_sent_again_only_after_reading_it_back(
    double: tuple[Scripted, str],
) -> None:
    scripted, url = double
    # protectedbranches.get answers 404, so the client creates the protection with a POST, which gets 502;
    # the read-back finds no protection still, so the POST is sent again (had it landed: a PATCH instead).
    not_found = (404, '{"message":"404 Not found"}', "application/json")
    scripted.script = [not_found, WORKHORSE_502, not_found]
    client = GitLabClient(url, TOKEN)

    client.allow_force_push("demo/app", "main")

    assert [line.split(" ")[0] for line in scripted.requests] == ["GET", "POST", "GET", "POST"]
    (retry,) = client.retries.retries
    assert (retry.method, retry.answer, retry.read_back) == (
        "POST",
        "HTTP 502",
        "branch main is not protected",
    )


def test_a_gitlab_post_whose_read_back_fails_is_not_sent_again(double: tuple[Scripted, str]) -> None:
    scripted, url = double
    not_found = (404, '{"message":"404 Not found"}', "application/json")
    scripted.script = [
        not_found,
        WORKHORSE_502,
        (500, '{"message":"500 Internal Server Error"}', "application/json"),
    ]
    client = GitLabClient(url, TOKEN)

    with pytest.raises(GitLabError) as caught:
        client.allow_force_push("demo/app", "main")

    assert caught.value.status == 500
    assert [line.split(" ")[0] for line in scripted.requests] == ["GET", "POST", "GET"]


# -- Nautes API -------------------------------------------------------------------------------------------


def test_a_nautes_get_502_then_200_passes_with_one_logged_retry(double: tuple[Scripted, str]) -> None:
    scripted, url = double
    scripted.script = [(502, "<html>502 Bad Gateway</html>", "text/html")]
    scripted.ok = {"name": "c1"}
    client = NautesClient(url, TOKEN, timeout=5)

    assert client.get("Cluster", "c1") == {"name": "c1"}
    assert sends(client.retries) == ["GET /api/v1/clusters/c1 HTTP 502"]


def test_a_nautes_save_is_sent_again_only_after_reading_it_back(double: tuple[Scripted, str]) -> None:
    scripted, url = double
    not_found = json.dumps({"code": 404, "reason": "RESOURCE_NOT_FOUND", "message": "cluster c1 not found"})
    scripted.script = [(503, "no healthy upstream", "text/plain"), (404, not_found, "application/json")]
    client = NautesClient(url, TOKEN, timeout=5)

    client.apply(parse_documents(CLUSTER_FILE, "c.yaml"))

    assert scripted.requests == [
        "POST /api/v1/clusters/c1",
        "GET /api/v1/clusters/c1",  # the read-back: did the first save land?
        "POST /api/v1/clusters/c1",
    ]
    (retry,) = client.retries.retries
    assert (retry.method, retry.answer, retry.read_back) == (
        "POST",
        "HTTP 503",
        "Nautes does not have Cluster c1",
    )


@pytest.mark.parametrize("status", [500, 501, 404])
def test_a_nautes_save_answered_otherwise_is_not_retried(double: tuple[Scripted, str], status: int) -> None:
    scripted, url = double
    scripted.script = [(status, json.dumps({"code": status, "message": "no"}), "application/json")]
    client = NautesClient(url, TOKEN, timeout=5)

    with pytest.raises(NautesApiError):
        client.apply(parse_documents(CLUSTER_FILE, "c.yaml"))

    assert scripted.requests == ["POST /api/v1/clusters/c1"]
    assert client.retries.retries == []


def test_a_nautes_delete_is_never_retried(double: tuple[Scripted, str]) -> None:
    scripted, url = double
    scripted.script = [(502, "bad gateway", "text/plain")]
    client = NautesClient(url, TOKEN, timeout=5)

    with pytest.raises(NautesApiError):
        client.clusters.delete("c1")

    assert scripted.requests == ["DELETE /api/v1/clusters/c1"]


# -- Vault, registry, Kubernetes --------------------------------------------------------------------------


def test_a_vault_read_503_then_200_passes_with_one_logged_retry(double: tuple[Scripted, str]) -> None:
    scripted, url = double
    scripted.script = [(503, '{"errors":["Vault is sealed"]}', "application/json")]
    scripted.ok = {"data": {"data": {"id_rsa": "x"}, "metadata": {}}}
    client = VaultClient(url, TOKEN)

    assert client.kv_keys("git", "gitlab/repo-1/default/readonly") == {"id_rsa"}
    assert sends(client.retries) == ["GET /v1/git/data/gitlab/repo-1/default/readonly HTTP 503"]


def test_a_vault_500_is_not_retried(double: tuple[Scripted, str]) -> None:
    scripted, url = double
    scripted.script = [(500, '{"errors":["internal error"]}', "application/json")]
    client = VaultClient(url, TOKEN)

    with pytest.raises(VaultClientError):
        client.kv_keys("git", "gitlab/repo-1/default/readonly")
    assert len(scripted.requests) == 1


def test_a_registry_504_then_200_passes_and_a_404_is_final(double: tuple[Scripted, str]) -> None:
    scripted, url = double
    scripted.script = [(504, "gateway timeout", "text/plain")]
    host = url.removeprefix("http://")
    client = RegistryClient(RegistryEndpoint(host=host, scheme="http", username=None, password=None))

    client.ping()
    assert sends(client.retries) == ["GET /v2/ HTTP 504"]

    scripted.script = [(401, '{"errors":[{"code":"UNAUTHORIZED"}]}', "application/json")]
    with pytest.raises(RegistryError):
        client.ping()
    assert len(client.retries.retries) == 1


def test_a_kubernetes_get_502_is_retried_and_a_post_is_not(
    double: tuple[Scripted, str], tmp_path: Path
) -> None:
    scripted, url = double
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": url}}],
                "users": [{"name": "u", "user": {"token": TOKEN.reveal()}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    client = KubeClient(kubeconfig)
    try:
        scripted.script = [(502, "bad gateway", "text/plain")]
        scripted.ok = {"gitVersion": "v1.29.0"}
        assert client.version()["gitVersion"] == "v1.29.0"
        assert sends(client.retries) == ["GET /version HTTP 502"]

        discovery = {"resources": [{"name": "configmaps", "kind": "ConfigMap", "namespaced": True}]}
        scripted.script = [
            (200, json.dumps(discovery), "application/json"),
            (503, "unavailable", "text/plain"),
        ]
        with pytest.raises(KubeError) as caught:
            client.create(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}
            )
        assert caught.value.status == 503
        assert scripted.requests[-1] == "POST /api/v1/namespaces/n/configmaps"
        assert len(client.retries.retries) == 1
    finally:
        client.close()
