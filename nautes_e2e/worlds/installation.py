"""The installer and vault-proxy steps of a world: the installer module (:mod:`nautes_e2e.worlds.installer`)
given the world's settings, and the installer's outputs the rest of the bring-up reads.

:class:`Installation` is what the bring-up needs; :class:`InstallerModule` is the real one. The plan shows the
installer's exact ``docker run`` before anything exists: it depends on the world's name, network, image and
the input folders, not on the cluster's kubeconfig, GitLab's token or the CA, so :meth:`~InstallerModule.
commands` makes it from stand-ins for those (and writes nothing); the bring-up then renders the real inputs
and runs the same argv (a test checks both agree).

The outputs (nautes-labs/installer v0.3.8): ``vault/unseal.yml`` holds ``vault_root_token`` (written by
init-vault's ``unseal --export-path``, read back by ``include_vars`` in roles/vault-init/tasks/main.yml, whose
init-vault.yaml template uses ``{{ vault_root_token }}``); ``service/url.yaml`` holds
``nautes_api_server_url`` (nautes/templates/url.yaml, copied there by nautes/init.yaml).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml

from nautes_e2e.secrets import Secret
from nautes_e2e.worlds.certificates import WorldCA
from nautes_e2e.worlds.commands import Command
from nautes_e2e.worlds.installer.command import installer_command
from nautes_e2e.worlds.installer.images import image_overrides
from nautes_e2e.worlds.installer.inputs import installer_paths, render_installer_inputs
from nautes_e2e.worlds.installer.outputs import register_installer_secrets
from nautes_e2e.worlds.installer.settings import InstallerSettings
from nautes_e2e.worlds.installer.vault_proxy import render_vault_proxy_config, vault_proxy_command
from nautes_e2e.worlds.plan import WorldPaths
from nautes_e2e.worlds.services import vault_container_name
from nautes_e2e.worlds.settings import WorldSettings

#: Stand-ins for what exists only once the world is up, for the plan's installer command (never written).
PLANNED_TOKEN = "planned-gitlab-token"


class Installation(Protocol):
    def commands(self, settings: WorldSettings, paths: WorldPaths) -> Sequence[Command]:
        """The installer step's commands (the plan shows them; the bring-up runs them). Their output is
        secret until :meth:`register_secrets` ran: the installer prints secrets it made itself."""

    def vault_proxy_commands(self, settings: WorldSettings, paths: WorldPaths) -> Sequence[Command]:
        """The vault-proxy step's commands."""

    def prepare(self, settings: WorldSettings, paths: WorldPaths, ca: WorldCA, gitlab_token: Secret) -> None:
        """Render the installer's inputs; after it, :meth:`commands` are the commands to run."""

    def register_secrets(self, paths: WorldPaths) -> None:
        """Register the secrets the installer wrote to its outputs (after it ran, or failed)."""

    def prepare_vault_proxy(self, paths: WorldPaths) -> None:
        """Render vault-proxy's configuration from the installer's outputs."""

    def vault_root_token(self, paths: WorldPaths) -> Secret:
        """Vault's root token, from the installer's outputs (after it ran)."""

    def nautes_url(self, paths: WorldPaths) -> str:
        """The Nautes API server's URL, from the installer's outputs (after it ran)."""


def kubeconfig_skeleton(server: str) -> str:
    """A kubeconfig that names the API server and nothing else (no credential)."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "world", "cluster": {"server": server}}],
            "contexts": [{"name": "world", "context": {"cluster": "world", "user": "world"}}],
            "current-context": "world",
            "users": [{"name": "world", "user": {}}],
        },
        sort_keys=False,
    )


def installer_settings(
    settings: WorldSettings, kubeconfig: Secret, ca: WorldCA, gitlab_token: Secret
) -> InstallerSettings:
    """The installer module's settings for the world: everything at the network's gateway."""
    gateway, ports = settings.gateway, settings.ports
    return InstallerSettings(
        world=settings.name,
        network=settings.network,
        kubeconfig=kubeconfig,
        git_external_url=f"https://{gateway}:{ports.gitlab_https}",
        git_ssh_addr=f"ssh://git@{gateway}:{ports.gitlab_ssh}",
        git_init_token=gitlab_token,
        ca=ca,
        vault_address=gateway,
        installer_image=settings.images.installer,
        repos_tenant_template_version=settings.nautes_version,
        image_version=settings.nautes_version,
        vault_proxy_image=settings.images.vault_proxy,
        image_overrides=image_overrides(settings.image_overrides),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot read the installer's output ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a mapping")
    return data


class InstallerModule:
    """The installer as :mod:`nautes_e2e.worlds.installer` runs it."""

    def __init__(self) -> None:
        self._planning_ca: WorldCA | None = None
        self._settings: InstallerSettings | None = None

    def _planned(self, settings: WorldSettings) -> InstallerSettings:
        if self._planning_ca is None:
            self._planning_ca = WorldCA.generate("nautes-e2e planning CA")
        server = f"https://{settings.gateway}:{settings.ports.kube_api}"
        return installer_settings(
            settings, Secret(kubeconfig_skeleton(server)), self._planning_ca, Secret(PLANNED_TOKEN)
        )

    def commands(self, settings: WorldSettings, paths: WorldPaths) -> Sequence[Command]:
        argv = installer_command(self._planned(settings), installer_paths(paths.installer))
        return [Command(tuple(argv), secret_output=True)]

    def vault_proxy_commands(self, settings: WorldSettings, paths: WorldPaths) -> Sequence[Command]:
        vault = vault_container_name(settings.name)
        return [Command(tuple(vault_proxy_command(self._planned(settings), paths.vault_proxy, vault)))]

    def prepare(self, settings: WorldSettings, paths: WorldPaths, ca: WorldCA, gitlab_token: Secret) -> None:
        kubeconfig = Secret(paths.kubeconfig.read_text())
        self._settings = installer_settings(settings, kubeconfig, ca, gitlab_token)
        render_installer_inputs(self._settings, paths.installer)

    def register_secrets(self, paths: WorldPaths) -> None:
        register_installer_secrets(installer_paths(paths.installer))

    def prepare_vault_proxy(self, paths: WorldPaths) -> None:
        assert self._settings is not None, "prepare() the installer first"
        render_vault_proxy_config(self._settings, installer_paths(paths.installer), paths.vault_proxy)

    def output_dir(self, paths: WorldPaths) -> Path:
        return installer_paths(paths.installer).out_dir

    def vault_root_token(self, paths: WorldPaths) -> Secret:
        unseal = self.output_dir(paths) / "vault" / "unseal.yml"
        token = _read(unseal).get("vault_root_token")
        if not isinstance(token, str) or not token:
            raise ValueError(f"{unseal}: no vault_root_token")
        return Secret(token)

    def nautes_url(self, paths: WorldPaths) -> str:
        urls = self.output_dir(paths) / "service" / "url.yaml"
        url = _read(urls).get("nautes_api_server_url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ValueError(f"{urls}: no nautes_api_server_url")
        return url
