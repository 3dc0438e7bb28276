"""Vault as the installer expects it, and vault-proxy started beside it.

The installer has no "existing Vault": it installs Vault on its ``[vault]`` host, initialises it, and runs
vault-proxy there with ``network_mode: host`` (installer v0.3.8, nautes/vault.yaml, nautes/vault-init.yaml,
nautes/roles/vault-proxy/templates/docker-compose.yaml). Here Vault is a container the harness starts
(uninitialised, TLS), the installer's ``vault-init`` initialises it, and vault-proxy runs in Vault's
network namespace (``--network container:<vault>``): its AppRole login is only accepted from 127.0.0.1
(nautes/roles/vault-init/templates/init-vault.yaml: ``boundCIDR: "127.0.0.1/32"``, which init-vault v0.2.0
sets as the role's ``secret_id_bound_cidrs``: pkg/vault/auth_approle.go), and it reaches Vault at
``https://127.0.0.1:8200`` (vault-proxy templates/config.yaml).

vault-proxy's configuration is the vault-proxy role's (nautes/roles/vault-proxy/tasks/main.yml and
templates/), rendered from what the installer wrote to ``out/``; the harness renders it after the installer
ran, because the installer's own play for it runs on the ``[vault]`` host, which ``--limit localhost`` leaves
out (see :func:`~nautes_e2e.worlds.installer.inputs.install_script`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from nautes_e2e.containers.labels import labels
from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.worlds.certificates import write_private
from nautes_e2e.worlds.installer.inputs import InstallerInputs
from nautes_e2e.worlds.installer.settings import InstallerSettings

COMPONENT = "vault-proxy"
#: Where vault-proxy reads its configuration (nautes-labs/vault-proxy v0.4.0, Dockerfile:
#: ``CMD ["./vproxy", "-conf", "/data/conf"]``; the installer mounts its configs there: docker-compose.yaml).
CONF_MOUNT = "/data/conf"
#: vault-proxy's port and health endpoint (templates/config.yaml ``addr: 0.0.0.0:8000``; docker-compose.yaml
#: healthcheck ``https://localhost:8000/health``). In Vault's namespace, it is reached at Vault's address.
PORT = 8000
HEALTH_PATH = "/health"

#: vault-proxy's ACLs, the installer's templates verbatim (nautes/roles/vault-proxy/templates/).
_RESOURCE_ACL = """\
p, API, ^git/.*, POST|DELETE
p, API, ^cluster/.*, POST|DELETE
p, API, ^tenant/repo/.*, POST|DELETE
p, CLUSTER, ^auth/.*, POST|DELETE
p, CLUSTER, ^cluster/.*, POST|DELETE
p, REPO, ^repo/.*, POST|DELETE
p, RUNTIME, ^auth/.*/role/.*, POST|DELETE
"""
#: permission_acl.csv with the role names of nautes/group_vars/all.yml ``nautes_secret_roles`` in place.
_PERMISSION_ACL = """\
p, API, git/*, ARGO, allow

p, CLUSTER, git/data/gitlab/repo-{tenant_repo_id}/default/readonly, ARGO, allow
p, CLUSTER, cluster/*, RUNTIME, allow

p, RUNTIME, git/*, API,       deny
p, RUNTIME, git/*, ARGO,      allow
p, RUNTIME, git/*, BASE,      deny
p, RUNTIME, git/*, CLUSTER,   deny
p, RUNTIME, git/*, REPO,      deny
p, RUNTIME, git/*, RUNTIME,   deny
p, RUNTIME, git/*, *, allow

p, RUNTIME, repo/*, API,      deny
p, RUNTIME, repo/*, ARGO,     deny
p, RUNTIME, repo/*, BASE,     deny
p, RUNTIME, repo/*, CLUSTER,  deny
p, RUNTIME, repo/*, REPO,     deny
p, RUNTIME, repo/*, RUNTIME,  deny
p, RUNTIME, repo/*, *, allow
"""


class VaultProxyError(RuntimeError):
    """The installer's outputs vault-proxy is configured from are missing or not what vault-init writes."""


def vault_certificate(
    settings: InstallerSettings, *, dns: Sequence[str] = (), ips: Sequence[str] = ()
) -> TlsFiles:
    """Vault's server certificate, named as the installer names its ``[vault]`` host's: CN the address, SANs
    ``IP:127.0.0.1`` and ``IP:<address>`` (nautes/generate_keypair.yaml), so that vault-proxy (127.0.0.1),
    the installer and the pods (the address) all verify it with the world's CA. ``dns``/``ips`` add names
    the harness reaches Vault by."""
    addresses = [settings.vault_address, "127.0.0.1", *ips]
    return settings.ca.issue(settings.vault_address, dns=dns, ips=list(dict.fromkeys(addresses)))


def render_vault_proxy_config(settings: InstallerSettings, inputs: InstallerInputs, directory: Path) -> Path:
    """Write vault-proxy's configuration directory from the installer's outputs and return it: the files of
    the vault-proxy role, at the paths it gives them under ``/opt/vault-proxy/configs``."""
    credentials = _first_approle(_read_yaml(inputs.out_dir / "vault" / "vault-proxy.yml"), inputs)
    tenant_repo_id = _tenant_repo_id(_read_yaml(inputs.out_dir / "git" / "infos.yaml"), inputs)
    pki = inputs.out_dir / "pki"
    host_cert = _read(pki / f"{settings.vault_host}.crt")
    host_key = _read(pki / f"{settings.vault_host}.key")
    ca = _read(pki / "ca.crt")
    for folder in (directory, directory / "casbin", directory / "ca"):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
    write_private(directory / "config.yaml", yaml.safe_dump(_config(settings, *credentials)).encode())
    (directory / "casbin" / "resource_acl.csv").write_text(_RESOURCE_ACL)
    (directory / "casbin" / "permission_acl.csv").write_text(
        _PERMISSION_ACL.format(tenant_repo_id=tenant_repo_id)
    )
    (directory / "ca" / "localhost.crt").write_bytes(host_cert)
    write_private(directory / "ca" / "localhost.key", host_key)
    (directory / "ca" / "ca.crt").write_bytes(ca)
    return directory


def vault_proxy_command(settings: InstallerSettings, config_dir: Path, vault_container: str) -> list[str]:
    """The exact argv that starts vault-proxy in the network namespace of the container ``vault_container``
    (its name or id), configured from ``config_dir`` (:func:`render_vault_proxy_config`). It answers on
    Vault's address at :data:`PORT`; :data:`HEALTH_PATH` says when it is up."""
    argv = ["docker", "run", "--detach", "--name", f"{settings.world}-{COMPONENT}"]
    for key, value in labels(settings.world, COMPONENT).items():
        argv += ["--label", f"{key}={value}"]
    argv += [
        "--network",
        f"container:{vault_container}",
        "--volume",
        f"{config_dir.resolve()}:{CONF_MOUNT}:ro",
        settings.vault_proxy_image,
    ]
    return argv


def _config(settings: InstallerSettings, role_id: str, secret_id: str) -> dict[str, Any]:
    """templates/config.yaml of the vault-proxy role, as data."""
    return {
        "server": {
            "http": {
                "addr": f"0.0.0.0:{PORT}",
                "timeout": "1s",
                "cert": {
                    "ca_cert": f"{CONF_MOUNT}/ca/ca.crt",
                    "cert_file": f"{CONF_MOUNT}/ca/localhost.crt",
                    "key_file": f"{CONF_MOUNT}/ca/localhost.key",
                },
            },
            "authorization": {
                "resource": {"acl": f"{CONF_MOUNT}/casbin/resource_acl.csv"},
                "permission": {"acl": f"{CONF_MOUNT}/casbin/permission_acl.csv"},
            },
            "nautes": {"tenant_name": [settings.tenant_name]},
        },
        "data": {
            "vault": {
                "addr": "https://127.0.0.1:8200",
                "authPath": "vault-proxy",
                "roleID": role_id,
                "secretID": secret_id,
                "cert": {"ca_cert": f"{CONF_MOUNT}/ca/ca.crt"},
            },
            "zipkin": {"url": "http://127.0.0.1:9411/api/v2/spans"},
        },
    }


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as failure:
        raise VaultProxyError(f"{path}: cannot read the installer's output ({failure.strerror})") from None


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(_read(path))
    except yaml.YAMLError:
        raise VaultProxyError(f"{path}: not YAML") from None


def _first_approle(document: Any, inputs: InstallerInputs) -> tuple[str, str]:
    """``infos[0].roleID`` and ``.secretID``, as the vault-proxy role reads them (init-vault v0.2.0 writes
    ``infos: [{name, roleID, secretID}]``: pkg/vault/vault_ex.go, pkg/vault/auth_approle.go)."""
    try:
        info = document["infos"][0]
        role_id, secret_id = str(info["roleID"]), str(info["secretID"])
    except (TypeError, KeyError, IndexError):
        path = inputs.out_dir / "vault" / "vault-proxy.yml"
        raise VaultProxyError(f"{path}: no infos[0].roleID/secretID (what init-vault writes)") from None
    return role_id, secret_id


def _tenant_repo_id(document: Any, inputs: InstallerInputs) -> str:
    """``tenant_repo_id`` of git/infos.yaml (installer nautes/scripts/init-gitlab.py writes a string)."""
    try:
        return str(int(document["tenant_repo_id"]))
    except (TypeError, KeyError, ValueError):
        raise VaultProxyError(f"{inputs.out_dir / 'git' / 'infos.yaml'}: no numeric tenant_repo_id") from None
