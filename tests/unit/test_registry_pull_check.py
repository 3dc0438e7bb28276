"""RegistryClient.manifest and blob_presence against a tiny registry double, and the quickstart's
pull check on top of them: a manifest whose blobs are all there passes; a missing layer, a blob of another
size, or a manifest whose bytes do not hash to the digest the registry names it by is said."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from aiohttp import web

from nautes_e2e.clients import RegistryClient, RegistryEndpoint, RegistryError
from nautes_e2e.secrets import Secret
from suites.quickstart.image_pull import reported_image, unpullable
from tests.support.http import Handler, catch_all, serve
from tests.support.loop import BackgroundLoop

CONFIG = b'{"architecture":"amd64"}'
LAYER = b"layer bytes"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": digest(CONFIG),
            "size": 24,
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(LAYER), "size": 11}
        ],
    }
).encode()


@pytest.fixture(scope="module")
def background() -> Iterator[BackgroundLoop]:
    with BackgroundLoop() as loop:
        yield loop


def registry(blobs: dict[str, bytes], manifest_digest: str | None = None) -> Handler:
    """Serves ``devops-sample:1`` (named ``manifest_digest``, its real digest by default) and ``blobs``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/v2/devops-sample/manifests/1":
            headers = {"Docker-Content-Digest": manifest_digest or digest(MANIFEST)}
            return web.Response(
                body=MANIFEST, headers=headers, content_type="application/vnd.oci.image.manifest.v1+json"
            )
        name = request.path.rpartition("/")[2]
        if request.path.startswith("/v2/devops-sample/blobs/") and name in blobs:
            data = blobs[name]
            headers = {"Docker-Content-Digest": name, "Content-Length": str(len(data))}
            return web.Response(status=200, headers=headers)
        return web.Response(status=404)

    return handle


def client(port: int) -> RegistryClient:
    return RegistryClient(RegistryEndpoint(f"127.0.0.1:{port}", "http", Secret("user"), Secret("password-1")))


def test_an_image_whose_blobs_are_all_there_is_pullable(background: BackgroundLoop) -> None:
    with serve(background, catch_all(registry({digest(CONFIG): CONFIG, digest(LAYER): LAYER}))) as site:
        registry_client = client(site.port)
        content = registry_client.manifest("devops-sample", "1")
        assert content is not None
        assert content.digest == content.computed_digest == digest(MANIFEST)
        assert [blob.digest for blob in content.blobs] == [digest(CONFIG), digest(LAYER)]
        assert registry_client.blob_presence("devops-sample", digest(LAYER)).size == len(LAYER)
        assert unpullable(registry_client, "devops-sample", content) == []
        assert registry_client.manifest("devops-sample", "2") is None


def test_a_missing_layer_and_a_blob_of_another_size_are_said(background: BackgroundLoop) -> None:
    with serve(background, catch_all(registry({digest(CONFIG): CONFIG + b" "}))) as site:
        registry_client = client(site.port)
        content = registry_client.manifest("devops-sample", "1")
        assert content is not None
        assert unpullable(registry_client, "devops-sample", content) == [
            f"its config {digest(CONFIG)} is 25 bytes, the manifest says 24",
            f"its layer {digest(LAYER)} (11 bytes) is missing: HEAD /v2/devops-sample/blobs/{digest(LAYER)} "
            "answered 404",
        ]


def test_a_manifest_served_under_another_digest_is_said(background: BackgroundLoop) -> None:
    other = "sha256:" + "0" * 64
    with serve(
        background, catch_all(registry({digest(CONFIG): CONFIG, digest(LAYER): LAYER}, other))
    ) as site:
        registry_client = client(site.port)
        content = registry_client.manifest("devops-sample", "1")
        assert content is not None
        assert unpullable(registry_client, "devops-sample", content) == [
            f"the registry names the manifest {other}, but the bytes it serves hash to {digest(MANIFEST)}"
        ]


def test_a_descriptor_without_a_size_is_refused(background: BackgroundLoop) -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = {"schemaVersion": 2, "config": {"digest": digest(CONFIG)}, "layers": []}
        return web.json_response(body)

    with (
        serve(background, catch_all(handle)) as site,
        pytest.raises(RegistryError, match="has no integer size"),
    ):
        client(site.port).manifest("devops-sample", "1")


def test_the_reported_image_is_the_task_result_with_an_image_digest() -> None:
    results = {
        "git-clone": {"commit": "abc"},
        "image-build": {"IMAGE_DIGEST": "sha256:1", "IMAGE_URL": "r/i:1"},
    }
    found = reported_image(results)
    assert found is not None
    assert (found.task, found.url, found.digest) == ("image-build", "r/i:1", "sha256:1")
    assert reported_image({"git-clone": {"commit": "abc"}}) is None
