"""``nautes-e2e world prune`` against the real Docker engine: labelled containers, networks and volumes of a
world, a k3d-like and kind-like cluster's nodes, go; unlabelled objects and other worlds' stay.

The containers run a tiny image built here (static busybox, ``sleep``); the clusters' nodes are such
containers carrying the labels k3d and kind put on theirs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from nautes_e2e.cli import main
from nautes_e2e.containers.docker_env import docker_unavailable_reason
from nautes_e2e.containers.images import BUSYBOX_BINARY, ContextFile, LocalImage, build_image
from nautes_e2e.containers.labels import labels
from nautes_e2e.worlds.prune import find_leftovers, prune
from nautes_e2e.worlds.state import Resource, StateFile

SLEEPER_IMAGE = "nautes-e2e/test-sleeper:1"
SLEEPER = LocalImage(
    SLEEPER_IMAGE,
    "test-sleeper",
    "an idle container for the prune tests (static busybox)",
    'FROM scratch\nCOPY rootfs/ /\nCMD ["/bin/busybox", "sleep", "600"]\n',
    lambda: [ContextFile("bin/busybox", BUSYBOX_BINARY, 0o755)],
)


def engine_with_sleeper() -> docker.DockerClient:
    """A client of the engine, the sleeper image built; skips, naming what is missing, where it cannot."""
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a Docker engine: {reason}")
    if not BUSYBOX_BINARY.is_file():
        pytest.skip(f"needs a static busybox at {BUSYBOX_BINARY}: apt-get install -y busybox-static")
    engine = docker.from_env()
    try:
        engine.images.get(SLEEPER_IMAGE)
    except docker.errors.ImageNotFound:
        build_image(engine, SLEEPER)
    return engine


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    engine = engine_with_sleeper()
    yield engine
    engine.close()


class Objects:
    """Creates Docker objects for a test and removes whatever is left of them afterwards."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []

    def container(self, name: str, container_labels: dict[str, str], network: str | None = None) -> Any:
        container = self.client.containers.run(
            SLEEPER_IMAGE, name=name, labels=container_labels, network=network, detach=True
        )
        self.containers.append(name)
        return container

    def network(self, name: str, network_labels: dict[str, str]) -> Any:
        self.networks.append(name)
        return self.client.networks.create(name, labels=network_labels)

    def volume(self, name: str, volume_labels: dict[str, str]) -> Any:
        self.volumes.append(name)
        return self.client.volumes.create(name, labels=volume_labels)

    def exists(self, kind: str, name: str) -> bool:
        manager = {"container": self.client.containers, "network": self.client.networks}.get(
            kind, self.client.volumes
        )
        try:
            manager.get(name)
        except docker.errors.NotFound:
            return False
        return True

    def remove_all(self) -> None:
        for name in self.containers:
            if self.exists("container", name):
                self.client.containers.get(name).remove(force=True)
        for name in self.networks:
            if self.exists("network", name):
                self.client.networks.get(name).remove()
        for name in self.volumes:
            if self.exists("volume", name):
                self.client.volumes.get(name).remove(force=True)


@pytest.fixture
def objects(client: docker.DockerClient) -> Iterator[Objects]:
    made = Objects(client)
    yield made
    made.remove_all()


def test_prune_removes_a_killed_world_and_nothing_else(objects: Objects, tmp_path: Path) -> None:
    tag = f"t{os.getpid()}"
    world, other = f"prune-a-{tag}", f"prune-b-{tag}"
    network = objects.network(f"{world}-net", labels(world, "network")).name
    plain_network = objects.network(f"{tag}-plain-net", {}).name
    objects.container(f"{world}-gitlab", labels(world, "gitlab"), network)
    objects.container(f"{tag}-plain", {})
    objects.container(f"{other}-vault", labels(other, "vault"))
    # A kind node on the world's network (kind takes no labels of ours), a k3d node with ours and its volume.
    objects.container(f"kind-{tag}-control-plane", {"io.x-k8s.kind.cluster": f"kind-{tag}"}, network)
    objects.container(f"k3d-{tag}-server-0", {**labels(world, "cluster"), "k3d.cluster": f"k3d-{tag}"})
    objects.volume(f"k3d-{tag}-data", {"k3d.cluster": f"k3d-{tag}"})
    objects.volume(f"{world}-data", labels(world, "installer"))
    objects.volume(f"{tag}-plain-data", {})
    # A kind cluster only the state file knows (its node is on no network of ours).
    objects.container(f"state-{tag}-control-plane", {"io.x-k8s.kind.cluster": f"state-{tag}"})
    state = StateFile(tmp_path, world)
    state.create("kind")
    state.record(Resource("cluster", f"state-{tag}", "cluster", "kind"))
    lines: list[str] = []

    found = find_leftovers(objects.client, tmp_path, world)
    dry = prune(objects.client, tmp_path, world, dry_run=True, say=lines.append)

    assert [(item.kind, item.ref, item.detail) for item in found] == [
        ("cluster", f"k3d-{tag}", "k3d"),
        ("cluster", f"kind-{tag}", "kind"),
        ("cluster", f"state-{tag}", "kind"),
        ("container", f"{world}-gitlab", "gitlab"),
        ("volume", f"{world}-data", ""),
        ("network", network, ""),
        ("state", str(tmp_path / world), ""),
    ]
    assert dry == []
    assert lines[0] == f"would remove cluster k3d-{tag} (k3d) of world {world}"
    assert all(objects.exists("container", name) for name in objects.containers)

    lines.clear()
    failed = prune(objects.client, tmp_path, world, say=lines.append)

    assert failed == []
    assert len(lines) == len(found)
    assert all(line.startswith("removed ") for line in lines)
    gone = [
        f"{world}-gitlab",
        f"kind-{tag}-control-plane",
        f"k3d-{tag}-server-0",
        f"state-{tag}-control-plane",
    ]
    assert not any(objects.exists("container", name) for name in gone)
    assert not objects.exists("volume", f"k3d-{tag}-data")
    assert not objects.exists("volume", f"{world}-data")
    assert not objects.exists("network", network)
    assert not (tmp_path / world).exists()
    assert objects.exists("container", f"{tag}-plain")
    assert objects.exists("container", f"{other}-vault")
    assert objects.exists("network", plain_network)
    assert objects.exists("volume", f"{tag}-plain-data")
    assert find_leftovers(objects.client, tmp_path, world) == []


def test_the_prune_command_says_what_it_removes(
    objects: Objects, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = f"prune-cli-{os.getpid()}"
    objects.container(f"{world}-registry", labels(world, "registry"))
    monkeypatch.setenv("NAUTES_E2E_STATE_DIR", str(tmp_path))

    assert main(["world", "prune", "--world", world, "--dry-run"]) == 0
    assert objects.exists("container", f"{world}-registry")
    assert main(["world", "prune", "--world", world]) == 0
    assert main(["world", "prune", "--world", world]) == 0

    assert capsys.readouterr().out.splitlines() == [
        f"would remove container {world}-registry (registry) of world {world}",
        f"removed container {world}-registry (registry) of world {world}",
        f"nothing to prune of world {world}",
    ]
    assert not objects.exists("container", f"{world}-registry")
