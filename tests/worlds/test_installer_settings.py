"""InstallerSettings: the installer's defaults, what they derive, and every bad value refused by name."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.secrets import Secret
from nautes_e2e.worlds.certificates import WorldCA
from nautes_e2e.worlds.installer import DEFAULT_IMAGE_OVERRIDES, InstallerSettings, InstallerSettingsError
from nautes_e2e.worlds.installer.inputs import render_installer_inputs

API_SERVER = "https://10.213.213.2:6443"
KUBE_TOKEN = "kube-admin-token-0123456789"
INIT_TOKEN = "glpat-init-token-0123456789"


def kubeconfig(server: str = API_SERVER) -> str:
    return f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Y2EK
    server: {server}
  name: nautes-e2e-k3d
contexts:
- context:
    cluster: nautes-e2e-k3d
    user: admin
  name: nautes-e2e-k3d
current-context: nautes-e2e-k3d
kind: Config
users:
- name: admin
  user:
    token: {KUBE_TOKEN}
"""


@functools.cache
def world_ca() -> WorldCA:
    return WorldCA.generate("nautes-e2e-k3d CA")


def installer_settings(**changes: Any) -> InstallerSettings:
    """Settings of a k3d world as the cluster target makes them, with ``changes``."""
    values: dict[str, Any] = {
        "world": "nautes-e2e-k3d",
        "network": "nautes-e2e-k3d-net",
        "kubeconfig": Secret(kubeconfig()),
        "git_external_url": "https://10.213.213.1:8443",
        "git_ssh_addr": "ssh://git@10.213.213.1:2222",
        "git_init_token": Secret(INIT_TOKEN),
        "ca": world_ca(),
        "vault_address": "10.213.213.1",
    }
    return InstallerSettings(**{**values, **changes})


def test_the_defaults_install_nautes_v0_4_2_with_installer_v0_3_8() -> None:
    settings = installer_settings()
    assert settings.installer_image == "ghcr.io/nautes-labs/installer:v0.3.8"
    assert settings.repos_tenant_template_url == "https://github.com/nautes-labs/tenant-repo-template.git"
    assert settings.repos_tenant_template_version == "v0.4.2"
    assert settings.image_version == "v0.4.2"
    assert settings.repos_cluster_template_url == "https://github.com/nautes-labs/cluster-templates.git"
    assert settings.nautes_image_name == "ghcr.io/nautes-labs/nautes"
    assert settings.vault_proxy_image == "ghcr.io/nautes-labs/vault-proxy:v0.4.2"
    assert (settings.tenant_name, settings.nautes_namespace, settings.vault_host) == (
        "nautes",
        "nautes",
        "vault-0",
    )
    assert settings.image_overrides == DEFAULT_IMAGE_OVERRIDES


def test_the_entrypoint_is_derived_from_the_api_server_as_the_installer_does() -> None:
    settings = installer_settings()
    assert settings.api_server == API_SERVER
    assert settings.entrypoint_domain == "10.213.213.2.nip.io"
    assert settings.nautes_api_url == "https://apiserver.10.213.213.2.nip.io:31443"


