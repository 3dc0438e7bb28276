"""Build an image from a Dockerfile that starts ``FROM scratch``, the way kaniko lays it out.

No base image can be pulled in the reference stack (nothing outside 127.0.0.1 is reachable), so ``FROM``
must be ``scratch`` and ``RUN`` is impossible (there is no shell in an empty image). Everything else a
scratch image can hold is built for real: ``COPY``/``ADD`` of context files (globs, directories, local tar
archives, ``--chown`` with numeric ids, ``--chmod``), ``WORKDIR``, ``ENV``, ``ARG``, ``LABEL``, ``EXPOSE``,
``USER``, ``VOLUME``, ``STOPSIGNAL``, ``SHELL``, ``ENTRYPOINT`` and ``CMD``. The filesystem changes go into
one gzip layer whose tar metadata is deterministic (sorted entries, mtime 0, no user names), so the same
sources give the same digest, as ``kaniko --reproducible`` does.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import json
import os
import posixpath
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nautes_refstack.tekton.tasks.dockerfile import (
    DockerfileError,
    Instruction,
    expand,
    key_values,
    words,
)

EPOCH = "1970-01-01T00:00:00Z"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_NOT_BUILDABLE = {
    "RUN": "RUN cannot be executed in the reference stack: a FROM scratch image has no shell to run it in",
    "HEALTHCHECK": "HEALTHCHECK is not supported by the reference stack's image builder",
    "ONBUILD": "ONBUILD is not supported by the reference stack's image builder",
}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class _Entry:
    kind: str  # "file", "dir" or "symlink"
    mode: int
    data: bytes = b""
    link: str = ""
    uid: int = 0
    gid: int = 0


@dataclass
class BuiltImage:
    layer: bytes
    config: bytes
    manifest: bytes

    @property
    def digest(self) -> str:
        return sha256(self.manifest)


@dataclass
class _State:
    env: dict[str, str] = field(default_factory=lambda: dict([DEFAULT_PATH.split("=", 1)]))
    args: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    user: str = ""
    stop_signal: str = ""
    shell: list[str] = field(default_factory=lambda: ["/bin/sh", "-c"])
    author: str = ""
    seen_from: bool = False

    def variables(self) -> dict[str, str]:
        return {**self.args, **self.env}


class ImageBuilder:
    """Builds one image from parsed instructions and a context directory; ``log`` gets kaniko-style lines."""

    def __init__(
        self, context: Path, context_in_pod: str, build_args: dict[str, str], log: Callable[[str], None]
    ) -> None:
        self._context = context.resolve()
        self._context_in_pod = context_in_pod
        self._build_args = build_args
        self._log = log
        self._state = _State()
        self._files: dict[str, _Entry] = {}

    def build(
        self, instructions: list[Instruction], extra_labels: dict[str, str] | None = None
    ) -> BuiltImage:
        """The image; ``extra_labels`` are kaniko's ``--label`` flags, applied after the Dockerfile."""
        for instruction in instructions:
            self._apply(instruction)
        self._state.labels.update(extra_labels or {})
        if not self._state.seen_from:
            raise DockerfileError("no FROM instruction: a Dockerfile must start with FROM")
        self._log("Taking snapshot of full filesystem...")
        layer_tar = self._layer_tar()
        layer = gzip.compress(layer_tar, compresslevel=6, mtime=0)
        config = self._config(sha256(layer_tar), [instruction.text for instruction in instructions])
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "size": len(config), "digest": sha256(config)},
            "layers": [{"mediaType": LAYER_MEDIA_TYPE, "size": len(layer), "digest": sha256(layer)}],
        }
        return BuiltImage(layer=layer, config=config, manifest=json.dumps(manifest, indent=None).encode())

    # --- instructions ------------------------------------------------------------------------------
    def _apply(self, instruction: Instruction) -> None:
        keyword = instruction.keyword
        if keyword in _NOT_BUILDABLE:
            raise DockerfileError(_NOT_BUILDABLE[keyword])
        if keyword == "ARG":
            self._arg(instruction.arguments)
            return
        if keyword == "FROM":
            self._from(instruction)
            return
        if not self._state.seen_from:
            raise DockerfileError(f"{keyword} before FROM: a Dockerfile must start with FROM (or ARG)")
        self._log(instruction.text)
        handler = self._handlers().get(keyword)
        if handler is None:
            raise DockerfileError(f"unknown instruction: {keyword}")
        handler(instruction)

    def _handlers(self) -> dict[str, Callable[[Instruction], None]]:
        return {
            "WORKDIR": self._workdir,
            "ENV": self._env,
            "LABEL": self._label,
            "EXPOSE": self._expose,
            "ENTRYPOINT": lambda instruction: setattr(self._state, "entrypoint", self._command(instruction)),
            "CMD": lambda instruction: setattr(self._state, "cmd", self._command(instruction)),
            "USER": lambda instruction: setattr(
                self._state, "user", self._expand(instruction.arguments).strip()
            ),
            "STOPSIGNAL": lambda instruction: setattr(
                self._state, "stop_signal", instruction.arguments.strip()
            ),
            "MAINTAINER": lambda instruction: setattr(self._state, "author", instruction.arguments.strip()),
            "VOLUME": self._volume,
            "SHELL": self._shell,
            "COPY": lambda instruction: self._copy(instruction, is_add=False),
            "ADD": lambda instruction: self._copy(instruction, is_add=True),
        }

    def _from(self, instruction: Instruction) -> None:
        if self._state.seen_from:
            raise DockerfileError(
                "multi-stage builds (a second FROM) are not supported by the reference stack"
            )
        image = self._expand(instruction.arguments).split()[0] if instruction.arguments.strip() else ""
        self._log(instruction.text)
        if image.lower() != "scratch":
            raise DockerfileError(
                f"base image {image!r} cannot be pulled in the reference stack: "
                "no registry outside 127.0.0.1 is reachable, so only FROM scratch images can be built"
            )
        self._log("No base image, nothing to extract")
        self._state.seen_from = True

    def _arg(self, arguments: str) -> None:
        name, has_default, default = arguments.strip().partition("=")
        if not name:
            raise DockerfileError("ARG requires exactly one argument")
        if name in self._build_args:
            self._state.args[name] = self._build_args[name]
        elif has_default:
            self._state.args[name] = self._expand(default.strip().strip('"'))

    def _workdir(self, instruction: Instruction) -> None:
        path = self._absolute(self._expand(instruction.arguments.strip()))
        self._state.workdir = path
        self._make_directories(path)
        self._log(f"Changed working directory to {path}")

    def _env(self, instruction: Instruction) -> None:
        for key, value in key_values(instruction.arguments, "ENV"):
            self._state.env[key] = self._expand(value)

    def _label(self, instruction: Instruction) -> None:
        for key, value in key_values(instruction.arguments, "LABEL"):
            self._state.labels[self._expand(key)] = self._expand(value)

    def _expose(self, instruction: Instruction) -> None:
        for port in words(self._expand(instruction.arguments), "EXPOSE"):
            number, _, protocol = port.partition("/")
            if not number.isdigit() or protocol not in ("", "tcp", "udp", "sctp"):
                raise DockerfileError(f"EXPOSE: invalid port {port!r}")
            self._state.exposed_ports[f"{number}/{protocol or 'tcp'}"] = {}

    def _volume(self, instruction: Instruction) -> None:
        for volume in words(self._expand(instruction.arguments), "VOLUME"):
            self._state.volumes[volume] = {}

    def _shell(self, instruction: Instruction) -> None:
        shell = instruction.json_form()
        if not shell:
            raise DockerfileError("SHELL requires the arguments to be in JSON form")
        self._state.shell = shell

    def _command(self, instruction: Instruction) -> list[str]:
        exec_form = instruction.json_form()
        if exec_form is not None:
            return exec_form
        return [*self._state.shell, instruction.arguments.strip()]

    # --- files -------------------------------------------------------------------------------------
    def _copy(self, instruction: Instruction, *, is_add: bool) -> None:
        if "from" in instruction.flags:
            raise DockerfileError(
                "COPY --from needs another stage or image; not supported by the reference stack"
            )
        uid, gid = self._owner(instruction.flags.get("chown", ""))
        chmod = instruction.flags.get("chmod")
        mode = int(chmod, 8) if chmod else None
        arguments = [self._expand(argument) for argument in words(instruction.arguments, instruction.keyword)]
        if len(arguments) < 2:
            raise DockerfileError(f"{instruction.keyword} requires at least two arguments")
        *sources, destination = arguments
        matches: list[Path] = []
        for source in sources:
            if is_add and _URL.match(source):
                raise DockerfileError(f"ADD {source}: remote URLs cannot be fetched in the reference stack")
            matches.extend(self._context_matches(source))
        target = self._absolute(destination)
        into_directory = destination.endswith("/") or destination in (".", "./") or self._is_directory(target)
        if len(matches) > 1 and not into_directory:
            raise DockerfileError(
                "when specifying multiple sources in a COPY command, "
                "destination must be a directory and end in '/'"
            )
        for match in matches:
            if match.is_dir():
                self._copy_tree(match, target, uid, gid, mode)
            elif is_add and tarfile.is_tarfile(match):
                self._extract(match, target, uid, gid)
            else:
                path = posixpath.join(target, match.name) if into_directory else target
                self._add_file(match, path, uid, gid, mode)

    def _context_matches(self, source: str) -> list[Path]:
        pattern = source.lstrip("/") or "."
        found = sorted(glob.glob(pattern, root_dir=self._context, include_hidden=True))
        if not found and not glob.has_magic(pattern) and (self._context / pattern).exists():
            found = [pattern]
        if not found:
            shown = posixpath.join(self._context_in_pod, pattern)
            raise DockerfileError(
                f"failed to get files used from context: failed to get fileinfo for {shown}: "
                f"lstat {shown}: no such file or directory"
            )
        paths = []
        for relative in found:
            path = (self._context / relative).resolve()
            if path != self._context and self._context not in path.parents:
                raise DockerfileError(f"forbidden path outside the build context: {source}")
            paths.append(self._context / relative)
        return paths

    def _copy_tree(self, source: Path, target: str, uid: int, gid: int, mode: int | None) -> None:
        self._make_directories(target, uid, gid)
        for root, directories, files in os.walk(source):
            relative_root = os.path.relpath(root, source)
            base = target if relative_root == "." else posixpath.join(target, Path(relative_root).as_posix())
            for name in sorted(directories):
                path = Path(root) / name
                if path.is_symlink():
                    self._files[posixpath.join(base, name)] = _Entry(
                        "symlink", 0o777, link=os.readlink(path), uid=uid, gid=gid
                    )
                else:
                    self._make_directories(posixpath.join(base, name), uid, gid)
            for name in sorted(files):
                self._add_file(Path(root) / name, posixpath.join(base, name), uid, gid, mode)

    def _add_file(self, source: Path, path: str, uid: int, gid: int, mode: int | None) -> None:
        self._make_directories(posixpath.dirname(path))
        if source.is_symlink():
            self._files[path] = _Entry("symlink", 0o777, link=os.readlink(source), uid=uid, gid=gid)
            return
        permissions = mode if mode is not None else source.stat().st_mode & 0o7777
        self._files[path] = _Entry("file", permissions, data=source.read_bytes(), uid=uid, gid=gid)

    def _extract(self, archive: Path, target: str, uid: int, gid: int) -> None:
        """ADD of a local tar archive unpacks it into the destination directory."""
        self._make_directories(target, uid, gid)
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                name = posixpath.normpath(member.name).lstrip("/")
                if name.startswith(".."):
                    raise DockerfileError(
                        f"ADD {archive.name}: archive member {member.name!r} leaves the destination"
                    )
                path = posixpath.join(target, name)
                if member.isdir():
                    self._make_directories(path, uid, gid)
                elif member.issym():
                    self._make_directories(posixpath.dirname(path))
                    self._files[path] = _Entry("symlink", 0o777, link=member.linkname, uid=uid, gid=gid)
                elif member.isfile():
                    extracted = tar.extractfile(member)
                    data = extracted.read() if extracted is not None else b""
                    self._make_directories(posixpath.dirname(path))
                    self._files[path] = _Entry("file", member.mode & 0o7777, data=data, uid=uid, gid=gid)

    def _make_directories(self, path: str, uid: int = 0, gid: int = 0) -> None:
        current = "/"
        for part in [part for part in path.split("/") if part]:
            current = posixpath.join(current, part)
            if current not in self._files:
                self._files[current] = _Entry("dir", 0o755, uid=uid, gid=gid)
            elif self._files[current].kind != "dir":
                raise DockerfileError(f"cannot create directory {current}: a file exists at that path")

    def _is_directory(self, path: str) -> bool:
        entry = self._files.get(path)
        return path == "/" or (entry is not None and entry.kind == "dir")

    # --- helpers -----------------------------------------------------------------------------------
    def _expand(self, text: str) -> str:
        return expand(text, self._state.variables())

    def _absolute(self, path: str) -> str:
        joined = path if path.startswith("/") else posixpath.join(self._state.workdir, path)
        normalised = posixpath.normpath(joined)
        return "/" if normalised in ("/", "//") else normalised

    @staticmethod
    def _owner(chown: str) -> tuple[int, int]:
        if not chown:
            return 0, 0
        user, _, group = chown.partition(":")
        if not user.isdigit() or (group and not group.isdigit()):
            raise DockerfileError(
                f"--chown={chown}: user and group names cannot be resolved in a FROM scratch image; "
                "use numeric ids"
            )
        return int(user), int(group or user)

    def _layer_tar(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self._files):
                entry = self._files[path]
                info = tarfile.TarInfo(path.lstrip("/"))
                info.mode, info.uid, info.gid, info.mtime = entry.mode, entry.uid, entry.gid, 0
                info.uname = info.gname = ""
                if entry.kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif entry.kind == "symlink":
                    info.type, info.linkname = tarfile.SYMTYPE, entry.link
                    tar.addfile(info)
                else:
                    info.size = len(entry.data)
                    tar.addfile(info, io.BytesIO(entry.data))
        return buffer.getvalue()

    def _config(self, diff_id: str, history: list[str]) -> bytes:
        state = self._state
        container_config: dict[str, Any] = {"Env": [f"{key}={value}" for key, value in state.env.items()]}
        if state.entrypoint is not None:
            container_config["Entrypoint"] = state.entrypoint
        if state.cmd is not None:
            container_config["Cmd"] = state.cmd
        if state.workdir != "/":
            container_config["WorkingDir"] = state.workdir
        optional = {
            "Labels": state.labels,
            "ExposedPorts": state.exposed_ports,
            "Volumes": state.volumes,
            "User": state.user,
            "StopSignal": state.stop_signal,
        }
        container_config.update({key: value for key, value in optional.items() if value})
        config: dict[str, Any] = {
            "architecture": "amd64",
            "os": "linux",
            "created": EPOCH,
            "config": container_config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [
                {
                    "created": EPOCH,
                    "created_by": " && ".join(history),
                    "comment": "built by the nautes-e2e reference stack's kaniko task (one layer)",
                }
            ],
        }
        if state.author:
            config["author"] = state.author
        return json.dumps(config, sort_keys=True).encode()
