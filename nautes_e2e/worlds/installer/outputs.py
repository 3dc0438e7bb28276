"""The secrets the installer makes, registered for redaction before its log is kept.

The installer prints some secrets in its own output: nautes/init.yaml copies ``nautes_ca_keypair`` with a
loop, and Ansible shows each item, CA key included, on the task's line (checked with ansible 5.7.1 running
installer v0.3.8's init.yaml). A failed task shows its arguments, which may hold what the installer made
itself: the Argo CD admin password, Vault's root token and unseal keys, GitLab's OAuth secret. The harness
knows its own secrets (they are :class:`~nautes_e2e.secrets.Secret`); :func:`register_installer_secrets`
registers the installer's, read from ``out/``, so that :func:`~nautes_e2e.secrets.redact` scrubs them from
the log. Call it after the installer ran (or failed), before the log is written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from nautes_e2e.secrets import register
from nautes_e2e.worlds.installer.inputs import InstallerInputs

#: Files that are a secret as a whole (installer v0.3.8: nautes/init.yaml, nautes/gitlab.yaml,
#: nautes/roles/repo-init/tasks/main.yml, nautes/roles/nautes/tasks/*.yaml, nautes/scripts/init-gitlab.py).
_SECRET_FILES = (
    "git/init_token",
    "git/tenant_repo_private.key",
    "kubernetes/dex_client_secret",
    "kubernetes/vcluster.config",
    "argocd/admin.password",
    "pki/ca.pem",
)
#: YAML files and the keys whose values are secrets; ``*`` is every item of a list.
_SECRET_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    # init-vault v0.2.0 cmd/init.go (unsealOutput) and pkg/vault/vault_ex.go (appRolesAccessReport).
    "vault/unseal.yml": (("vault_unseal_keys", "*"), ("vault_root_token",)),
    "vault/vault-proxy.yml": (("infos", "*", "roleID"), ("infos", "*", "secretID")),
    # installer nautes/scripts/init-gitlab.py ("client_sercret" is spelled so there).
    "git/infos.yaml": (("client_sercret",), ("access_token",)),
    # The vcluster's admin credentials (nautes/roles/nautes/tasks/main.yml, "Copy kubeconfig to out").
    "kubernetes/vcluster.config": (
        ("users", "*", "user", "client-key-data"),
        ("users", "*", "user", "token"),
        ("users", "*", "user", "password"),
    ),
}


def register_installer_secrets(inputs: InstallerInputs) -> list[Path]:
    """Register every secret the installer wrote to ``out/`` that exists; return the files read."""
    read = []
    for name in _SECRET_FILES:
        path = inputs.out_dir / name
        if path.is_file():
            register(path.read_text(errors="replace"))
            read.append(path)
    for path in sorted((inputs.out_dir / "pki").glob("*.key")):
        register(path.read_text(errors="replace"))
        read.append(path)
    for name, keys in _SECRET_KEYS.items():
        path = inputs.out_dir / name
        if not path.is_file():
            continue
        try:
            document = yaml.safe_load(path.read_text(errors="replace"))
        except yaml.YAMLError:
            continue  # registered as a whole above, or not a file the installer finished writing
        for key in keys:
            for value in _values(document, key):
                register(str(value))
        if path not in read:
            read.append(path)
    return read


def _values(node: Any, key: tuple[str, ...]) -> Iterator[object]:
    if not key:
        if node is not None:
            yield node
        return
    head, rest = key[0], key[1:]
    if head == "*" and isinstance(node, list):
        for item in node:
            yield from _values(item, rest)
    elif isinstance(node, dict) and head in node:
        yield from _values(node[head], rest)
