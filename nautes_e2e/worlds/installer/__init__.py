"""Nautes installed by its own installer (nautes-labs/installer v0.3.8) into a world whose cluster, GitLab
and Vault the harness brought up: settings, the generated inputs, the container's ``docker run``, the image
overrides for images that can no longer be pulled, vault-proxy beside Vault, and the kept list of every
variable the templates reference (``required-variables.yaml``)."""

from nautes_e2e.worlds.installer.command import container_name, installer_command
from nautes_e2e.worlds.installer.images import DEFAULT_IMAGE_OVERRIDES, image_overrides
from nautes_e2e.worlds.installer.inputs import InstallerInputs, installer_paths, render_installer_inputs
from nautes_e2e.worlds.installer.outputs import register_installer_secrets
from nautes_e2e.worlds.installer.settings import InstallerSettings, InstallerSettingsError
from nautes_e2e.worlds.installer.variables import RequiredVariable, RequiredVariables, required_variables
from nautes_e2e.worlds.installer.vault_proxy import (
    VaultProxyError,
    render_vault_proxy_config,
    vault_certificate,
    vault_proxy_command,
)

__all__ = [
    "DEFAULT_IMAGE_OVERRIDES",
    "InstallerInputs",
    "InstallerSettings",
    "InstallerSettingsError",
    "RequiredVariable",
    "RequiredVariables",
    "VaultProxyError",
    "container_name",
    "image_overrides",
    "installer_command",
    "installer_paths",
    "register_installer_secrets",
    "render_installer_inputs",
    "render_vault_proxy_config",
    "required_variables",
    "vault_certificate",
    "vault_proxy_command",
]