def test_gitlabs_ca_is_the_worlds_unless_given() -> None:
    assert installer_settings().git_ca == world_ca().ca_pem
    other = WorldCA.generate("GitLab's own CA").ca_pem
    assert installer_settings(git_ca_pem=other).git_ca == other


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({"world": "no spaces"}, "InstallerSettings.world: 'no spaces' must be letters, digits"),
        ({"network": ""}, "InstallerSettings.network: '' must be letters, digits"),
        (
            {"git_external_url": "https://10.213.213.1"},
            "InstallerSettings.git_external_url: 'https://10.213.213.1' must be a https:// URL with its port",
        ),
        (
            {"git_external_url": "http://10.213.213.1:8080"},
            "InstallerSettings.git_external_url: 'http://10.213.213.1:8080' must be a https:// URL",
        ),
        (
            {"git_external_url": "https://10.213.213.1:8443/gitlab"},
            "InstallerSettings.git_external_url: 'https://10.213.213.1:8443/gitlab' must be a https:// URL "
            "with its port (https://HOST:PORT), nothing after the port",
        ),
        ({"git_external_url": "https://10.213.213.1:99999"}, "InstallerSettings.git_external_url: 'https://"),
        (
            {"git_ssh_addr": "git@10.213.213.1:2222"},
            "InstallerSettings.git_ssh_addr: 'git@10.213.213.1:2222' must be ssh://git@HOST:PORT",
        ),
        (
            {"git_ssh_addr": "ssh://git@10.213.213.1"},
            "InstallerSettings.git_ssh_addr: 'ssh://git@10.213.213.1'",
        ),
        ({"git_init_token": Secret("  ")}, "InstallerSettings.git_init_token: must not be empty"),
        (
            {"vault_address": "vault"},
            "InstallerSettings.vault_address: 'vault' must be an IPv4 address (the installer names its "
            "certificate IP:<address>)",
        ),
        ({"vault_host": "localhost"}, "InstallerSettings.vault_host: must not be 'localhost'"),
        ({"tenant_name": "Nautes"}, "InstallerSettings.tenant_name: 'Nautes' must be a DNS label"),
        ({"nautes_namespace": "a_b"}, "InstallerSettings.nautes_namespace: 'a_b' must be a DNS label"),
        (
            {"installer_image": "ghcr.io/x y"},
            "InstallerSettings.installer_image: 'ghcr.io/x y' is not an image",
        ),
        ({"image_version": "v0.4.2 "}, "InstallerSettings.image_version: 'v0.4.2 ' is not a git tag"),
        ({"repos_tenant_template_version": ""}, "InstallerSettings.repos_tenant_template_version: ''"),
        (
            {"repos_tenant_template_url": "git@github.com:x/y.git"},
            "InstallerSettings.repos_tenant_template_url:",
        ),
        (
            {"docker_repository": "ghcr.io/nautes-labs"},
            "InstallerSettings.docker_repository: 'ghcr.io/nautes-labs'",
        ),
        ({"git_ca_pem": b"not a pem"}, "InstallerSettings.git_ca_pem: must be a PEM certificate"),
        (
            {"image_overrides": {"gcr.io/a:1": "mirror/a:1 ; rm -rf /"}},
            "InstallerSettings.image_overrides: 'mirror/a:1 ; rm -rf /' is not an image reference",
        ),
        (
            {"image_overrides": {"gcr.io/a/": "mirror/gcr.io/a/"}},
            "InstallerSettings.image_overrides: the replacement 'mirror/gcr.io/a/' contains 'gcr.io/a/'",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(changes: dict[str, Any], line: str) -> None:
    with pytest.raises(InstallerSettingsError) as raised:
        installer_settings(**changes)
    assert str(raised.value).startswith(line)


@pytest.mark.parametrize(
    ("kubeconfig_text", "problem"),
    [
        ("{not: yaml", "is not YAML (a kubeconfig is expected)"),
        ("apiVersion: v1\nkind: Config\n", "is not a kubeconfig with clusters[0].cluster.server"),
        (
            kubeconfig("http://10.213.213.2:6443"),
            "the API server 'http://10.213.213.2:6443' must be an https://",
        ),
        (
            kubeconfig("https://k3d-nautes-server-0:6443"),
            "'k3d-nautes-server-0' must be an IPv4 address (the installer publishes Nautes under <ip>.nip.io",
        ),
    ],
)
def test_a_bad_kubeconfig_is_refused_without_quoting_it(kubeconfig_text: str, problem: str) -> None:
    with pytest.raises(InstallerSettingsError) as raised:
        installer_settings(kubeconfig=Secret(kubeconfig_text))
    assert str(raised.value).startswith(f"InstallerSettings.kubeconfig: {problem}")
    assert KUBE_TOKEN not in str(raised.value)
    assert "certificate-authority-data" not in str(raised.value)


def test_every_problem_is_reported_at_once_and_no_secret_is_quoted() -> None:
    with pytest.raises(InstallerSettingsError) as raised:
        installer_settings(world="a b", vault_address="vault", git_init_token=Secret(""))
    lines = str(raised.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "InstallerSettings.world",
        "InstallerSettings.git_init_token",
        "InstallerSettings.vault_address",
    ]


def test_bad_settings_fail_before_anything_is_written(tmp_path: Path) -> None:
    good = installer_settings()
    with pytest.raises(InstallerSettingsError, match=r"^InstallerSettings\.git_ssh_addr: "):
        render_installer_inputs(replace(good, git_ssh_addr="ssh://x"), tmp_path / "installer")
    assert not (tmp_path / "installer").exists()


def test_secrets_print_masked_in_the_settings_repr() -> None:
    text = repr(installer_settings())
    assert KUBE_TOKEN not in text
    assert INIT_TOKEN not in text
    assert "PRIVATE KEY" not in text
