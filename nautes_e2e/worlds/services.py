"""The world's service containers (GitLab CE, Vault, the registry): the container modules of
:mod:`nautes_e2e.containers`, placed on the world's network and published on its gateway.

The container modules publish on 127.0.0.1 (what the local target needs). A real world's services must also be
reachable from the other containers and from the cluster's pods at one address that every party shares
(GitLab's ``external_url`` is written into clone URLs and webhooks, the installer's ``vault_url`` into every
Nautes component): the network's gateway. So each port is published twice, at the same port number, on
127.0.0.1 (the containers' own readiness checks use it) and on the gateway. docker-py takes a list of
bindings per port (docker 7.2, ``docker/utils/utils.py``, ``convert_port_bindings``).

Each container gets a fixed name, ``<world>-<component>`` (vault-proxy joins ``<world>-vault``'s network
namespace by that name), and its component's name as its alias on the world's network.
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol, cast

import tenacity

from nautes_e2e.containers.gitlab import GitLabContainer
from nautes_e2e.containers.registry import REGISTRY_PORT, RegistryContainer
from nautes_e2e.containers.service import LOOPBACK, ServiceContainer
from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.containers.vault import VAULT_PORT, VaultContainer
from nautes_e2e.secrets import Secret
from nautes_e2e.worlds.installer.vault_proxy import PORT as VAULT_PROXY_PORT
from nautes_e2e.worlds.settings import WorldSettings

GITLAB_SSH_CONTAINER_PORT = 22


class Service(Protocol):
    """A started (or starting) service of the world, as the bring-up uses it."""

    @property
    def container_id(self) -> str | None: ...

    def start(self) -> object: ...

    def logs_redacted(self) -> str: ...


class GitLabService(Service, Protocol):
    def mint_token(self) -> Secret: ...


class ServiceFactory(Protocol):
    """Makes the world's services (not started); tests substitute one that records."""

    def gitlab(self, settings: WorldSettings, tls: TlsFiles, root_password: Secret) -> GitLabService: ...

    def vault(self, settings: WorldSettings, tls: TlsFiles) -> Service: ...

    def registry(
        self, settings: WorldSettings, tls: TlsFiles, username: str, password: Secret
    ) -> Service: ...

    def wait_answers(self, url: str, ca_pem: bytes, timeout_s: float) -> None:
        """Return once ``url`` answers 2xx over TLS verified against ``ca_pem`` (a service the harness
        started with ``docker run``, not through a container module)."""


def container_name(settings: WorldSettings, component: str) -> str:
    return f"{settings.name}-{component}"


def vault_container_name(world: str) -> str:
    """The Vault container's name, whose network namespace vault-proxy joins."""
    return f"{world}-vault"


def names_on_network(settings: WorldSettings, component: str) -> list[str]:
    """The DNS names a service answers to on the world's network (its certificate's DNS SANs)."""
    return [component, container_name(settings, component), "localhost"]


class _OnGateway(ServiceContainer):
    """Publishes each of :attr:`fixed_ports` (container port -> host port) on 127.0.0.1 and the gateway."""

    gateway: str = LOOPBACK
    fixed_ports: Mapping[int, int] = MappingProxyType({})

    def _configure(self) -> None:
        super()._configure()
        # docker-py takes a list of (address, port) bindings; testcontainers annotates only int ports.
        ports = cast("dict[str, object]", self.ports)
        for container_port, host_port in self.fixed_ports.items():
            ports[f"{container_port}/tcp"] = [(LOOPBACK, host_port), (self.gateway, host_port)]


class WorldGitLab(_OnGateway, GitLabContainer):
    pass


class WorldVault(_OnGateway, VaultContainer):
    pass


class WorldRegistry(_OnGateway, RegistryContainer):
    pass


def _place(container: _OnGateway, settings: WorldSettings, component: str, ports: Mapping[int, int]) -> None:
    container.gateway = settings.gateway
    container.fixed_ports = dict(ports)
    container.with_name(container_name(settings, component))


class ContainerServices:
    """The real services: :mod:`nautes_e2e.containers` modules on the world's network."""

    def gitlab(self, settings: WorldSettings, tls: TlsFiles, root_password: Secret) -> WorldGitLab:
        ports = settings.ports
        gitlab = WorldGitLab(
            settings.images.gitlab,
            world=settings.name,
            hostname=settings.gateway,
            http_port=ports.gitlab_https,
            ssh_port=ports.gitlab_ssh,
            root_password=root_password,
            tls=tls,
            network=settings.network,
            aliases=["gitlab"],
        )
        fixed = {ports.gitlab_https: ports.gitlab_https, GITLAB_SSH_CONTAINER_PORT: ports.gitlab_ssh}
        _place(gitlab, settings, "gitlab", fixed)
        return gitlab

    def vault(self, settings: WorldSettings, tls: TlsFiles) -> WorldVault:
        vault = WorldVault(
            settings.images.vault,
            mode="server",
            world=settings.name,
            tls=tls,
            network=settings.network,
            aliases=["vault"],
        )
        # vault-proxy joins this container's network namespace, so its port is published here.
        fixed = {VAULT_PORT: settings.ports.vault, VAULT_PROXY_PORT: settings.ports.vault_proxy}
        _place(vault, settings, "vault", fixed)
        return vault

    def registry(
        self, settings: WorldSettings, tls: TlsFiles, username: str, password: Secret
    ) -> WorldRegistry:
        registry = WorldRegistry(
            settings.images.registry,
            world=settings.name,
            username=username,
            password=password,
            tls=tls,
            network=settings.network,
            aliases=["registry"],
        )
        _place(registry, settings, "registry", {REGISTRY_PORT: settings.ports.registry})
        return registry

    def wait_answers(self, url: str, ca_pem: bytes, timeout_s: float) -> None:
        wait_answers(url, ca_pem, timeout_s)


class NotAnswering(RuntimeError):
    """A service did not answer in time; the text names its URL and the last problem."""


def wait_answers(url: str, ca_pem: bytes, timeout_s: float, interval_s: float = 2.0) -> None:
    """Poll ``url`` until it answers 2xx, verifying its certificate against ``ca_pem`` only."""
    context = ssl.create_default_context(cadata=ca_pem.decode())

    @tenacity.retry(
        stop=tenacity.stop_after_delay(timeout_s),
        wait=tenacity.wait_fixed(interval_s),
        retry=tenacity.retry_if_exception_type(OSError),
        reraise=True,
    )
    def ask() -> None:
        with urllib.request.urlopen(url, timeout=10, context=context):
            return

    try:
        ask()
    except OSError as error:  # URLError and HTTPError are OSErrors
        raise NotAnswering(f"{url} did not answer within {timeout_s:g}s ({error})") from None
