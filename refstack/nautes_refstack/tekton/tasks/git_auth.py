"""How the git tasks authenticate: SSH keys from the task's home, ``.git-credentials`` for HTTP.

In a real pod, ``ssh`` reads keys from root's home (``/root/.ssh``, where the vault agent writes the deploy
key) and Tekton's git-init links ``$HOME/.ssh`` there; the catalog scripts copy the ``ssh-directory``
workspace into ``$HOME/.ssh``. On the host, ssh must not read the machine's own keys or config, so
every key found in those places is passed explicitly with ``IdentitiesOnly``.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from nautes_refstack.tekton.task_api import TaskContext

KEY_FILE_NAMES = ("id_ecdsa", "id_ed25519", "id_rsa", "id_dsa")


def install_credentials(ctx: TaskContext, home: Path) -> dict[str, str]:
    """Install the bound ``basic-auth`` and ``ssh-directory`` workspaces into ``home``, as the git-clone and
    git-cli catalog scripts both do, and return the ``HOME`` and ``GIT_SSH_COMMAND`` git runs with."""
    basic_auth = ctx.workspace("basic-auth")
    if basic_auth is not None:
        install_basic_auth(basic_auth, home)
    ssh_directory = ctx.workspace("ssh-directory")
    if ssh_directory is not None:
        install_ssh_directory(ssh_directory, home)
    return {"HOME": str(home), "GIT_SSH_COMMAND": ssh_command(home / ".ssh", ctx.root_home / ".ssh")}


def install_ssh_directory(workspace: Path, home: Path) -> None:
    """``cp -R <ssh-directory> $HOME/.ssh; chmod 700 .ssh; chmod -R 400 .ssh/*`` as the catalog does."""
    target = home / ".ssh"
    shutil.copytree(workspace, target, dirs_exist_ok=True)
    target.chmod(0o700)
    for path in target.rglob("*"):
        if path.is_file():
            path.chmod(0o400)


def install_basic_auth(workspace: Path, home: Path) -> None:
    """Copy ``.git-credentials`` and ``.gitconfig`` of the ``basic-auth`` workspace into ``$HOME``."""
    for name in (".git-credentials", ".gitconfig"):
        target = home / name
        shutil.copyfile(workspace / name, target)
        target.chmod(0o400)


def ssh_command(*ssh_directories: Path) -> str:
    """``GIT_SSH_COMMAND`` using the private keys found in ``ssh_directories`` and nothing else."""
    command = [
        "ssh",
        "-F",
        "/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "BatchMode=yes",
    ]
    seen: set[Path] = set()
    for directory in ssh_directories:
        for name in KEY_FILE_NAMES:
            key = directory / name
            if key.is_file() and key.resolve() not in seen:
                seen.add(key.resolve())
                command += ["-i", str(key)]
    return shlex.join(command)
