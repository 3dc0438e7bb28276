"""The bring-up plan: its steps in order, what runs in parallel, each step's image and exact commands, the
installer's command agreeing with what the installer module renders, and the world settings it is made of."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nautes_e2e.secrets import Secret
from nautes_e2e.worlds import plan
from nautes_e2e.worlds.certificates import WorldCA
from nautes_e2e.worlds.commands import Command
from nautes_e2e.worlds.installation import (
    InstallerModule,
    installer_settings,
    kubeconfig_skeleton,
)
from nautes_e2e.worlds.installer.command import installer_command
from nautes_e2e.worlds.installer.inputs import installer_paths, render_installer_inputs
from nautes_e2e.worlds.settings import (
    WORLD_CONFIG_ENV,
    WORLD_NAME_ENV,
    WorldConfigError,
    WorldSettings,
    load_world_settings,
)

STEPS = [
    "preflight", "network", "certificates", "gitlab", "cluster", "vault", "registry", "installer",
    "vault-proxy", "target-file",
]  # fmt: skip


class Installer:
    """Stands for the installer module: commands that say whose they are."""

    def commands(self, settings: WorldSettings, paths: plan.WorldPaths) -> list[Command]:
        return [Command(("docker", "run", "installer-of", settings.name, str(paths.installer)))]

    def vault_proxy_commands(self, settings: WorldSettings, paths: plan.WorldPaths) -> list[Command]:
        return [Command(("docker", "run", "vault-proxy-of", settings.name, str(paths.vault_proxy)))]


def build(provider: str = "k3d", **kwargs: str) -> plan.Plan:
    settings = WorldSettings(provider="k3d" if provider == "k3d" else "kind", name="w")
    return plan.build_plan(settings, Path("/s/w"), Installer(), **kwargs)


def test_the_steps_in_order_with_gitlab_first_among_the_parallel_ones() -> None:
    the_plan = build()

    assert [step.name for step in the_plan.steps] == STEPS
    assert [[step.name for step in phase] for phase in the_plan.phases()] == [
        ["preflight"], ["network"], ["certificates"], ["gitlab", "cluster", "vault", "registry"],
        ["installer"], ["vault-proxy"], ["target-file"],
    ]  # fmt: skip


def test_each_step_s_image_version_and_commands() -> None:
    the_plan = build()

    assert the_plan.step("gitlab").image == "gitlab/gitlab-ce:15.10.8-ce.0"
    assert the_plan.step("gitlab").version == "15.10.8-ce.0"
    assert the_plan.step("vault").image == "hashicorp/vault:1.10.4"
    assert the_plan.step("registry").image == "registry:2.8.2"
    assert the_plan.step("cluster").version == "v1.21.14-k3s1"
    assert the_plan.step("installer").image == "ghcr.io/nautes-labs/installer:v0.3.8"
    assert the_plan.step("vault-proxy").image == "ghcr.io/nautes-labs/vault-proxy:v0.4.2"
    assert [list(c.argv[:3]) for c in the_plan.step("cluster").commands] == [
        ["k3d", "cluster", "list"], ["k3d", "cluster", "create"], ["k3d", "kubeconfig", "get"],
        ["kubectl", "--kubeconfig", "/s/w/kubeconfig.yaml"],
    ]  # fmt: skip
    assert the_plan.step("installer").commands == (
        Command(("docker", "run", "installer-of", "w", "/s/w/installer")),
    )
    assert the_plan.step("vault-proxy").commands == (
        Command(("docker", "run", "vault-proxy-of", "w", "/s/w/vault-proxy")),
    )
    assert the_plan.step("network").commands[0].argv[-1] == "w-net"


def test_the_images_are_every_step_s_once_plus_k3d_s_tools_image_at_the_cli_s_version() -> None:
    assert build(cluster_cli_version="v5.9.1").images() == [
        "gitlab/gitlab-ce:15.10.8-ce.0", "rancher/k3s:v1.21.14-k3s1", "hashicorp/vault:1.10.4",
        "registry:2.8.2",
        "ghcr.io/nautes-labs/installer:v0.3.8", "ghcr.io/nautes-labs/vault-proxy:v0.4.2",
        "ghcr.io/k3d-io/k3d-tools:5.9.1",
    ]  # fmt: skip
    assert build().images()[-1] == "ghcr.io/k3d-io/k3d-tools:5.8.3"
    assert not any("k3d-tools" in image for image in build("kind").images())


def test_kind_s_cluster_step_writes_its_config_and_adds_the_local_path_class() -> None:
    step = build("kind").step("cluster")

    assert [path for path, _ in step.files] == [
        Path("/s/w/kind-config.yaml"),
        Path("/s/w/local-path-storageclass.yaml"),
    ]
    assert list(step.commands[-1].argv) == [
        "kubectl",
        "--kubeconfig",
        "/s/w/kubeconfig.yaml",
        "apply",
        "-f",
        "/s/w/local-path-storageclass.yaml",
    ]
    assert step.commands[1].env == {"KIND_EXPERIMENTAL_DOCKER_NETWORK": "w-net"}


def test_the_rendering_shows_order_parallelism_images_and_copyable_commands() -> None:
    text = plan.render_plan(build("kind"))

    assert text.startswith(
        "Bring-up of the kind world 'w' (Nautes v0.4.2 by ghcr.io/nautes-labs/installer:v0.3.8)\n"
        "files: /s/w\n"
    )
    assert "\n4. in parallel, started in this order: gitlab, cluster, vault, registry\n" in text
    assert (
        "\n   4a. gitlab: GitLab CE\n         image gitlab/gitlab-ce:15.10.8-ce.0 (version 15.10.8-ce.0)\n"
        in text
    )
    assert "\n         $ KIND_EXPERIMENTAL_DOCKER_NETWORK=w-net kind create cluster --name w --image " in text
    assert "\n5. installer: Nautes installer (Nautes v0.4.2)\n" in text
    assert "\n      $ docker run installer-of w /s/w/installer\n" in text
    assert text.endswith("ghcr.io/nautes-labs/vault-proxy:v0.4.2\n")


def test_the_planned_installer_command_is_the_one_the_rendered_inputs_give(tmp_path: Path) -> None:
    settings = WorldSettings(provider="k3d", name="w")
    paths = plan.WorldPaths(tmp_path / "w")
    kubeconfig = Secret(kubeconfig_skeleton("https://10.213.213.1:6550"))

    planned = InstallerModule().commands(settings, paths)
    token = Secret("glpat-real-token-123")
    real = installer_settings(settings, kubeconfig, WorldCA.generate("test CA"), token)
    inputs = render_installer_inputs(real, paths.installer)

    assert inputs == installer_paths(paths.installer)
    assert [list(command.argv) for command in planned] == [installer_command(real, inputs)]
    assert all(command.secret_output for command in planned), "its output is a secret until registered"


def test_vault_proxy_runs_in_the_vault_container_s_network_namespace() -> None:
    settings = WorldSettings(provider="kind", name="w")

    [command] = InstallerModule().vault_proxy_commands(settings, plan.WorldPaths(Path("/s/w")))

    argv = list(command.argv)
    assert argv[:5] == ["docker", "run", "--detach", "--name", "w-vault-proxy"]
    assert argv[argv.index("--network") + 1] == "container:w-vault"
    assert argv[argv.index("--volume") + 1] == "/s/w/vault-proxy:/data/conf:ro"
    assert argv[-1] == "ghcr.io/nautes-labs/vault-proxy:v0.4.2"
    assert "--label" in argv


# -- the world's settings ---------------------------------------------------------------------------------


def test_the_defaults_are_the_installer_s_versions() -> None:
    settings = load_world_settings("k3d", environ={})

    assert settings.name == "nautes-e2e-k3d"
    assert settings.node_image == "rancher/k3s:v1.21.14-k3s1"
    assert settings.images.gitlab == "gitlab/gitlab-ce:15.10.8-ce.0"
    assert settings.images.installer == "ghcr.io/nautes-labs/installer:v0.3.8"
    assert settings.nautes_version == "v0.4.2"
    assert (settings.network, settings.gateway) == ("nautes-e2e-k3d-net", "10.213.213.1")
    assert load_world_settings("kind", environ={}).name == "nautes-e2e-kind"


def test_a_world_config_and_the_environment_override_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "world.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            name: nightly-1
            images:
              k3s: mirror.example/k3s:v1.21.14-k3s1
              gitlab: mirror.example/gitlab-ce:15.10.8-ce.0
              vaultProxy: ghcr.io/nautes-labs/vault-proxy:v0.4.0
            ports: {vault: 18200}
            subnet: 10.99.0.0/24
            imageOverrides: {'gcr.io/x/y:1': 'quay.io/x/y:1'}
            """
        )
    )

    from_file = load_world_settings("kind", config, environ={})
    from_env = load_world_settings("kind", environ={WORLD_CONFIG_ENV: str(config), WORLD_NAME_ENV: "other"})

    assert from_file.name == "nightly-1"
    assert from_file.images.gitlab == "mirror.example/gitlab-ce:15.10.8-ce.0"
    assert from_file.images.vault_proxy == "ghcr.io/nautes-labs/vault-proxy:v0.4.0"
    assert from_file.images.vault == "hashicorp/vault:1.10.4"
    assert from_file.images.k3s == "mirror.example/k3s:v1.21.14-k3s1"
    assert (from_file.ports.vault, from_file.ports.registry) == (18200, 5000)
    assert from_file.gateway == "10.99.0.1"
    assert dict(from_file.image_overrides) == {"gcr.io/x/y:1": "quay.io/x/y:1"}
    assert from_env.name == "other"
    assert from_env.ports.vault == 18200


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("imagse: {}\n", "imagse: unknown key"),
        ("ports: {vault: '8200'}\n", "ports.vault: must be an integer"),
        ("ports: {vault: 70000}\n", "ports.vault: must be a port number (1-65535)"),
        ("name: Not_A_Name\n", "name: 'Not_A_Name' must be lowercase letters, digits and inner dashes"),
        ("subnet: 10.0.0.0/30\n", "subnet: must be an IPv4 network with at least 16 addresses"),
        ("images: {gitlab: ''}\n", "images.gitlab: must be a non-empty string"),
    ],
)
def test_a_bad_world_config_names_the_file_and_the_field(tmp_path: Path, content: str, problem: str) -> None:
    config = tmp_path / "world.yaml"
    config.write_text(content)

    with pytest.raises(WorldConfigError) as caught:
        load_world_settings("k3d", config, environ={})

    assert str(caught.value).startswith(f"{config}: {problem}")


def test_a_bad_world_name_in_the_environment_names_the_variable() -> None:
    with pytest.raises(WorldConfigError, match=rf"^{WORLD_NAME_ENV}: 'x{{40}}' .* at most 32 characters"):
        load_world_settings("k3d", environ={WORLD_NAME_ENV: "x" * 40})
