"""The installer's generated inputs: files, values, every required variable set, the exact argv, the image
overrides (applied for real to a git checkout by the very shell lines the installer container runs)."""

from __future__ import annotations

import configparser
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from nautes_e2e.containers.labels import labels
from nautes_e2e.worlds.installer import (
    DEFAULT_IMAGE_OVERRIDES,
    InstallerInputs,
    image_overrides,
    installer_command,
    render_installer_inputs,
    required_variables,
)
from nautes_e2e.worlds.installer.images import override_commands
from nautes_e2e.worlds.installer.variables import INVENTORY_VAULT, missing
from tests.worlds.test_installer_settings import (
    INIT_TOKEN,
    KUBE_TOKEN,
    installer_settings,
    kubeconfig,
    world_ca,
)


@pytest.fixture
def inputs(tmp_path: Path) -> InstallerInputs:
    return render_installer_inputs(installer_settings(), tmp_path / "installer")


def _vars(inputs: InstallerInputs) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(inputs.vars_file.read_text())
    return loaded


def _inventory_groups(inputs: InstallerInputs) -> dict[str, list[str]]:
    """group -> host lines, read the way an INI inventory reads (hosts before any section are ungrouped)."""
    groups: dict[str, list[str]] = {"ungrouped": []}
    current = "ungrouped"
    for line in inputs.inventory_file.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            groups[current] = []
        else:
            groups[current].append(line)
    return groups


def test_the_files_are_laid_out_as_installer_sh_mounts_them(inputs: InstallerInputs, tmp_path: Path) -> None:
    root = tmp_path / "installer"
    assert inputs.directory == root
    assert inputs.vars_file == root / "vars" / "vars.yaml"
    assert inputs.script_file == root / "vars" / "install.sh"
    assert inputs.inventory_file == root / "out" / "hosts" / "ansible_hosts"
    assert inputs.flag_files == (root / "flags" / "kubernetes", root / "flags" / "gitrepo")
    for flag in inputs.flag_files:
        assert flag.is_file()
    assert sorted(p.name for p in inputs.flags_dir.iterdir()) == ["gitrepo", "kubernetes"]
    assert inputs.ca_file.read_bytes() == world_ca().ca_pem


