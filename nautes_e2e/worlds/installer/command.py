"""The ``docker run`` of the installer container.

installer.sh starts ``ghcr.io/nautes-labs/installer`` idle (``tail -f /dev/null``) and runs each step with
``docker exec`` (installer v0.3.8, installer.sh). Here one ``docker run`` runs the steps' script in the
foreground: its output is the installation log, the exit status the installation's. The container is
removed when it ends (``--rm``); a killed run's is found by its labels (``nautes-e2e world prune``).
No secret is in the argv: the kubeconfig, GitLab's token and the CA's key are in vars.yaml, mounted.
"""

from __future__ import annotations

from nautes_e2e.containers.labels import labels
from nautes_e2e.worlds.installer.inputs import FLAGS_MOUNT, OUT_MOUNT, VARS_MOUNT, WORKDIR, InstallerInputs
from nautes_e2e.worlds.installer.settings import InstallerSettings

COMPONENT = "installer"


def container_name(settings: InstallerSettings) -> str:
    return f"{settings.world}-{COMPONENT}"


def installer_command(settings: InstallerSettings, inputs: InstallerInputs) -> list[str]:
    """The exact argv that installs Nautes; run it after GitLab, the cluster and an uninitialised Vault are
    up on ``settings.network``, then start vault-proxy (:mod:`~nautes_e2e.worlds.installer.vault_proxy`)."""
    argv = ["docker", "run", "--rm", "--name", container_name(settings)]
    for key, value in labels(settings.world, COMPONENT).items():
        argv += ["--label", f"{key}={value}"]
    argv += [
        "--network",
        settings.network,
        # nautes/init.yaml's first play sets every host's hostname to its inventory name; "localhost"
        # already, the hostname module changes nothing (ansible-core 2.12.5 modules/hostname.py,
        # AlpineStrategy compares /etc/hostname), where setting it would need CAP_SYS_ADMIN.
        "--hostname",
        "localhost",
        "--workdir",
        WORKDIR,
        "--volume",
        f"{inputs.vars_dir}:{VARS_MOUNT}:ro",
        "--volume",
        f"{inputs.flags_dir}:{FLAGS_MOUNT}",
        "--volume",
        f"{inputs.out_dir}:{OUT_MOUNT}",
        settings.installer_image,
        "sh",
        f"{VARS_MOUNT}/{inputs.script_file.name}",
    ]
    return argv
