"""Fixtures of the service container tests: the engine (or a skip naming why not) and a world per test,
checked to hold no container once the test is over."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from tests.support.service_containers import containers_of, new_world, require_docker


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    client = require_docker()
    yield client
    client.close()


@pytest.fixture
def world(docker_engine: docker.DockerClient) -> Iterator[str]:
    """A fresh world name; whatever the test started under it must be gone when it ends."""
    name = new_world()
    yield name
    left = containers_of(docker_engine, name)
    for container_id in left:
        docker_engine.containers.get(container_id).remove(force=True)
    assert not left, f"containers of {name} left behind: {left}"