def test_files_holding_secrets_are_owner_only(inputs: InstallerInputs) -> None:
    assert stat.S_IMODE(inputs.vars_file.stat().st_mode) == 0o600
    for folder in (inputs.directory, inputs.vars_dir, inputs.flags_dir, inputs.out_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_vars_yaml_says_what_is_installed_and_where_the_world_is(inputs: InstallerInputs) -> None:
    variables = _vars(inputs)
    assert variables["kube_apiserver_kubeconfig"] == kubeconfig()
    assert yaml.safe_load(variables["kube_apiserver_kubeconfig"])["clusters"][0]["cluster"]["server"] == (
        "https://10.213.213.2:6443"
    )
    assert variables["git_external_url"] == "https://10.213.213.1:8443"
    assert variables["git_ssh_addr"] == "ssh://git@10.213.213.1:2222"
    assert variables["git_init_token"] == INIT_TOKEN
    assert variables["git_ca"] == world_ca().ca_pem.decode()
    assert variables["nautes_ca_keypair"] == {
        "key": world_ca().key_pem().reveal(),
        "cert": world_ca().ca_pem.decode(),
    }
    assert variables["repos_tenant_template_version"] == "v0.4.2"
    assert variables["image_version"] == "v0.4.2"
    assert variables["nautes_image_name"] == "ghcr.io/nautes-labs/nautes"
    assert variables["docker_repository"] == "ghcr.io/nautes-labs/"
    assert variables["vault_proxy_image"] == "ghcr.io/nautes-labs/vault-proxy:v0.4.2"
    assert (variables["tenant_name"], variables["nautes_namespace"]) == ("nautes", "nautes")


def test_multi_line_values_are_literal_blocks(inputs: InstallerInputs) -> None:
    text = inputs.vars_file.read_text()
    assert "kube_apiserver_kubeconfig: |\n  apiVersion: v1\n" in text
    assert "git_ca: |\n  -----BEGIN CERTIFICATE-----\n" in text


def test_the_inventory_has_an_explicit_localhost_and_the_mandatory_vault_host(
    inputs: InstallerInputs,
) -> None:
    groups = _inventory_groups(inputs)
    assert groups == {
        "ungrouped": [
            'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"'
        ],
        "vault": ["vault-0 ansible_host=10.213.213.1 ansible_connection=local"],
    }
    assert "gitlab" not in groups
    assert "kube_control_plane" not in groups


def test_the_inventory_parses_as_ini_with_the_vault_group(inputs: InstallerInputs) -> None:
    parser = configparser.ConfigParser(allow_no_value=True, delimiters=(" ",), strict=True)
    text = inputs.inventory_file.read_text()
    parser.read_string("[ungrouped]\n" + text)
    assert parser.sections() == ["ungrouped", "vault"]


def test_every_variable_of_the_kept_list_is_set(inputs: InstallerInputs) -> None:
    groups = _inventory_groups(inputs)
    hosts = {group: [line.split()[0] for line in lines] for group, lines in groups.items()}
    assert missing(_vars(inputs), hosts) == []
    listed = required_variables()
    for name in listed.set_by("vars.yaml"):
        assert _vars(inputs)[name], name
    for variable in listed.variables.values():
        for source in variable.derived_from:
            assert source == INVENTORY_VAULT or _vars(inputs)[source], (variable.name, source)


def test_the_check_names_what_is_missing() -> None:
    problems = missing({"git_external_url": "https://x:1"}, {})
    assert (
        "the inventory has no [vault] host: inventory:vault (the installer derives vault_domain from it)"
        in (problems)
    )
    assert any(
        line.startswith("vars.yaml does not set kube_apiserver_kubeconfig (used in ") for line in problems
    )
    assert not any("git_external_url" in line.split(" (")[0] for line in problems)


def test_the_kept_list_covers_every_template_and_names_its_sources() -> None:
    listed = required_variables()
    by_template: dict[str, set[str]] = {}
    for variable in listed.variables.values():
        assert variable.used_in, variable.name
        for source in variable.used_in:
            assert source.split(":")[0] in {"installer", "tenant-template"}, source
            by_template.setdefault(source, set()).add(variable.name)
        if variable.set_by == "installer":
            assert (variable.defined_in or "").startswith("installer:nautes/"), variable.name
    # The twelve templates the tenant template's index.yaml lists (tenant-repo-template v0.4.2).
    assert len([t for t in by_template if t.startswith("tenant-template:")]) == 12
    assert by_template["tenant-template:nautes/overlays/tenant/kustomization.yaml"] == {
        "image_version",
        "nautes_image_name",
        "nautes_namespace",
    }
    assert listed.set_by("harness") == ["role_id", "secret_id"]
    assert "installer:nautes/roles/vault-proxy/templates/docker-compose.yaml" in listed.not_rendered


def test_the_kept_list_ships_with_the_package() -> None:
    from importlib import resources

    assert resources.files("nautes_e2e.worlds.installer").joinpath("required-variables.yaml").is_file()


def test_the_script_runs_the_installers_steps_in_order(inputs: InstallerInputs) -> None:
    lines = inputs.script_file.read_text().splitlines()
    assert lines[:4] == [
        "#!/bin/sh",
        "# The Nautes installer's steps for an existing cluster and GitLab, written by nautes-e2e.",
        "set -eu",
        "clone-repos",
    ]
    assert lines[4:6] == ["(", "  cd /opt/management"]
    assert lines[-1] == (
        "ansible-playbook -i /opt/out/hosts/ansible_hosts -e @/tmp/vars/vars.yaml --limit localhost "
        "/opt/nautes/install.yaml"
    )
    assert not any("create-hosts" in line or "install-k8s" in line for line in lines)


def test_the_script_holds_no_secret(inputs: InstallerInputs) -> None:
    text = inputs.script_file.read_text()
    for secret in (KUBE_TOKEN, INIT_TOKEN, world_ca().key_pem().reveal().splitlines()[1]):
        assert secret not in text


def test_the_installer_command_is_exact(inputs: InstallerInputs) -> None:
    root = inputs.directory
    assert installer_command(installer_settings(), inputs) == [
        "docker",
        "run",
        "--rm",
        "--name",
        "nautes-e2e-k3d-installer",
        "--label",
        "io.nautes-e2e.owner=nautes-e2e",
        "--label",
        "io.nautes-e2e.world=nautes-e2e-k3d",
        "--label",
        "io.nautes-e2e.component=installer",
        "--network",
        "nautes-e2e-k3d-net",
        "--hostname",
        "localhost",
        "--workdir",
        "/opt",
        "--volume",
        f"{root}/vars:/tmp/vars:ro",
        "--volume",
        f"{root}/flags:/tmp/flags",
        "--volume",
        f"{root}/out:/opt/out",
        "ghcr.io/nautes-labs/installer:v0.3.8",
        "sh",
        "/tmp/vars/install.sh",
    ]


def test_the_installer_container_carries_the_worlds_labels(inputs: InstallerInputs) -> None:
    argv = installer_command(installer_settings(), inputs)
    given = {argv[i + 1] for i, arg in enumerate(argv) if arg == "--label"}
    assert given == {f"{key}={value}" for key, value in labels("nautes-e2e-k3d", "installer").items()}


def test_no_secret_is_in_the_argv(inputs: InstallerInputs) -> None:
    settings = installer_settings()
    argv = " ".join(installer_command(settings, inputs))
    for secret in (KUBE_TOKEN, INIT_TOKEN, settings.ca.key_pem().reveal().splitlines()[1], "PRIVATE KEY"):
        assert secret not in argv


def test_a_kept_worlds_outputs_survive_a_new_rendering(tmp_path: Path) -> None:
    first = render_installer_inputs(installer_settings(), tmp_path / "installer")
    (first.out_dir / "vault").mkdir()
    (first.out_dir / "vault" / "unseal.yml").write_text("vault_root_token: kept\n")
    again = render_installer_inputs(installer_settings(image_version="v0.4.1"), tmp_path / "installer")
    assert (again.out_dir / "vault" / "unseal.yml").read_text() == "vault_root_token: kept\n"
    assert _vars(again)["image_version"] == "v0.4.1"


def test_image_overrides_merge_over_the_defaults_and_an_identity_keeps_the_image() -> None:
    merged = image_overrides(
        {
            "gcr.io/k8s-staging-multitenancy/hnc-manager:v1.0.0": "mirror.example/hnc-manager:v1.0.0",
            "gcr.io/tekton-releases/": "gcr.io/tekton-releases/",
        }
    )
    assert dict(merged) == {
        "gcr.io/kubebuilder/kube-rbac-proxy:v0.8.0": "quay.io/brancz/kube-rbac-proxy:v0.8.0",
        "gcr.io/k8s-staging-multitenancy/hnc-manager:v1.0.0": "mirror.example/hnc-manager:v1.0.0",
    }
    assert dict(DEFAULT_IMAGE_OVERRIDES) == {
        "gcr.io/kubebuilder/kube-rbac-proxy:v0.8.0": "quay.io/brancz/kube-rbac-proxy:v0.8.0",
        "gcr.io/tekton-releases/": "ghcr.io/tektoncd/",
    }


def test_the_script_applies_the_configured_overrides(tmp_path: Path) -> None:
    settings = installer_settings(
        image_overrides=image_overrides({"docker.io/library/redis:7.0.0": "r/redis:7"})
    )
    text = render_installer_inputs(settings, tmp_path / "installer").script_file.read_text()
    assert (
        "  git grep -lzF -e gcr.io/kubebuilder/kube-rbac-proxy:v0.8.0 | xargs -0 -r sed -i "
        "'s|gcr\\.io/kubebuilder/kube-rbac-proxy:v0\\.8\\.0|quay.io/brancz/kube-rbac-proxy:v0.8.0|g'"
    ) in text.splitlines()
    assert "sed -i 's|docker\\.io/library/redis:7\\.0\\.0|r/redis:7|g'" in text
    no_overrides = render_installer_inputs(installer_settings(image_overrides={}), tmp_path / "plain")
    assert "sed" not in no_overrides.script_file.read_text()


# Excerpts of tenant-repo-template v0.4.2 (manager_auth_proxy_patch.yaml, tekton-pipelines-v0.37.5.yaml).
_RBAC_PROXY = "      - name: kube-rbac-proxy\n        image: gcr.io/kubebuilder/kube-rbac-proxy:v0.8.0\n"
_TEKTON = (
    "          image: gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/controller:v0.37.5"
    "@sha256:9092118622cbb03b9d4c3ca03bc7efe408e99e34fa44fcb88d15955d2da69add\n"
    '            "-nop-image", "gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/nop:v0.37.5'
    '@sha256:5479ca417bc9a86342e70e09e4ec530b0a8d3094dcb046df7e6e17b7d06e2f55",\n'
)


def _template_checkout(root: Path) -> Path:
    """A git checkout shaped like the cloned tenant repo template, with the images to override."""
    checkout = root / "management"
    (checkout / "nautes/base/apps/base").mkdir(parents=True)
    (checkout / "tekton/base").mkdir(parents=True)
    (checkout / "nautes/base/apps/base/manager_auth_proxy_patch.yaml").write_text(_RBAC_PROXY)
    (checkout / "tekton/base/tekton-pipelines-v0.37.5.yaml").write_text(_TEKTON)
    (checkout / "README.md").write_text("no images here\n")
    git = ["git", "-C", str(checkout), "-c", "user.email=e2e@example.invalid", "-c", "user.name=e2e"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "template"], check=True)
    return checkout


