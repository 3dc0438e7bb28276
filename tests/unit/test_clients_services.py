"""RegistryClient, KubeClient and GitLabClient against tiny aiohttp servers; VaultClient against real OpenBao.

Each server is a test double of the service's protocol, reduced to the calls the client makes, so that the
tests can assert what goes over the wire.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
import yaml
from aiohttp import web

from nautes_e2e.clients import (
    GitLabClient,
    GitLabError,
    GitLabNotFound,
    KubeClient,
    KubeError,
    RegistryClient,
    RegistryEndpoint,
    RegistryError,
    ServiceUnreachable,
    VaultClient,
    VaultClientError,
)
from nautes_e2e.secrets import Secret
from tests.support.http import Handler, Served, catch_all, serve
from tests.support.https import CA_PEM, serve_tls
from tests.support.loop import BackgroundLoop
from tests.support.openbao import DevVault, openbao_dev_server


@pytest.fixture(scope="module")
def background() -> Iterator[BackgroundLoop]:
    with BackgroundLoop() as loop:
        yield loop


# -- registry ------------------------------------------------------------------------------------------

REGISTRY_USER, REGISTRY_PASSWORD = "pusher", "registry-password-123"
MANIFEST = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "digest": "sha256:" + "c" * 64,
        "size": 2,
    },
    "layers": [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:" + "1" * 64,
            "size": 3,
        }
    ]
    * 2,
}
TAGS = ["0.0.1-aaa", "0.0.1-bbb", "0.0.1-ccc"]


def registry_handler(bearer: bool) -> tuple[Handler, list[web.Request]]:
    """A distribution registry with basic auth, or with the token flow when ``bearer``."""
    seen: list[web.Request] = []
    basic = "Basic " + base64.b64encode(f"{REGISTRY_USER}:{REGISTRY_PASSWORD}".encode()).decode()

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        auth = request.headers.get("Authorization")
        if request.path == "/token":
            if auth != basic:
                return web.Response(status=401)
            return web.json_response({"token": f"bearer-for-{request.query['scope']}"})
        scope = "repository:devops-sample:pull"
        if bearer and auth != f"Bearer bearer-for-{scope}":
            challenge = f'Bearer realm="http://{request.host}/token",service="registry",scope="{scope}"'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})
        if not bearer and auth != basic:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="registry"'})
        if request.path == "/v2/":
            return web.json_response({})
        if request.path == "/v2/devops-sample/tags/list":
            start = TAGS.index(request.query["last"]) + 1 if "last" in request.query else 0
            page = TAGS[start : start + 2]
            headers = (
                {"Link": f'</v2/devops-sample/tags/list?last={page[-1]}&n=2>; rel="next"'}
                if start == 0
                else {}
            )
            return web.json_response({"name": "devops-sample", "tags": page}, headers=headers)
        if request.path == "/v2/devops-sample/manifests/0.0.1-bbb":
            body = json.dumps(MANIFEST).encode()
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            return web.Response(
                body=body, content_type=str(MANIFEST["mediaType"]), headers={"Docker-Content-Digest": digest}
            )
        return web.json_response({"errors": [{"code": "NAME_UNKNOWN"}]}, status=404)

    return handle, seen


def endpoint(site: Served, password: str = REGISTRY_PASSWORD) -> RegistryEndpoint:
    return RegistryEndpoint(
        host=f"127.0.0.1:{site.port}",
        scheme="http",
        username=Secret(REGISTRY_USER),
        password=Secret(password),
    )


@pytest.mark.parametrize("bearer", [False, True], ids=["basic", "token-flow"])
def test_registry_ping_tags_and_manifest(background: BackgroundLoop, bearer: bool) -> None:
    handler, seen = registry_handler(bearer)
    with serve(background, catch_all(handler)) as site:
        client = RegistryClient(endpoint(site))
        client.ping()
        assert client.tags("devops-sample") == TAGS  # two pages, following Link
        assert client.tags("unknown") == []
        manifest = client.manifest("devops-sample", "0.0.1-bbb")
        assert manifest is not None
        assert manifest.digest == "sha256:" + hashlib.sha256(json.dumps(MANIFEST).encode()).hexdigest()
        assert (manifest.media_type, len(manifest.layers)) == (MANIFEST["mediaType"], 2)
        assert manifest.config is not None
        assert manifest.config.digest == "sha256:" + "c" * 64
        assert client.manifest("devops-sample", "0.0.1-zzz") is None
        manifest_request = next(r for r in seen if "/manifests/" in r.path)
        assert "application/vnd.oci.image.manifest.v1+json" in manifest_request.headers["Accept"]


def test_registry_refuses_bad_credentials_without_printing_them(background: BackgroundLoop) -> None:
    handler, _ = registry_handler(bearer=False)
    with serve(background, catch_all(handler)) as site:
        with pytest.raises(RegistryError, match=r"/v2/ answered 401") as caught:
            RegistryClient(endpoint(site, password="wrong-password-456")).ping()
        assert "wrong-password-456" not in str(caught.value)


def tls_endpoint(site: Served, **trust: Any) -> RegistryEndpoint:
    return RegistryEndpoint(
        host=f"127.0.0.1:{site.port}",
        scheme="https",
        username=Secret(REGISTRY_USER),
        password=Secret(REGISTRY_PASSWORD),
        **trust,
    )


def test_registry_with_a_private_ca_is_trusted_through_its_bundle_or_insecure(
    background: BackgroundLoop,
) -> None:
    handler, seen = registry_handler(bearer=False)
    with serve_tls(background, catch_all(handler)) as site:
        with pytest.raises(ServiceUnreachable, match="TLS certificate is not trusted") as caught:
            RegistryClient(tls_endpoint(site)).ping()
        assert "registry.caBundle" in str(caught.value)
        assert "registry.insecure: true" in str(caught.value)
        assert seen == [], "nothing (no credentials) goes to a server whose certificate fails"
        RegistryClient(tls_endpoint(site, ca_pems=(CA_PEM,))).ping()
        RegistryClient(tls_endpoint(site, insecure=True)).ping()
        assert len(seen) == 2


def test_registry_path_is_the_start_of_every_repository_name(background: BackgroundLoop) -> None:
    handler, seen = registry_handler(bearer=False)
    with serve(background, catch_all(handler)) as site:
        team = RegistryEndpoint(
            host=f"127.0.0.1:{site.port}",
            scheme="http",
            username=Secret(REGISTRY_USER),
            password=Secret(REGISTRY_PASSWORD),
            path="org/team",
        )
        assert RegistryClient(team).manifest(team.repository("devops-sample"), "0.0.1-bbb") is None
    assert [request.path for request in seen] == ["/v2/org/team/devops-sample/manifests/0.0.1-bbb"]
    assert team.image_prefix == f"127.0.0.1:{site.port}/org/team"


# -- vault -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    with openbao_dev_server(tmp_path_factory.mktemp("openbao") / "openbao.log") as vault:
        # The KV v2 mount the Nautes API server writes deploy keys to (contract §3.4).
        hvac.Client(url=vault.url, token=vault.root_token).sys.enable_secrets_engine(
            "kv", path="git", options={"version": "2"}
        )
        yield vault


def test_vault_reports_field_names_and_secret_values(openbao: DevVault) -> None:
    root = hvac.Client(url=openbao.url, token=openbao.root_token)
    fields = {
        "deploykey": "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material-xyz\n",
        "fingerprint": "SHA256:f",
        "id": "5",
    }
    root.secrets.kv.v2.create_or_update_secret(
        mount_point="git", path="gitlab/repo-12/default/readonly", secret=fields
    )
    vault = VaultClient(openbao.url, Secret(openbao.root_token))
    assert vault.healthy()
    assert vault.kv_keys("git", "gitlab/repo-12/default/readonly") == {"deploykey", "fingerprint", "id"}
    assert vault.kv_keys("git", "gitlab/repo-99/default/readonly") is None
    secret = vault.kv_secret("git", "gitlab/repo-12/default/readonly")
    assert secret is not None
    assert secret["deploykey"].reveal() == fields["deploykey"]
    assert "key-material" not in repr(secret)


def test_vault_with_a_bad_token(openbao: DevVault) -> None:
    vault = VaultClient(openbao.url, Secret("not-a-valid-token-789"))
    assert not vault.healthy()
    with pytest.raises(VaultClientError) as caught:
        vault.kv_keys("git", "gitlab/repo-12/default/readonly")
    assert "not-a-valid-token-789" not in str(caught.value)


def test_vault_that_does_not_answer_is_unreachable_not_unhealthy() -> None:
    # "not healthy (sealed or not initialised)" would send the reader to unseal a Vault that is not there.
    with pytest.raises(
        ServiceUnreachable, match=r"^Vault at http://127.0.0.1:9 did not answer GET /v1/sys/health"
    ):
        VaultClient("http://127.0.0.1:9", Secret("whatever-token")).healthy()


# -- kubernetes ------------------------------------------------------------------------------------------

KUBE_TOKEN = "kube-admin-token-for-tests"
TEKTON = "tekton.dev/v1beta1"


def run(name: str, version: int, reason: str = "Running") -> dict[str, Any]:
    return {
        "apiVersion": TEKTON,
        "kind": "PipelineRun",
        "metadata": {"name": name, "namespace": "pr-demo", "resourceVersion": str(version)},
        "status": {"conditions": [{"type": "Succeeded", "reason": reason}]},
    }


class FakeKube:
    """Discovery, list, get, create/replace ConfigMaps, logs, and scripted watch sessions."""

    def __init__(self) -> None:
        self.listings = [([run("a", 3), run("b", 4)], "5"), ([run("a", 7, "Succeeded"), run("c", 8)], "9")]
        self.sessions: list[list[dict[str, Any]]] = [
            [
                {"type": "MODIFIED", "object": run("a", 6)},
                {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "6"}}},
            ],
            [
                {
                    "type": "ERROR",
                    "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"},
                }
            ],
            [{"type": "ADDED", "object": run("d", 10)}],
        ]
        self.watch_queries: list[dict[str, str]] = []
        self.list_queries: list[dict[str, str]] = []
        self.configmaps: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {KUBE_TOKEN}":
            return web.json_response({"kind": "Status", "code": 401, "reason": "Unauthorized"}, status=401)
        path = request.path
        if path == "/version":
            return web.json_response({"major": "1", "minor": "26", "gitVersion": "v1.26.1"})
        if path == "/api/v1":
            return web.json_response(
                {
                    "resources": [
                        {"name": "configmaps", "kind": "ConfigMap", "namespaced": True},
                        {"name": "namespaces", "kind": "Namespace", "namespaced": False},
                        {"name": "pods", "kind": "Pod", "namespaced": True},
                        {"name": "pods/log", "kind": "Pod", "namespaced": True},
                    ]
                }
            )
        if path == f"/apis/{TEKTON}":
            return web.json_response(
                {"resources": [{"name": "pipelineruns", "kind": "PipelineRun", "namespaced": True}]}
            )
        if path == f"/apis/{TEKTON}/namespaces/pr-demo/pipelineruns":
            return await self._pipelineruns(request)
        if path == "/api/v1/namespaces/pr-demo/pods/p1/log":
            return web.Response(text=f"log of {request.query.get('container')}\n", content_type="text/plain")
        if path.startswith("/api/v1/namespaces/pr-demo/configmaps"):
            return await self._configmaps(request)
        return web.json_response(
            {"kind": "Status", "code": 404, "reason": "NotFound", "message": f"{path} not found"}, status=404
        )

    async def _pipelineruns(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") != "true":
            self.list_queries.append(dict(request.query))
            items, version = self.listings.pop(0)
            return web.json_response(
                {
                    "items": [{k: v for k, v in i.items() if k not in ("kind", "apiVersion")} for i in items],
                    "metadata": {"resourceVersion": version},
                }
            )
        self.watch_queries.append(dict(request.query))
        response = web.StreamResponse()
        await response.prepare(request)
        for event in self.sessions.pop(0) if self.sessions else []:
            await response.write(json.dumps(event).encode() + b"\n")
        if not self.sessions:  # quiet until the server-side timeout, or until the client goes away
            deadline = time.monotonic() + float(request.query["timeoutSeconds"])
            while (
                time.monotonic() < deadline
                and request.transport is not None
                and not request.transport.is_closing()
            ):
                await asyncio.sleep(0.05)
        return response

    async def _configmaps(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            body = await request.json()
            name = body["metadata"]["name"]
            if name in self.configmaps:
                return web.json_response(
                    {"kind": "Status", "code": 409, "reason": "AlreadyExists"}, status=409
                )
            self.configmaps[name] = body
            return web.json_response(body, status=201)
        name = request.path.rsplit("/", 1)[1]
        if request.method == "PUT":
            self.configmaps[name] = await request.json()
        if name not in self.configmaps:
            return web.json_response(
                {"kind": "Status", "code": 404, "reason": "NotFound", "message": "nope"}, status=404
            )
        return web.json_response(self.configmaps[name])


@pytest.fixture
def fake_kube(background: BackgroundLoop, tmp_path: Path) -> Iterator[tuple[FakeKube, KubeClient]]:
    fake = FakeKube()
    with serve(background, catch_all(fake.handle)) as site:
        kubeconfig = tmp_path / "kubeconfig.yaml"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "c", "cluster": {"server": site.url}}],
                    "users": [{"name": "u", "user": {"token": KUBE_TOKEN}}],
                    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "x",
                }
            )
        )
        client = KubeClient(kubeconfig)
        yield fake, client
        client.close()


def test_kube_watch_continues_from_the_last_resource_version_and_relists_on_410(
    fake_kube: tuple[FakeKube, KubeClient],
) -> None:
    fake, client = fake_kube
    events = client.watch(TEKTON, "PipelineRun", "pr-demo", label_selector="branch=main", timeout_s=30)
    seen = []
    for kind, obj in events:
        seen.append((kind, obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))
        if obj["metadata"]["name"] == "d":
            break
    assert seen == [
        ("ADDED", "a", "3"),  # the listing
        ("ADDED", "b", "4"),
        ("MODIFIED", "a", "6"),  # first watch request
        ("DELETED", "b", "4"),  # 410 Gone: the re-listing's differences
        ("MODIFIED", "a", "7"),
        ("ADDED", "c", "8"),
        ("ADDED", "d", "10"),  # watch resumed from the re-listing
    ]
    assert [q["resourceVersion"] for q in fake.watch_queries] == ["5", "6", "9"]
    assert all(q["labelSelector"] == "branch=main" for q in fake.watch_queries + fake.list_queries)
    assert all(q["allowWatchBookmarks"] == "true" for q in fake.watch_queries)


def test_kube_watch_ends_at_its_timeout(fake_kube: tuple[FakeKube, KubeClient]) -> None:
    fake, client = fake_kube
    fake.sessions = []  # the watch stays quiet
    started = time.monotonic()
    events = list(client.watch(TEKTON, "PipelineRun", "pr-demo", timeout_s=0.5))
    assert [name for _, name in ((k, o["metadata"]["name"]) for k, o in events)] == ["a", "b"]
    assert time.monotonic() - started < 3


def test_kube_watch_error_other_than_gone_raises(fake_kube: tuple[FakeKube, KubeClient]) -> None:
    fake, client = fake_kube
    fake.sessions = [
        [
            {
                "type": "ERROR",
                "object": {"kind": "Status", "code": 500, "reason": "InternalError", "message": "boom"},
            }
        ]
    ]
    with pytest.raises(
        KubeError, match=r"^watch /apis/tekton\.dev/v1beta1/namespaces/pr-demo/pipelineruns: 500 "
    ):
        list(client.watch(TEKTON, "PipelineRun", "pr-demo", timeout_s=5))


def test_kube_get_list_configmap_logs(fake_kube: tuple[FakeKube, KubeClient]) -> None:
    fake, client = fake_kube
    assert client.version()["gitVersion"] == "v1.26.1"
    runs = client.list(TEKTON, "PipelineRun", "pr-demo", label_selector="branch=main")
    assert [(r["kind"], r["apiVersion"], r["metadata"]["name"]) for r in runs] == [
        ("PipelineRun", TEKTON, "a"),
        ("PipelineRun", TEKTON, "b"),
    ]
    assert client.get("v1", "ConfigMap", "registry-auth", "pr-demo") is None
    client.apply_configmap("pr-demo", "registry-auth", {"config.json": "{}"})
    client.apply_configmap("pr-demo", "registry-auth", {"config.json": '{"auths": {}}'})
    stored = client.get("v1", "ConfigMap", "registry-auth", "pr-demo")
    assert stored is not None
    assert stored["data"] == {"config.json": '{"auths": {}}'}
    assert [m for m in fake.requests if "configmaps" in m[1]][-3:-1] == [
        ("POST", "/api/v1/namespaces/pr-demo/configmaps"),
        ("PUT", "/api/v1/namespaces/pr-demo/configmaps/registry-auth"),
    ]
    assert client.pod_log("pr-demo", "p1", "step-clone") == "log of step-clone\n"
    with pytest.raises(KubeError, match="no kind Sensor"):
        client.list("v1", "Sensor")
    with pytest.raises(ValueError, match="ConfigMap is namespaced"):
        client.get("v1", "ConfigMap", "x")


# -- gitlab ----------------------------------------------------------------------------------------------

GITLAB_TOKEN = "glpat-gitlab-client-test"


class FakeGitLab:
    """The GitLab v4 calls GitLabClient makes, dispatched on the raw (still %-encoded) path."""

    def __init__(self, protected: bool) -> None:
        self.protected = protected
        self.calls: list[tuple[str, str, Any]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        path = request.raw_path.split("?")[0]
        self.calls.append((request.method, request.raw_path, body))
        if request.headers.get("PRIVATE-TOKEN") != GITLAB_TOKEN:
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        project = "/api/v4/projects/demo%2Fcoderepo-sc"
        routes: dict[tuple[str, str], Callable[[], web.Response]] = {
            ("GET", "/api/v4/user"): lambda: web.json_response({"id": 1, "username": "demo-user"}),
            ("GET", "/api/v4/groups/demo"): lambda: web.json_response(
                {"id": 42, "path": "demo", "full_path": "demo"}
            ),
            ("GET", "/api/v4/groups/42/projects"): lambda: web.json_response(
                [{"id": 57, "path": "coderepo-sc"}]
            ),
            ("GET", project): lambda: web.json_response(
                {"id": 57, "path_with_namespace": "demo/coderepo-sc"}
            ),
            ("GET", f"{project}/protected_branches/main"): lambda: (
                web.json_response({"name": "main"})
                if self.protected
                else web.json_response({"message": "404 Not found"}, status=404)
            ),
            ("POST", f"{project}/protected_branches"): lambda: web.json_response(
                {"name": "main"}, status=201
            ),
            ("PATCH", f"{project}/protected_branches/main"): lambda: web.json_response({"name": "main"}),
            ("GET", f"{project}/repository/files/pipelines%2Fmain.yaml/raw"): lambda: web.Response(
                text="kind: PipelineRun\n"
            ),
            ("GET", f"{project}/repository/commits"): lambda: web.json_response(
                [{"id": "abc", "title": "t"}]
            ),
        }
        route = routes.get((request.method, path))
        if route is None:
            return web.json_response({"message": "404 Not Found"}, status=404)
        return route()


@pytest.mark.parametrize("protected", [False, True], ids=["creates-protection", "updates-protection"])
def test_gitlab_client(background: BackgroundLoop, protected: bool) -> None:
    fake = FakeGitLab(protected)
    with serve(background, catch_all(fake.handle)) as site:
        gitlab = GitLabClient(site.url, Secret(GITLAB_TOKEN))
        assert gitlab.current_user()["username"] == "demo-user"
        assert gitlab.group_projects("demo") == [{"id": 57, "path": "coderepo-sc"}]
        assert gitlab.project("demo/coderepo-sc")["id"] == 57
        assert gitlab.file_text("demo/coderepo-sc", "pipelines/main.yaml", "main") == "kind: PipelineRun\n"
        assert (
            gitlab.commits("demo/coderepo-sc", "main", path="deployments/test/devops-sample.yaml")[0]["id"]
            == "abc"
        )
        commits_call = next(c for c in fake.calls if "/repository/commits" in c[1])
        assert "ref_name=main" in commits_call[1]
        assert "path=deployments%2Ftest%2Fdevops-sample.yaml" in commits_call[1]
        gitlab.allow_force_push("demo/coderepo-sc", "main")
        method, _, body = fake.calls[-1]
        if protected:
            assert (method, body) == ("PATCH", {"allow_force_push": True})
        else:
            assert (method, body) == ("POST", {"name": "main", "allow_force_push": True})
        with pytest.raises(GitLabNotFound, match="projects of group nope"):
            gitlab.group_projects("nope")
        with pytest.raises(GitLabNotFound):
            gitlab.file_text("demo/coderepo-sc", "missing.yaml", "main")


def test_gitlab_listings_follow_every_page_and_return_gitlab_s_items(background: BackgroundLoop) -> None:
    # the inventory's listings: one paginated GET each, items as GitLab sent them (no python-gitlab objects)
    project_57 = {"id": 57, "path_with_namespace": "demo/coderepo-sc", "namespace": {"id": 42}}
    project_58 = {"id": 58, "path_with_namespace": "demo/coderepo-deploy", "namespace": {"id": 42}}
    queries: list[tuple[str, dict[str, str]]] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.raw_path.split("?")[0]
        queries.append((path, dict(request.query)))
        if path == "/api/v4/projects" and request.query.get("page") != "2":
            nxt = f"{request.url.with_query({**request.query, 'page': '2'})}"
            return web.json_response([project_57], headers={"Link": f'<{nxt}>; rel="next"'})
        pages = {
            "/api/v4/projects": [project_58],
            "/api/v4/groups": [{"id": 42, "full_path": "demo"}],
            "/api/v4/projects/demo%2Fcoderepo-sc/hooks": [{"id": 3, "url": "https://hook"}],
            "/api/v4/projects/57/deploy_keys": [{"id": 4, "title": "k", "can_push": False}],
            "/api/v4/projects/57/access_tokens": [{"id": 5, "name": "t", "revoked": False}],
            "/api/v4/projects/57/members": [{"id": 6, "username": "u"}],
        }
        if path not in pages:
            return web.json_response({"message": "404 Project Not Found"}, status=404)
        return web.json_response(pages[path])

    with serve(background, catch_all(handle)) as site:
        gitlab = GitLabClient(site.url, Secret(GITLAB_TOKEN))
        assert gitlab.projects(min_access_level=40) == [project_57, project_58]
        assert queries[0] == (
            "/api/v4/projects",
            {"simple": "True", "min_access_level": "40"},
        )  # as python-gitlab sends it
        assert gitlab.groups() == [{"id": 42, "full_path": "demo"}]
        assert gitlab.project_hooks("demo/coderepo-sc") == [{"id": 3, "url": "https://hook"}]
        assert gitlab.project_deploy_keys(57) == [{"id": 4, "title": "k", "can_push": False}]
        assert gitlab.project_access_tokens(57) == [{"id": 5, "name": "t", "revoked": False}]
        assert gitlab.project_members(57) == [{"id": 6, "username": "u"}]
        with pytest.raises(GitLabNotFound, match=r"^deploy keys of project 99: not found \(404 Project Not"):
            gitlab.project_deploy_keys(99)


def test_gitlab_bad_token_is_an_error_without_the_token(background: BackgroundLoop) -> None:
    with serve(background, catch_all(FakeGitLab(protected=False).handle)) as site:
        with pytest.raises(GitLabError) as caught:
            GitLabClient(site.url, Secret("glpat-wrong-token-000")).current_user()
        assert caught.value.status == 401
        assert not isinstance(caught.value, GitLabNotFound)
        assert "glpat-wrong-token-000" not in str(caught.value)
