"""The target file (``schema: 1``): the one description of a world the harness did not start.

Strict on purpose: an unknown key is more likely a typo than a future feature, and a missing environment
variable is better reported before the first request than as a 401 in the middle of a stage. Secrets are
never in the file, only the names of the environment variables that hold them; errors name the file, the
field and the variable, never a value. Relative paths are relative to the target file.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from nautes_e2e.clients.registry import RegistryEndpoint
from nautes_e2e.secrets import Secret, register
from nautes_e2e.targets.world import ClusterEndpoint, World

SCHEMA_VERSION = 1
#: The fields of a kubeconfig's ``users[].user`` that hold a credential.
KUBECONFIG_CREDENTIAL_FIELDS = ("token", "password", "client-key-data")


class TargetError(Exception):
    """A target could not provide its world."""


class TargetFileError(TargetError, ValueError):
    """The target file is invalid; the text names the file and the field (or variable) at fault."""


class _Section:
    """One mapping of the file, read field by field; ``finish()`` rejects keys nobody asked for."""

    def __init__(self, file: Path, where: str, data: Any) -> None:
        self.file = file
        self.where = where
        if not isinstance(data, dict):
            raise self.error("", "must be a mapping")
        self.data: dict[str, Any] = data
        self.read: set[str] = set()

    def error(self, key: str, problem: str) -> TargetFileError:
        field = f"{self.where}.{key}" if self.where and key else (self.where or key or "(top level)")
        return TargetFileError(f"{self.file}: {field}: {problem}")

    def optional(self, key: str) -> Any:
        self.read.add(key)
        return self.data.get(key)

    def required(self, key: str) -> Any:
        value = self.optional(key)
        if value is None:
            raise self.error(key, "is required")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.optional(key)
        return None if value is None else self.text(key)

    def text(self, key: str) -> str:
        value = self.required(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "must be a non-empty string")
        return value

    def url(self, key: str, schemes: tuple[str, ...]) -> str:
        value = self.text(key)
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            raise self.error(key, f"must be a {' or '.join(schemes)} URL")
        return value.rstrip("/")

    def optional_secret(self, key: str, environ: Mapping[str, str]) -> Secret | None:
        return None if self.optional(key) is None else self.secret(key, environ)

    def secret(self, key: str, environ: Mapping[str, str]) -> Secret:
        variable = self.text(key)
        value = environ.get(variable)
        if not value:
            raise self.error(key, f"environment variable {variable} is not set (or empty)")
        return Secret(value)

    def optional_path(self, key: str) -> Path | None:
        return None if self.optional(key) is None else self.path(key)

    def path(self, key: str) -> Path:
        path = Path(self.text(key))
        path = path if path.is_absolute() else (self.file.parent / path).absolute()
        if not path.is_file():
            raise self.error(key, f"file {path} does not exist")
        return path

    def section(self, key: str) -> _Section:
        return _Section(self.file, f"{self.where}.{key}" if self.where else key, self.required(key))

    def finish(self) -> None:
        unknown = sorted(str(key) for key in self.data if key not in self.read)
        if unknown:
            also = f" (also: {', '.join(unknown[1:])})" if unknown[1:] else ""
            raise self.error(unknown[0], f"unknown key{also}")


def load_target_file(path: Path, environ: Mapping[str, str], *, target_name: str = "existing") -> World:
    """Read and validate a target file; secrets are looked up in ``environ`` by the names the file gives."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise TargetFileError(f"{path}: cannot read the target file ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TargetFileError(f"{path}: not valid YAML{where}") from None
    top = _Section(path, "", data)
    schema = top.required("schema")
    if schema != SCHEMA_VERSION or isinstance(schema, bool):
        raise top.error(
            "schema", f"must be {SCHEMA_VERSION} (this harness reads schema {SCHEMA_VERSION} only)"
        )
    simulated = top.optional("simulated")
    if simulated is not None and not isinstance(simulated, bool):
        raise top.error("simulated", "must be true or false")

    nautes = top.section("nautes")
    nautes_url = nautes.url("url", ("http", "https"))
    nautes.finish()

    gitlab = top.section("gitlab")
    gitlab_url = gitlab.url("url", ("http", "https"))
    gitlab_ssh_url = gitlab.url("sshUrl", ("ssh",))
    gitlab_token = gitlab.secret("tokenEnv", environ)
    gitlab.finish()

    vault = top.section("vault")
    vault_url = vault.url("url", ("http", "https"))
    vault_token = vault.secret("tokenEnv", environ)
    vault.finish()

    world = World(
        target=target_name,
        simulated=bool(simulated),
        nautes_url=nautes_url,
        gitlab_url=gitlab_url,
        gitlab_ssh_url=gitlab_ssh_url,
        gitlab_token=gitlab_token,
        vault_url=vault_url,
        vault_token=vault_token,
        registry=_registry(top.section("registry"), environ),
        clusters=_clusters(top, path),
        ca_bundle=top.optional_path("caBundle"),
    )
    top.finish()
    return world


def _registry(section: _Section, environ: Mapping[str, str]) -> RegistryEndpoint:
    host = section.text("url")
    if "://" in host or "/" in host:
        raise section.error("url", "must be host[:port] as in an image reference, without scheme or path")
    scheme = section.optional_text("scheme") or "https"
    if scheme not in ("http", "https"):
        raise section.error("scheme", "must be http or https")
    username = section.optional_secret("usernameEnv", environ)
    password = section.optional_secret("passwordEnv", environ)
    if (username is None) != (password is None):
        missing = "passwordEnv" if password is None else "usernameEnv"
        raise section.error(missing, "give both usernameEnv and passwordEnv, or neither")
    section.finish()
    return RegistryEndpoint(host=host, scheme=scheme, username=username, password=password)


def _clusters(top: _Section, path: Path) -> dict[str, ClusterEndpoint]:
    entries = top.required("clusters")
    if not isinstance(entries, list) or not entries:
        raise top.error("clusters", "must be a non-empty list")
    clusters: dict[str, ClusterEndpoint] = {}
    for index, entry in enumerate(entries):
        section = _Section(path, f"clusters[{index}]", entry)
        name = section.text("name")
        if name in clusters:
            raise section.error("name", f"duplicate cluster name {name}")
        ip = section.text("ip")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise section.error("ip", f"{ip!r} is not an IP address") from None
        kubeconfig = section.path("kubeconfig")
        register_kubeconfig_credentials(kubeconfig)
        clusters[name] = ClusterEndpoint(
            name=name,
            kubeconfig=kubeconfig,
            api_server=section.url("apiServer", ("http", "https")),
            ip=ip,
        )
        section.finish()
    return clusters


def register_kubeconfig_credentials(path: Path) -> None:
    """Register the kubeconfig's text, and each credential in it on its own, with the redactor.

    The whole text alone is not enough: pytest's ``--showlocals`` and other ``repr()``s cut a long string
    in the middle and keep its end, where a kubeconfig's ``token`` sits. A file that is not a kubeconfig is
    left to the Kubernetes client to reject, with its own message.
    """
    text = path.read_text(errors="replace")
    register(text)
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        return
    users = config.get("users") if isinstance(config, dict) else None
    for entry in users if isinstance(users, list) else []:
        user = entry.get("user") if isinstance(entry, dict) else None
        for field in KUBECONFIG_CREDENTIAL_FIELDS:
            value = user.get(field) if isinstance(user, dict) else None
            if isinstance(value, str):
                register(value)