def _run_overrides(checkout: Path, overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = "set -eu\n" + "\n".join(override_commands(overrides, str(checkout))) + "\n"
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_override_lines_rewrite_every_reference_and_keep_digests(tmp_path: Path) -> None:
    checkout = _template_checkout(tmp_path)
    result = _run_overrides(checkout, dict(DEFAULT_IMAGE_OVERRIDES))
    assert result.returncode == 0, result.stderr
    assert (checkout / "nautes/base/apps/base/manager_auth_proxy_patch.yaml").read_text() == (
        "      - name: kube-rbac-proxy\n        image: quay.io/brancz/kube-rbac-proxy:v0.8.0\n"
    )
    assert (checkout / "tekton/base/tekton-pipelines-v0.37.5.yaml").read_text() == (
        "          image: ghcr.io/tektoncd/github.com/tektoncd/pipeline/cmd/controller:v0.37.5"
        "@sha256:9092118622cbb03b9d4c3ca03bc7efe408e99e34fa44fcb88d15955d2da69add\n"
        '            "-nop-image", "ghcr.io/tektoncd/github.com/tektoncd/pipeline/cmd/nop:v0.37.5'
        '@sha256:5479ca417bc9a86342e70e09e4ec530b0a8d3094dcb046df7e6e17b7d06e2f55",\n'
    )
    assert (checkout / "README.md").read_text() == "no images here\n"
    assert _run_overrides(checkout, dict(DEFAULT_IMAGE_OVERRIDES)).returncode == 0  # a second run is a no-op


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_dot_in_a_reference_matches_only_a_dot(tmp_path: Path) -> None:
    checkout = _template_checkout(tmp_path)
    (checkout / "README.md").write_text("gcrXio/kubebuilder/kube-rbac-proxy:v0.8.0\n")
    assert _run_overrides(checkout, dict(DEFAULT_IMAGE_OVERRIDES)).returncode == 0
    assert (checkout / "README.md").read_text() == "gcrXio/kubebuilder/kube-rbac-proxy:v0.8.0\n"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_reference_still_there_after_the_rewrites_fails_the_installation(tmp_path: Path) -> None:
    checkout = _template_checkout(tmp_path)
    # InstallerSettings refuses such an override; the script's own check is the last guard.
    result = _run_overrides(checkout, {"gcr.io/tekton-releases/": "mirror.example/gcr.io/tekton-releases/"})
    assert result.returncode == 1
    assert result.stderr.strip() == "image override not applied"
