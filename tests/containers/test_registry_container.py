"""RegistryContainer against the locally built Distribution image: htpasswd authentication, the OCI
distribution API (push and pull of a blob and a manifest), Docker's own push and pull, HTTPS with the
world's CA, labels, and nothing left after stop."""

from __future__ import annotations

import hashlib
import json

import bcrypt
import docker
import pytest
import requests

from nautes_e2e.containers.images import DISTRIBUTION_IMAGE, GITLAB_REPLAY_IMAGE
from nautes_e2e.containers.labels import COMPONENT_LABEL, WORLD_LABEL
from nautes_e2e.containers.registry import RegistryContainer
from nautes_e2e.secrets import Secret
from tests.support.https import CA_PEM
from tests.support.service_containers import ca_signed_tls, containers_of, require_image

USERNAME = "pusher-test"
PASSWORD = Secret("registry-password-" + "x" * 12)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
CONFIG_DIR = "/etc/docker/registry"


@pytest.fixture(scope="module")
def image(docker_engine: docker.DockerClient) -> str:
    return require_image(docker_engine, DISTRIBUTION_IMAGE)


def push_blob(session: requests.Session, base: str, name: str, content: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    started = session.post(f"{base}/v2/{name}/blobs/uploads/", timeout=10)
    assert started.status_code == 202, started.text
    location = requests.compat.urljoin(base, started.headers["Location"])
    done = session.put(location, params={"digest": digest}, data=content, timeout=10)
    assert done.status_code == 201, done.text
    return digest


def test_push_and_pull_with_the_user_and_401_without(
    docker_engine: docker.DockerClient, image: str, world: str
) -> None:
    registry = RegistryContainer(image, world=world, username=USERNAME, password=PASSWORD)
    registry.start()
    try:
        base = registry.url
        assert base == f"http://{registry.host}"
        anonymous = requests.get(f"{base}/v2/", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="nautes-e2e"'
        assert requests.get(f"{base}/v2/", auth=(USERNAME, "wrong-password"), timeout=10).status_code == 401

        session = requests.Session()
        session.auth = (USERNAME, PASSWORD.reveal())
        layer = push_blob(session, base, "team/app", b"layer bytes")
        config_blob = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
        config = push_blob(session, base, "team/app", config_blob)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config, "size": len(config_blob)},
                "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": 11}],
            }
        ).encode()
        pushed = session.put(
            f"{base}/v2/team/app/manifests/0.0.1", data=manifest, headers={"Content-Type": OCI_MANIFEST}
        )
        assert pushed.status_code == 201, pushed.text
        pulled = session.get(f"{base}/v2/team/app/manifests/0.0.1", headers={"Accept": OCI_MANIFEST})
        assert pulled.content == manifest
        assert session.get(f"{base}/v2/team/app/blobs/{layer}").content == b"layer bytes"
        assert session.get(f"{base}/v2/team/app/tags/list").json() == {"name": "team/app", "tags": ["0.0.1"]}
        assert requests.get(f"{base}/v2/team/app/tags/list", timeout=10).status_code == 401

        labels = registry.get_wrapped_container().attrs["Config"]["Labels"]
        assert (labels[WORLD_LABEL], labels[COMPONENT_LABEL]) == (world, "registry")
        assert PASSWORD.reveal() not in registry.logs_redacted()
        assert '"GET /v2/team/app/tags/list HTTP/1.1" 200' in registry.logs_redacted()
    finally:
        registry.stop()
    assert containers_of(docker_engine, world) == []


def test_docker_pushes_and_pulls_through_it(
    docker_engine: docker.DockerClient, image: str, world: str
) -> None:
    small = require_image(docker_engine, GITLAB_REPLAY_IMAGE)
    registry = RegistryContainer(image, world=world, username=USERNAME, password=PASSWORD)
    registry.start()
    repository = f"{registry.host}/nautes-e2e/pushed"
    auth = {"username": USERNAME, "password": PASSWORD.reveal()}
    try:
        docker_engine.images.get(small).tag(repository, "1")
        output = docker_engine.images.push(repository, "1", auth_config=auth)
        assert '"error"' not in output, output
        docker_engine.images.remove(f"{repository}:1")
        pulled = docker_engine.images.pull(repository, "1", auth_config=auth)
        assert pulled.id == docker_engine.images.get(small).id
    finally:
        for leftover in docker_engine.images.list(name=repository):
            docker_engine.images.remove(leftover.id if not leftover.tags else leftover.tags[0], force=True)
        registry.stop()


def test_https_with_the_world_ca(image: str, world: str) -> None:
    registry = RegistryContainer(
        image, world=world, username=USERNAME, password=PASSWORD, tls=ca_signed_tls()
    )
    registry.start()
    try:
        assert registry.url.startswith("https://127.0.0.1:")
        answer = requests.get(f"{registry.url}/v2/", auth=(USERNAME, PASSWORD.reveal()), verify=str(CA_PEM))
        assert answer.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{registry.url}/v2/", timeout=10)
    finally:
        registry.stop()


def test_configuration_and_htpasswd(docker_engine: docker.DockerClient) -> None:
    """testcontainers' container asks the engine for its version as soon as it is made."""
    registry = RegistryContainer(world="w", username=USERNAME, password=PASSWORD, tls=ca_signed_tls())
    assert registry.config() == {
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {"filesystem": {"rootdirectory": "/var/lib/registry"}, "delete": {"enabled": True}},
        "http": {
            "addr": ":5000",
            "tls": {
                "certificate": f"{CONFIG_DIR}/registry.crt",
                "key": f"{CONFIG_DIR}/registry.key",
            },
        },
        "auth": {"htpasswd": {"realm": "nautes-e2e", "path": f"{CONFIG_DIR}/htpasswd"}},
    }
    user, hashed = registry.htpasswd().rstrip(b"\n").split(b":", 1)
    assert user == USERNAME.encode()
    assert hashed.startswith(b"$2b$10$")
    assert bcrypt.checkpw(PASSWORD.reveal().encode(), hashed)
    assert PASSWORD.reveal().encode() not in registry.htpasswd()


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [("", PASSWORD, "not empty"), ("a:b", PASSWORD, "no ':'"), ("u", Secret(""), "password is empty")],
)
def test_bad_credentials_are_refused_before_anything_starts(
    username: str, password: Secret, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RegistryContainer(world="w", username=username, password=password)
