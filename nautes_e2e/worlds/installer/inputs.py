"""The installer's inputs, written as installer.sh lays them out: vars.yaml, the inventory, the flag files,
and the script the installer container runs.

installer.sh (installer v0.3.8) mounts four host directories into its container: ``vars`` at
``/tmp/vars`` (it copies vars.yaml there), ``flags`` at ``/tmp/flags``, ``out`` at ``/opt/out`` and
``terraform`` at ``/tmp/terraform`` (for its cloud machines; unused here). The same layout under one
directory per world:

``vars/vars.yaml``
    every variable the installation needs (owner-only: it holds the kubeconfig, GitLab's token and the
    CA's key; they never reach an argv).
``vars/install.sh``
    the installer's own steps, in its order (see :func:`install_script`).
``out/hosts/ansible_hosts``
    the inventory, where ``create-hosts`` would put it (nautes/host-init.yaml: ``output_folder_hosts``).
``flags/kubernetes``, ``flags/gitrepo``
    "installed already": what ``installer.sh progress skip kubernetes gitrepo`` writes for an existing
    cluster and GitLab (installer README, "选择性安装"); install.yaml skips the GitLab installation on
    ``gitrepo`` (``when: not ...git_completed``), installer.sh skips ``install-k8s`` on ``kubernetes``.
``out/``
    what the installer writes: pki/, git/infos.yaml, vault/unseal.yml, vault/vault-proxy.yml,
    service/url.yaml.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nautes_e2e.worlds.certificates import write_private
from nautes_e2e.worlds.installer.images import override_commands
from nautes_e2e.worlds.installer.settings import InstallerSettings
from nautes_e2e.worlds.installer.variables import missing

#: Where installer.sh mounts each directory (installer v0.3.8, installer.sh ``run_container``).
VARS_MOUNT = "/tmp/vars"
FLAGS_MOUNT = "/tmp/flags"
OUT_MOUNT = "/opt/out"
#: The image's WORKDIR (installer v0.3.8, Dockerfile), where installer.sh's ``docker exec`` runs every step.
WORKDIR = "/opt"
#: The flags of what exists already (installer v0.3.8, nautes/group_vars/all.yml ``flag.installation.name``).
FLAGS = ("kubernetes", "gitrepo")


@dataclass(frozen=True)
class InstallerInputs:
    """The files :func:`render_installer_inputs` wrote, and the directories the container mounts."""

    directory: Path
    vars_dir: Path
    vars_file: Path
    script_file: Path
    flags_dir: Path
    flag_files: tuple[Path, ...]
    out_dir: Path
    inventory_file: Path
    #: The world's CA certificate (public): what every client of the world trusts.
    ca_file: Path


def installer_paths(directory: Path) -> InstallerInputs:
    """Where :func:`render_installer_inputs` writes each input under ``directory``; a plan can name them
    (and the installer's command) before anything is written."""
    directory = directory.resolve()
    return InstallerInputs(
        directory=directory,
        vars_dir=directory / "vars",
        vars_file=directory / "vars" / "vars.yaml",
        script_file=directory / "vars" / "install.sh",
        flags_dir=directory / "flags",
        flag_files=tuple(directory / "flags" / flag for flag in FLAGS),
        out_dir=directory / "out",
        inventory_file=directory / "out" / "hosts" / "ansible_hosts",
        ca_file=directory / "ca.crt",
    )


def render_installer_inputs(settings: InstallerSettings, directory: Path) -> InstallerInputs:
    """Write the installer's inputs for ``settings`` under ``directory`` (owner-only) and return their paths.

    ``settings`` were checked when they were made; the variables are checked against the kept list
    (``required-variables.yaml``) before anything is written. Files of an earlier rendering are replaced;
    the installer's outputs in ``out/`` are kept (a kept world is installed once)."""
    variables = installer_vars(settings)
    problems = missing(variables, {"vault": [settings.vault_host]})
    if problems:
        raise RuntimeError("the installer's inputs miss required variables:\n" + "\n".join(problems))
    inputs = installer_paths(directory)
    directory = inputs.directory
    for folder in (
        directory,
        inputs.vars_dir,
        inputs.flags_dir,
        inputs.out_dir,
        inputs.inventory_file.parent,
    ):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
    write_private(inputs.vars_file, _dump(variables).encode())
    inputs.script_file.write_text(install_script(settings))
    inputs.inventory_file.write_text(inventory(settings))
    for flag in inputs.flag_files:
        flag.touch()
    inputs.ca_file.write_bytes(settings.ca.ca_pem)
    return inputs


def installer_vars(settings: InstallerSettings) -> dict[str, Any]:
    """vars.yaml, secrets revealed: only :func:`render_installer_inputs` writes it, to an owner-only file.

    The variables of an existing cluster and GitLab are the README's ("使用现有 kubernetes 集群", "使用现有
    Gitlab"); ``nautes_ca_keypair`` gives the installer the world's CA (nautes/init.yaml); the rest are the
    versions and names of vars.yaml.sample, set explicitly so that vars.yaml says what is installed."""
    return {
        "kube_apiserver_kubeconfig": settings.kubeconfig.reveal(),
        "git_external_url": settings.git_external_url,
        "git_ssh_addr": settings.git_ssh_addr,
        "git_init_token": settings.git_init_token.reveal(),
        "git_ca": settings.git_ca.decode(),
        "nautes_ca_keypair": {"key": settings.ca.key_pem().reveal(), "cert": settings.ca.ca_pem.decode()},
        "tenant_name": settings.tenant_name,
        "nautes_namespace": settings.nautes_namespace,
        "repos_tenant_template_url": settings.repos_tenant_template_url,
        "repos_tenant_template_version": settings.repos_tenant_template_version,
        "repos_cluster_template_url": settings.repos_cluster_template_url,
        "docker_repository": settings.docker_repository,
        "nautes_image_name": settings.nautes_image_name,
        "image_version": settings.image_version,
        "vault_proxy_image": settings.vault_proxy_image,
    }


def inventory(settings: InstallerSettings) -> str:
    """The inventory of an existing cluster and GitLab: no ``[gitlab]``, no ``[kube_control_plane]``
    (installer README, "使用现有机器": "如果使用现有的 gitlab/kubernetes, 不要写这一段内容"), and the
    mandatory ``[vault]`` host, whose plays ``--limit localhost`` leaves out (see :func:`install_script`);
    ``ansible_connection=local`` keeps Ansible from ever trying SSH to it.

    ``localhost`` is listed explicitly, with the variables Ansible gives its implicit localhost (Ansible
    docs, "Implicit 'localhost'"), because ``--limit`` cannot select the implicit one: ansible-playbook
    refuses a limit that matches no host of ``all``, and the implicit localhost is in no group (ansible-core
    2.12.5, lib/ansible/cli/__init__.py ``get_host_list``: "Specified hosts and/or --limit does not match
    any hosts"). Being in ``all``, it runs nautes/init.yaml's first play, which sets each host's hostname to
    its inventory name: the installer container's hostname is ``localhost`` for that (``installer_command``).
    """
    return (
        "# The Nautes installer's inventory, written by nautes-e2e: the cluster and GitLab exist already;\n"
        "# [vault] is the Vault the installer initialises (vault-init) and derives vault_url from.\n"
        'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n'
        "\n"
        "[vault]\n"
        f"{settings.vault_host} ansible_host={settings.vault_address} ansible_connection=local\n"
    )


def install_script(settings: InstallerSettings) -> str:
    """The installer's steps (installer.sh ``install``, installer v0.3.8), for a world that has its cluster,
    GitLab and Vault:

    1. ``clone-repos``: clones the tenant repo template at ``repos_tenant_template_version``.
    2. The image overrides, rewritten in that clone (:mod:`~nautes_e2e.worlds.installer.images`).
    3. ``create-hosts`` is not run: with an inventory it only copies it to out/hosts (nautes/host-init.yaml),
       done already, then waits for OpenSSH on port 22 of every host (nautes/wait-for-host-ready.yaml),
       which a Vault container has no reason to run.
    4. ``install-k8s`` is skipped, as installer.sh does on the ``kubernetes`` flag.
    5. ``install-nautes``'s own command (bin/install-nautes) with ``--limit localhost``: every play that
       installs the world (init, repo-init, nautes, vault-init) runs on localhost; the plays on the
       ``[vault]`` host, which would install Vault with systemd (nautes/vault.yaml) and vault-proxy with
       docker-compose on it (vault-proxy role), are left out. The harness runs Vault and vault-proxy in
       containers instead (``vault_proxy``). ``groups`` and ``hostvars`` still hold the whole inventory,
       so ``vault_url`` is derived from the ``[vault]`` host as before. Checked with ansible-core 2.12.5
       (the installer image's: kubespray v2.19.1 requirements-2.12.txt) ``--list-hosts``: the two plays on
       ``vault`` match no host, every other play matches localhost.
    """
    lines = [
        "#!/bin/sh",
        "# The Nautes installer's steps for an existing cluster and GitLab, written by nautes-e2e.",
        "set -eu",
        "clone-repos",
        *override_commands(settings.image_overrides),
        shlex.join(
            [
                "ansible-playbook",
                "-i",
                f"{OUT_MOUNT}/hosts/ansible_hosts",
                "-e",
                f"@{VARS_MOUNT}/vars.yaml",
                "--limit",
                "localhost",
                "/opt/nautes/install.yaml",
            ]
        ),
    ]
    return "\n".join(lines) + "\n"


class _Dumper(yaml.SafeDumper):
    """Multi-line values (kubeconfig, PEMs) as literal blocks, so vars.yaml reads like the README's."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(variables: dict[str, Any]) -> str:
    header = "# The Nautes installer's vars.yaml, written by nautes-e2e. Holds secrets: keep it owner-only.\n"
    return header + yaml.dump(variables, Dumper=_Dumper, sort_keys=False, width=1000)
