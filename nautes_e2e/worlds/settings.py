"""The settings of a real world (``--target k3d`` / ``--target kind``): its name, images, versions and ports.

Every default is the version the Nautes installer itself uses, so that a world here is the world the
installation guide describes; each one names its source. A YAML world config (:data:`WORLD_CONFIG_ENV`, or
``nautes-e2e world plan --world-config PATH``) overrides any of them, read strictly the way the target file
is (:mod:`nautes_e2e.yamlfile`: an unknown key or a wrong type names the file and the field, before anything
starts); :data:`WORLD_NAME_ENV` overrides the name alone (two worlds side by side on one CI machine).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from nautes_e2e.containers.gitlab import DEFAULT_GITLAB_IMAGE
from nautes_e2e.containers.registry import UPSTREAM_REGISTRY_IMAGE
from nautes_e2e.containers.vault import INSTALLER_VAULT_IMAGE
from nautes_e2e.worlds.installer.settings import INSTALLER_IMAGE, NAUTES_VERSION, VAULT_PROXY_IMAGE
from nautes_e2e.yamlfile import StrictModel, Text, load_file

Provider = Literal["k3d", "kind"]
PROVIDERS: tuple[Provider, ...] = ("k3d", "kind")

#: A YAML file of world settings (the same keys as ``--world-config``), for runs started by pytest.
WORLD_CONFIG_ENV = "NAUTES_E2E_WORLD_CONFIG"
#: The world's name, over the config's and the default.
WORLD_NAME_ENV = "NAUTES_E2E_WORLD_NAME"

#: k3d limits a cluster name to 32 characters so that its object names fit Docker's 64
#: (k3d-io/k3d v5.8.3, pkg/types/defaults.go, DefaultClusterNameMaxLength); kind's node is
#: ``<name>-control-plane``. A DNS label in both, since the name ends up in host names.
NAME_MAX_LENGTH = 32
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")

#: K3s v1.21.14+k3s1 is what the installer installs (nautes-labs/installer v0.3.8, nautes/k3s.yaml:
#: INSTALL_K3S_VERSION=v1.21.14+k3s1) and what the guide uses (nautes docs, user-guide/run-a-pipeline.md);
#: the image tag spells '+' as '-'. The tenant template's Tekton 0.37.5 needs Kubernetes <= 1.24.
K3S_IMAGE = "rancher/k3s:v1.21.14-k3s1"
#: The kind release whose node images include Kubernetes 1.21, and that image by digest, as kind's release
#: notes require ("You must use the @sha256 digest to guarantee an image built for this release";
#: kubernetes-sigs/kind v0.20.0 release notes, "Images pre-built for this release", 1.21).
KIND_VERSION = "v0.20.0"
KIND_NODE_IMAGE = (
    "kindest/node:v1.21.14@sha256:8a4e9bb3f415d2bb81629ce33ef9c76ba514c14d707f9797a01e3216376ba093"
)
#: The newest Kubernetes Tekton 0.37.5 runs on, from the same release notes (1.24), for a version matrix.
KIND_NODE_IMAGE_1_24 = (
    "kindest/node:v1.24.15@sha256:7db4f8bea3e14b82d12e044e25e34bd53754b7f2b0e9d56df21774e6f66a70ab"
)
#: The k3d release the commands are written against (k3d-io/k3d v5.8.3, cmd/cluster/clusterCreate.go).
K3D_VERSION = "v5.8.3"
#: The service images the world pulls (their modules say where each version comes from): GitLab CE
#: 15.10.8-ce.0 and Vault 1.10.4 as the installer installs them, the upstream Distribution registry; the
#: installer v0.3.8 (the newest), Nautes v0.4.2 and its vault-proxy.
GITLAB_IMAGE = DEFAULT_GITLAB_IMAGE
VAULT_IMAGE = INSTALLER_VAULT_IMAGE
REGISTRY_IMAGE = UPSTREAM_REGISTRY_IMAGE
#: The shared Docker network's subnet: fixed, so that its gateway (the one address the host, every
#: container and every pod reach the world's services at) is known before anything starts and ``world plan``
#: can print exact commands. Outside Docker's default address pools (172.17-31/16, 192.168/20).
SUBNET = "10.213.213.0/24"


@dataclass(frozen=True)
class Images:
    """The Docker images a world runs (clusters' nodes, service containers, the installer)."""

    k3s: str = K3S_IMAGE
    kind_node: str = KIND_NODE_IMAGE
    gitlab: str = GITLAB_IMAGE
    vault: str = VAULT_IMAGE
    registry: str = REGISTRY_IMAGE
    installer: str = INSTALLER_IMAGE
    vault_proxy: str = VAULT_PROXY_IMAGE


@dataclass(frozen=True)
class Ports:
    """The ports the world publishes on the network's gateway address (see :data:`SUBNET`)."""

    #: The Kubernetes API (k3d's documented example port).
    kube_api: int = 6550
    gitlab_https: int = 8443
    gitlab_ssh: int = 2222
    #: Vault's and vault-proxy's ports as the installer sets them (nautes-labs/installer v0.3.8,
    #: nautes/group_vars/all.yml: vault_port 8200, vault_proxy_port 8000).
    vault: int = 8200
    vault_proxy: int = 8000
    registry: int = 5000
    #: The NodePorts the installer gives Traefik (HTTPS: Nautes API, Argo CD, Dex) and the tenant
    #: vcluster (nautes-labs/installer v0.3.8, nautes/roles/nautes/defaults/main.yml), published from the
    #: node.
    ingress_https: int = 31443
    vcluster: int = 32000


@dataclass(frozen=True)
class Tools:
    """The CLI versions the commands are written for (preflight requires at least their major/minor)."""

    k3d: str = K3D_VERSION
    kind: str = KIND_VERSION


@dataclass(frozen=True)
class WorldSettings:
    """Everything a k3d or kind world is brought up with; :func:`load_world_settings` makes one."""

    provider: Provider
    name: str
    images: Images = field(default_factory=Images)
    ports: Ports = field(default_factory=Ports)
    tools: Tools = field(default_factory=Tools)
    nautes_version: str = NAUTES_VERSION
    subnet: str = SUBNET
    #: Images the installed Nautes must pull from elsewhere (the dead gcr.io ones), over the installer
    #: module's defaults: ``{"gcr.io/kubebuilder/kube-rbac-proxy:v0.8.0": "quay.io/...:v0.8.0"}``.
    image_overrides: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def network(self) -> str:
        """The shared Docker network of the cluster's nodes and the service containers."""
        return f"{self.name}-net"

    @property
    def gateway(self) -> str:
        """The network's gateway: the host as every container sees it, where every service is published."""
        return str(next(ipaddress.ip_network(self.subnet).hosts()))

    @property
    def node_image(self) -> str:
        return self.images.k3s if self.provider == "k3d" else self.images.kind_node

    def published_ports(self) -> dict[str, int]:
        """Every port the world publishes, by what it is for (preflight checks they are free)."""
        return {f.name: getattr(self.ports, f.name) for f in fields(self.ports)}


class WorldConfigError(ValueError):
    """The world config (or an environment override) is invalid; the text names the file and field."""


def default_name(provider: Provider) -> str:
    return f"nautes-e2e-{provider}"


def check_name(name: str) -> str:
    """``name`` if it can name a k3d/kind cluster and the Docker objects around it."""
    if len(name) > NAME_MAX_LENGTH or not _NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} must be lowercase letters, digits and inner dashes, at most {NAME_MAX_LENGTH} "
            "characters (it names the cluster, its nodes and the world's containers)"
        )
    return name


