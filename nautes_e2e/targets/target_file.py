"""The target file (``schema: 1``): the one description of a world the harness did not start.

Read strictly (:mod:`nautes_e2e.yamlfile`), and checked whole before anything is used: a missing environment
variable is better reported before the first request than as a 401 in the middle of a stage. Secrets are
never in the file, only the names of the environment variables that hold them; errors name the file, the
field and the variable, never a value. Relative paths are relative to the target file.

TLS: each service may name a PEM file of private CAs (``nautes.caBundle``, ``gitlab.caBundle``,
``vault.caBundle``, ``registry.caBundle``); the top-level ``caBundle`` is for every service. They are added
to the system's CAs, never instead of them (:mod:`nautes_e2e.clients.trust`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, Field, PlainValidator, ValidationInfo, model_validator

from nautes_e2e.clients.registry import RegistryEndpoint
from nautes_e2e.clients.trust import check_pem, combined_bundle
from nautes_e2e.secrets import Secret, register
from nautes_e2e.targets.world import ClusterEndpoint, World
from nautes_e2e.yamlfile import (
    FieldError,
    StrictModel,
    Text,
    context_of,
    load_file,
    parse_yaml,
    text,
    unique_names,
)

SCHEMA_VERSION = 1
#: The fields of a kubeconfig's ``users[].user`` that hold a credential.
KUBECONFIG_CREDENTIAL_FIELDS = ("token", "password", "client-key-data")
# An image reference's registry and path (distribution/reference, reference.go): a host (DNS labels or an
# IPv4 address, upper case allowed) with an optional port, then path components of lower-case letters and
# digits joined by one '.', one or two '_', or dashes.
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_REGISTRY_HOST = re.compile(rf"{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*(?::[0-9]+)?")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")


class TargetError(Exception):
    """A target could not provide its world."""


class TargetFileError(TargetError, ValueError):
    """The target file is invalid; the text names the file and the field (or variable) at fault."""


@dataclass(frozen=True)
class _Reading:
    """What validating a target file needs besides the file: where it is, and the environment."""

    directory: Path
    environ: Mapping[str, str]


def _url(*schemes: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            raise ValueError(f"must be a {' or '.join(schemes)} URL")
        return value.rstrip("/")

    return check


def _secret(name: object, info: ValidationInfo) -> Secret:
    variable = text(name)
    value = context_of(info, _Reading).environ.get(variable)
    if not value:
        raise ValueError(f"environment variable {variable} is not set (or empty)")
    return Secret(value)


def _file(value: object, info: ValidationInfo) -> Path:
    path = Path(text(value))
    path = path if path.is_absolute() else (context_of(info, _Reading).directory / path).absolute()
    if not path.is_file():
        raise ValueError(f"file {path} does not exist")
    return path


def _schema(version: int) -> int:
    if version != SCHEMA_VERSION:
        raise ValueError(f"must be {SCHEMA_VERSION} (this harness reads schema {SCHEMA_VERSION} only)")
    return version


def _registry_url(url: str) -> str:
    """``host[:port][/path]`` as the start of an image reference (``ghcr.io/nautes-labs``)."""
    if "://" in url:
        raise ValueError("must be host[:port][/path] as in an image reference, without a scheme")
    host, _, path = url.partition("/")
    if not _REGISTRY_HOST.fullmatch(host):
        raise ValueError(f"{host!r} is not a registry host[:port]")
    for component in path.split("/") if path else []:
        if not component:
            raise ValueError("the path has an empty segment (a doubled or trailing '/')")
        if not _PATH_COMPONENT.fullmatch(component):
            raise ValueError(
                f"path segment {component!r} must be lower-case letters and digits, joined by '.', '_' or '-'"
            )
    return url


def _pem(path: Path) -> Path:
    check_pem(path)
    return path


def _ip(ip: str) -> str:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise ValueError(f"{ip!r} is not an IP address") from None
    return ip


_WebUrl = Annotated[Text, AfterValidator(_url("http", "https"))]
#: The name of an environment variable, read as the secret it holds.
_SecretEnv = Annotated[Secret, PlainValidator(_secret)]
#: A file that exists, relative to the target file unless absolute.
_ExistingFile = Annotated[Path, PlainValidator(_file)]
#: A file of PEM CA certificates, added to the system's CAs for one service (or all).
_PemFile = Annotated[Path, PlainValidator(_file), AfterValidator(_pem)]


class _Nautes(StrictModel):
    url: _WebUrl
    ca_bundle: _PemFile | None = None


class _GitLab(StrictModel):
    url: _WebUrl
    ssh_url: Annotated[Text, AfterValidator(_url("ssh"))]
    token_env: _SecretEnv
    ca_bundle: _PemFile | None = None


class _Vault(StrictModel):
    url: _WebUrl
    token_env: _SecretEnv
    ca_bundle: _PemFile | None = None


class _Registry(StrictModel):
    url: Annotated[Text, AfterValidator(_registry_url)]
    scheme: Literal["http", "https"] | None = None
    username_env: _SecretEnv | None = None
    password_env: _SecretEnv | None = None
    #: Plain HTTP or an unverified certificate: kaniko's --insecure and --skip-tls-verify.
    insecure: bool = False
    ca_bundle: _PemFile | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> _Registry:
        if (self.username_env is None) != (self.password_env is None):
            missing = "passwordEnv" if self.password_env is None else "usernameEnv"
            raise FieldError("give both usernameEnv and passwordEnv, or neither", missing)
        return self


class _Cluster(StrictModel):
    name: Text
    kubeconfig: _ExistingFile
    api_server: _WebUrl
    ip: Annotated[Text, AfterValidator(_ip)]


def _positive(number: float) -> float:
    if number <= 0:
        raise ValueError("must be a positive number")
    return number


_Seconds = Annotated[float, AfterValidator(_positive)]


class _Timeouts(StrictModel):
    """How long this world's steps may take, where the stages' defaults (fit for a real installation) are
    wrong for it: its pace against a real installation's (``scale``: 0.01 is a hundred times faster), per
    stage name, and for one Nautes API request."""

    scale: Annotated[float, AfterValidator(_positive)] = 1.0
    stages: dict[str, _Seconds] = Field(default_factory=dict)
    nautes_request: _Seconds | None = None


class _TargetFile(StrictModel):
    """The file as written (see docs/internals.md, "The world the stack writes")."""

    schema_version: Annotated[int, AfterValidator(_schema)] = Field(alias="schema")
    simulated: bool | None = None
    nautes: _Nautes
    gitlab: _GitLab
    vault: _Vault
    registry: _Registry
    clusters: Annotated[list[_Cluster], AfterValidator(unique_names("cluster"))]
    ca_bundle: _PemFile | None = None
    timeouts: _Timeouts = Field(default_factory=_Timeouts)


def load_target_file(path: Path, environ: Mapping[str, str], *, target_name: str = "existing") -> World:
    """Read and validate a target file; secrets are looked up in ``environ`` by the names the file gives."""
    file = load_file(path, _TargetFile, TargetFileError, context=_Reading(path.parent, environ))
    registry = file.registry
    host, _, registry_path = registry.url.partition("/")

    def pems(service: Path | None) -> tuple[Path, ...]:
        return tuple(pem for pem in (file.ca_bundle, service) if pem is not None)

    for cluster in file.clusters:
        register_kubeconfig_credentials(cluster.kubeconfig)
    return World(
        target=target_name,
        simulated=bool(file.simulated),
        nautes_url=file.nautes.url,
        gitlab_url=file.gitlab.url,
        gitlab_ssh_url=file.gitlab.ssh_url,
        gitlab_token=file.gitlab.token_env,
        vault_url=file.vault.url,
        vault_token=file.vault.token_env,
        registry=RegistryEndpoint(
            host=host,
            scheme=registry.scheme or "https",
            username=registry.username_env,
            password=registry.password_env,
            path=registry_path,
            insecure=registry.insecure,
            ca_pems=pems(registry.ca_bundle),
        ),
        clusters={
            cluster.name: ClusterEndpoint(
                name=cluster.name, kubeconfig=cluster.kubeconfig, api_server=cluster.api_server, ip=cluster.ip
            )
            for cluster in file.clusters
        },
        nautes_ca_bundle=combined_bundle(pems(file.nautes.ca_bundle)),
        gitlab_ca_bundle=combined_bundle(pems(file.gitlab.ca_bundle)),
        vault_ca_bundle=combined_bundle(pems(file.vault.ca_bundle)),
        stage_timeouts=dict(file.timeouts.stages),
        timeout_scale=file.timeouts.scale,
        nautes_request_timeout_s=file.timeouts.nautes_request,
    )


def register_kubeconfig_credentials(path: Path) -> None:
    """Register the kubeconfig's text, and each credential in it on its own, with the redactor.

    The whole text alone is not enough: pytest's ``--showlocals`` and other ``repr()``s cut a long string
    in the middle and keep its end, where a kubeconfig's ``token`` sits. A file that is not a kubeconfig is
    left to the Kubernetes client to reject, with its own message.
    """
    text = path.read_text(errors="replace")
    register(text)
    try:
        config = parse_yaml(text)
    except yaml.YAMLError:
        return
    users = config.get("users") if isinstance(config, dict) else None
    for entry in users if isinstance(users, list) else []:
        user = entry.get("user") if isinstance(entry, dict) else None
        for field in KUBECONFIG_CREDENTIAL_FIELDS:
            value = user.get(field) if isinstance(user, dict) else None
            if isinstance(value, str):
                register(value)
