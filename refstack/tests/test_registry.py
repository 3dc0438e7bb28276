"""The in-memory OCI registry, driven by ``requests`` (and by ``docker`` when an engine is reachable)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from nautes_refstack.registry import Registry
from support.loop import BackgroundLoop

USER, PASSWORD = "pusher", "s3cret-pw"
AUTH = (USER, PASSWORD)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    """A registry served from its own event loop thread, so synchronous clients can call it."""
    with BackgroundLoop("registry-tests", timeout=10) as loop:
        server = Registry(USER, PASSWORD)
        loop.run(server.start())
        yield server
        loop.run(server.stop())


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(registry: Registry, name: str, data: bytes, chunks: int = 1) -> str:
    """POST + PATCH chunks + PUT ?digest=, the flow docker uses."""
    started = requests.post(f"{registry.url}/v2/{name}/blobs/uploads/", auth=AUTH, timeout=5)
    assert started.status_code == 202
    assert started.headers["Docker-Upload-UUID"]
    location = started.headers["Location"]
    step = max(1, len(data) // chunks)
    offset = 0
    while offset < len(data):
        chunk = data[offset : offset + step]
        patched = requests.patch(
            registry.url + location,
            data=chunk,
            headers={"Content-Range": f"{offset}-{offset + len(chunk) - 1}"},
            auth=AUTH,
            timeout=5,
        )
        assert patched.status_code == 202
        assert patched.headers["Range"] == f"0-{offset + len(chunk) - 1}"
        location = patched.headers["Location"]
        offset += len(chunk)
    digest = digest_of(data)
    done = requests.put(f"{registry.url}{location}?digest={digest}", auth=AUTH, timeout=5)
    assert done.status_code == 201, done.text
    assert done.headers["Docker-Content-Digest"] == digest
    return digest


def image_manifest(config: bytes, layer: bytes, media_type: str = OCI_MANIFEST) -> bytes:
    oci = media_type == OCI_MANIFEST
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json"
                if oci
                else "application/vnd.docker.container.image.v1+json",
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"
                    if oci
                    else "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": digest_of(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()


def test_base_endpoint_requires_basic_auth(registry: Registry) -> None:
    anonymous = requests.get(f"{registry.url}/v2/", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="registry"'
    assert anonymous.json() == {
        "errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": None}]
    }
    wrong = requests.get(f"{registry.url}/v2/", auth=(USER, "nope"), timeout=5)
    assert wrong.status_code == 401
    ok = requests.get(f"{registry.url}/v2/", auth=AUTH, timeout=5)
    assert ok.status_code == 200
    assert ok.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert registry.url == f"http://{registry.host}"


def test_push_and_pull_an_image_with_a_nested_name(registry: Registry) -> None:
    name = "team/apps/devops-sample"
    layer = gzip.compress(b"layer-bytes" * 1000)
    config = b'{"architecture":"amd64","os":"linux"}'
    assert push_blob(registry, name, layer, chunks=3) == digest_of(layer)
    monolithic = requests.post(
        f"{registry.url}/v2/{name}/blobs/uploads/?digest={digest_of(config)}",
        data=config,
        auth=AUTH,
        timeout=5,
    )
    assert monolithic.status_code == 201
    manifest = image_manifest(config, layer)
    put = requests.put(
        f"{registry.url}/v2/{name}/manifests/0.0.1-abc",
        data=manifest,
        headers={"Content-Type": OCI_MANIFEST},
        auth=AUTH,
        timeout=5,
    )
    assert put.status_code == 201, put.text
    assert put.headers["Docker-Content-Digest"] == digest_of(manifest)
    assert put.headers["Location"] == f"/v2/{name}/manifests/{digest_of(manifest)}"

    got = requests.get(f"{registry.url}/v2/{name}/manifests/0.0.1-abc", auth=AUTH, timeout=5)
    assert got.content == manifest
    assert got.headers["Content-Type"] == OCI_MANIFEST
    by_digest = requests.head(
        f"{registry.url}/v2/{name}/manifests/{digest_of(manifest)}", auth=AUTH, timeout=5
    )
    assert by_digest.status_code == 200
    assert by_digest.headers["Content-Length"] == str(len(manifest))
    blob = requests.get(f"{registry.url}/v2/{name}/blobs/{digest_of(layer)}", auth=AUTH, timeout=5)
    assert blob.content == layer
    head = requests.head(f"{registry.url}/v2/{name}/blobs/{digest_of(layer)}", auth=AUTH, timeout=5)
    assert head.headers["Content-Length"] == str(len(layer))

    tags = requests.get(f"{registry.url}/v2/{name}/tags/list", auth=AUTH, timeout=5)
    assert tags.json() == {"name": name, "tags": ["0.0.1-abc"]}
    catalog = requests.get(f"{registry.url}/v2/_catalog", auth=AUTH, timeout=5)
    assert name in catalog.json()["repositories"]


def test_docker_schema2_manifest_and_tag_pagination(registry: Registry) -> None:
    name = "paged"
    layer, config = gzip.compress(b"x"), b"{}"
    push_blob(registry, name, layer)
    push_blob(registry, name, config)
    manifest = image_manifest(config, layer, DOCKER_MANIFEST)
    for tag in ("a", "b", "c"):
        put = requests.put(
            f"{registry.url}/v2/{name}/manifests/{tag}",
            data=manifest,
            headers={"Content-Type": DOCKER_MANIFEST},
            auth=AUTH,
            timeout=5,
        )
        assert put.status_code == 201
    first = requests.get(f"{registry.url}/v2/{name}/tags/list?n=2", auth=AUTH, timeout=5)
    assert first.json()["tags"] == ["a", "b"]
    assert first.headers["Link"] == f'</v2/{name}/tags/list?last=b&n=2>; rel="next"'
    rest = requests.get(f"{registry.url}/v2/{name}/tags/list?n=2&last=b", auth=AUTH, timeout=5)
    assert rest.json()["tags"] == ["c"]
    got = requests.get(f"{registry.url}/v2/{name}/manifests/b", auth=AUTH, timeout=5)
    assert got.headers["Content-Type"] == DOCKER_MANIFEST


def test_digest_mismatch_is_rejected(registry: Registry) -> None:
    started = requests.post(f"{registry.url}/v2/bad/blobs/uploads/", auth=AUTH, timeout=5)
    wrong = digest_of(b"something else")
    done = requests.put(
        f"{registry.url}{started.headers['Location']}?digest={wrong}", data=b"abc", auth=AUTH, timeout=5
    )
    assert done.status_code == 400
    assert done.json()["errors"][0]["code"] == "DIGEST_INVALID"


def test_manifest_referencing_a_missing_blob_is_rejected(registry: Registry) -> None:
    layer, config = gzip.compress(b"never pushed"), b"{}"
    push_blob(registry, "partial", config)
    put = requests.put(
        f"{registry.url}/v2/partial/manifests/v1",
        data=image_manifest(config, layer),
        headers={"Content-Type": OCI_MANIFEST},
        auth=AUTH,
        timeout=5,
    )
    assert put.status_code == 400
    error = put.json()["errors"][0]
    assert error["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert error["detail"] == {"digest": digest_of(layer)}


def test_unknown_things_answer_with_their_oci_codes(registry: Registry) -> None:
    def code(response: requests.Response) -> tuple[int, str]:
        return response.status_code, response.json()["errors"][0]["code"]

    missing = digest_of(b"missing")
    assert code(requests.get(f"{registry.url}/v2/nope/tags/list", auth=AUTH, timeout=5)) == (
        404,
        "NAME_UNKNOWN",
    )
    assert code(requests.get(f"{registry.url}/v2/nope/manifests/latest", auth=AUTH, timeout=5)) == (
        404,
        "NAME_UNKNOWN",
    )
    assert code(requests.get(f"{registry.url}/v2/nope/blobs/{missing}", auth=AUTH, timeout=5)) == (
        404,
        "BLOB_UNKNOWN",
    )
    push_blob(registry, "known", b"{}")
    requests.put(
        f"{registry.url}/v2/known/manifests/v1",
        data=json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"digest": digest_of(b"{}")},
                "layers": [],
            }
        ),
        headers={"Content-Type": OCI_MANIFEST},
        auth=AUTH,
        timeout=5,
    ).raise_for_status()
    unknown_tag = requests.get(f"{registry.url}/v2/known/manifests/v2", auth=AUTH, timeout=5)
    assert code(unknown_tag) == (404, "MANIFEST_UNKNOWN")
    assert unknown_tag.json()["errors"][0]["message"] == "manifest unknown"
    assert code(requests.get(f"{registry.url}/v2/Upper/tags/list", auth=AUTH, timeout=5)) == (
        400,
        "NAME_INVALID",
    )
    upload = requests.patch(
        f"{registry.url}/v2/known/blobs/uploads/no-such-id", data=b"x", auth=AUTH, timeout=5
    )
    assert code(upload) == (404, "BLOB_UPLOAD_UNKNOWN")


def _docker_engine_reason() -> str | None:
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20, check=False)
    if probe.returncode != 0:
        return "no Docker engine is reachable (`docker info` failed)"
    return None


@pytest.mark.docker
def test_docker_push_and_pull(registry: Registry, tmp_path: Path) -> None:
    reason = _docker_engine_reason()
    if reason is not None:
        pytest.skip(reason)
    image = f"{registry.host}/e2e/scratch-file:1"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        for member_name, data in (
            ("Dockerfile", b"FROM scratch\nCOPY hello.txt /hello.txt\n"),
            ("hello.txt", b"hi\n"),
        ):
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()

    def docker(*args: str, stdin: bytes | None = None) -> None:
        run = subprocess.run(
            ["docker", "--config", str(config_dir), *args],
            input=stdin,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr.decode()

    docker("build", "-q", "-t", image, "-", stdin=context.getvalue())
    denied = subprocess.run(
        ["docker", "--config", str(config_dir), "push", image],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert denied.returncode != 0
    docker("login", "-u", USER, "--password-stdin", registry.host, stdin=PASSWORD.encode())
    docker("push", image)
    docker("rmi", image)
    docker("pull", image)
    docker("rmi", image)
    assert requests.get(f"{registry.url}/v2/e2e/scratch-file/tags/list", auth=AUTH, timeout=5).json()[
        "tags"
    ] == ["1"]