def _port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise ValueError("must be a port number (1-65535)")
    return port


def _subnet(subnet: str) -> str:
    try:
        network = ipaddress.ip_network(subnet)
    except ValueError:
        raise ValueError(f"{subnet!r} is not a network in CIDR notation (e.g. {SUBNET})") from None
    if network.version != 4 or network.num_addresses < 16:
        raise ValueError("must be an IPv4 network with at least 16 addresses")
    return subnet


_Port = Annotated[int, AfterValidator(_port)]


class _ImagesConfig(StrictModel):
    #: ``k3s``, not the camelCase generator's ``k3S``.
    k3s: Text | None = Field(default=None, alias="k3s")
    kind_node: Text | None = None
    gitlab: Text | None = None
    vault: Text | None = None
    registry: Text | None = None
    installer: Text | None = None
    vault_proxy: Text | None = None


class _PortsConfig(StrictModel):
    kube_api: _Port | None = None
    gitlab_https: _Port | None = None
    gitlab_ssh: _Port | None = None
    vault: _Port | None = None
    vault_proxy: _Port | None = None
    registry: _Port | None = None
    ingress_https: _Port | None = None
    vcluster: _Port | None = None


class _ToolsConfig(StrictModel):
    k3d: Text | None = None
    kind: Text | None = None


class _WorldConfig(StrictModel):
    """The world config file: every key optional, camelCase (``vaultProxy``, ``imageOverrides``)."""

    name: Annotated[Text, AfterValidator(check_name)] | None = None
    images: _ImagesConfig = Field(default_factory=_ImagesConfig)
    ports: _PortsConfig = Field(default_factory=_PortsConfig)
    tools: _ToolsConfig = Field(default_factory=_ToolsConfig)
    nautes_version: Text | None = None
    subnet: Annotated[Text, AfterValidator(_subnet)] | None = None
    image_overrides: dict[str, Text] = Field(default_factory=dict)


def _given(model: StrictModel) -> dict[str, Any]:
    return {key: value for key, value in model.model_dump().items() if value is not None}


def load_world_settings(
    provider: Provider, config: Path | None = None, environ: Mapping[str, str] | None = None
) -> WorldSettings:
    """The settings of a ``provider`` world: the defaults, then ``config`` (or the file
    :data:`WORLD_CONFIG_ENV` names), then :data:`WORLD_NAME_ENV`. Raises :class:`WorldConfigError`."""
    environ = os.environ if environ is None else environ
    if config is None and environ.get(WORLD_CONFIG_ENV):
        config = Path(environ[WORLD_CONFIG_ENV])
    settings = WorldSettings(provider=provider, name=default_name(provider))
    if config is not None:
        file = load_file(config, _WorldConfig, WorldConfigError)
        settings = replace(
            settings,
            name=file.name or settings.name,
            images=replace(settings.images, **_given(file.images)),
            ports=replace(settings.ports, **_given(file.ports)),
            tools=replace(settings.tools, **_given(file.tools)),
            nautes_version=file.nautes_version or settings.nautes_version,
            subnet=file.subnet or settings.subnet,
            image_overrides=MappingProxyType(dict(file.image_overrides)),
        )
    name = environ.get(WORLD_NAME_ENV)
    if name:
        try:
            settings = replace(settings, name=check_name(name))
        except ValueError as error:
            raise WorldConfigError(f"{WORLD_NAME_ENV}: {error}") from None
    return settings
