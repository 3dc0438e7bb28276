"""For the tests of the service containers: a Docker engine or a clear skip, the locally built images, a
world name of the test's own, the test CA's TLS files, and what Docker still holds of a world."""

from __future__ import annotations

import uuid

import docker
import pytest

from nautes_e2e.containers.docker_env import docker_client, docker_unavailable_reason, image_present
from nautes_e2e.containers.images import LOCAL_IMAGES, ensure_image
from nautes_e2e.containers.labels import WORLD_LABEL
from nautes_e2e.containers.tls import TlsFiles
from tests.support.https import CA_PEM, TLS_DIR

_KEY_BEGIN = b"-----BEGIN PRIVATE KEY-----"


def require_docker() -> docker.DockerClient:
    """A client of the engine, or a skip that says why there is none."""
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a Docker engine: {reason}")
    return docker_client()


def require_image(client: docker.DockerClient, tag: str) -> str:
    """``tag``, built here if it is missing; a skip with the exact install command when its source
    binary is not on this machine."""
    reason = LOCAL_IMAGES[tag].unavailable_reason()
    if reason is not None and not image_present(client, tag):
        pytest.skip(reason)
    ensure_image(client, tag)
    return tag


def new_world() -> str:
    """A world name no other test uses (the containers of a test are found by it)."""
    return f"test-{uuid.uuid4().hex[:10]}"


def containers_of(client: docker.DockerClient, world: str) -> list[str]:
    """Ids of every container (running or not) labelled with ``world``."""
    return [c.id for c in client.containers.list(all=True, filters={"label": f"{WORLD_LABEL}={world}"})]


def ca_signed_tls() -> TlsFiles:
    """The test CA's serving certificate for 127.0.0.1/localhost (tests/support/tls) as TLS files."""
    pem = (TLS_DIR / "server.pem").read_bytes()
    cert, key = pem.split(_KEY_BEGIN, 1)
    return TlsFiles(cert_pem=cert.strip() + b"\n", key_pem=_KEY_BEGIN + key, ca_pem=CA_PEM.read_bytes())
