"""Vault's certificate as the installer names it, vault-proxy configured from the installer's outputs and
started in Vault's network namespace, and the installer's own secrets registered before its log is kept."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from nautes_e2e.secrets import redact
from nautes_e2e.worlds.certificates import write_tls
from nautes_e2e.worlds.installer import (
    InstallerInputs,
    VaultProxyError,
    register_installer_secrets,
    render_installer_inputs,
    render_vault_proxy_config,
    vault_certificate,
    vault_proxy_command,
)
from tests.worlds.test_installer_settings import installer_settings, world_ca

ROLE_ID = "5f0a1b2c-role-id-0000-000000000001"
SECRET_ID = "9e8d7c6b-secret-id-0000-000000000002"
ROOT_TOKEN = "hvs.root-token-made-by-vault-init"
UNSEAL_KEY = "unseal-key-made-by-vault-init-0001"
OAUTH_SECRET = "gitlab-oauth-app-secret-0003"
ACCESS_TOKEN = "glpat-base-operator-token-0004"
ARGOCD_PASSWORD = "argocd-admin-password-0005"


def _installed(tmp_path: Path) -> InstallerInputs:
    """Inputs plus the outputs an installation leaves in out/ (the formats its tools write)."""
    inputs = render_installer_inputs(installer_settings(), tmp_path / "installer")
    out = inputs.out_dir
    for folder in ("vault", "git", "pki", "argocd", "kubernetes"):
        (out / folder).mkdir()
    # init-vault v0.2.0 (pkg/vault/vault_ex.go appRolesAccessReport; cmd/init.go unsealOutput).
    (out / "vault" / "vault-proxy.yml").write_text(
        yaml.safe_dump({"infos": [{"name": "vault-proxy", "roleID": ROLE_ID, "secretID": SECRET_ID}]})
    )
    (out / "vault" / "unseal.yml").write_text(
        yaml.safe_dump({"vault_unseal_keys": [UNSEAL_KEY, "k2", "k3"], "vault_root_token": ROOT_TOKEN})
    )
    # installer nautes/scripts/init-gitlab.py.
    (out / "git" / "infos.yaml").write_text(
        yaml.safe_dump(
            {
                "client_id": "client-id",
                "client_sercret": OAUTH_SECRET,
                "access_token": ACCESS_TOKEN,
                "tenant_repo_id": "12",
                "tenant_repo_ssh_addr": "ssh://git@10.213.213.1:2222/nautes/management.git",
            }
        )
    )
    (out / "argocd" / "admin.password").write_text(ARGOCD_PASSWORD)
    # nautes/init.yaml: the [vault] host's certificate, as the installer issues it, and the CA.
    write_tls(vault_certificate(installer_settings()), out / "pki", "vault-0")
    return inputs


def test_vaults_certificate_is_named_as_the_installer_names_its_vault_host() -> None:
    files = vault_certificate(installer_settings(), dns=["vault"], ips=["10.213.213.1", "172.18.0.5"])
    certificate = x509.load_pem_x509_certificate(files.cert_pem)
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "10.213.213.1"
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.213.213.1"),
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("172.18.0.5"),
    ]
    assert sans.get_values_for_type(x509.DNSName) == ["vault"]
    certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(world_ca().ca_pem))


def test_vault_proxy_is_configured_from_the_installers_outputs(tmp_path: Path) -> None:
    inputs = _installed(tmp_path)
    conf = render_vault_proxy_config(installer_settings(), inputs, tmp_path / "vault-proxy")
    assert conf == tmp_path / "vault-proxy"
    config = yaml.safe_load((conf / "config.yaml").read_text())
    assert config["data"]["vault"] == {
        "addr": "https://127.0.0.1:8200",
        "authPath": "vault-proxy",
        "roleID": ROLE_ID,
        "secretID": SECRET_ID,
        "cert": {"ca_cert": "/data/conf/ca/ca.crt"},
    }
    assert config["server"]["http"] == {
        "addr": "0.0.0.0:8000",
        "timeout": "1s",
        "cert": {
            "ca_cert": "/data/conf/ca/ca.crt",
            "cert_file": "/data/conf/ca/localhost.crt",
            "key_file": "/data/conf/ca/localhost.key",
        },
    }
    assert config["server"]["nautes"] == {"tenant_name": ["nautes"]}
    assert config["server"]["authorization"] == {
        "resource": {"acl": "/data/conf/casbin/resource_acl.csv"},
        "permission": {"acl": "/data/conf/casbin/permission_acl.csv"},
    }
    permissions = (conf / "casbin" / "permission_acl.csv").read_text().splitlines()
    assert permissions[2] == "p, CLUSTER, git/data/gitlab/repo-12/default/readonly, ARGO, allow"
    assert len([line for line in permissions if line]) == 17
    resources = (conf / "casbin" / "resource_acl.csv").read_text().splitlines()
    assert resources[0] == "p, API, ^git/.*, POST|DELETE"
    assert len(resources) == 7
    pki = inputs.out_dir / "pki"
    assert (conf / "ca" / "localhost.crt").read_bytes() == (pki / "vault-0.crt").read_bytes()
    assert (conf / "ca" / "localhost.key").read_bytes() == (pki / "vault-0.key").read_bytes()
    assert (conf / "ca" / "ca.crt").read_bytes() == world_ca().ca_pem
    assert stat.S_IMODE((conf / "config.yaml").stat().st_mode) == 0o600
    assert stat.S_IMODE((conf / "ca" / "localhost.key").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        (lambda out: (out / "vault" / "vault-proxy.yml").unlink(), r"vault/vault-proxy\.yml: cannot read"),
        (
            lambda out: (out / "vault" / "vault-proxy.yml").write_text("infos: []\n"),
            r"vault/vault-proxy\.yml: no infos\[0\]\.roleID/secretID",
        ),
        (
            lambda out: (out / "git" / "infos.yaml").write_text("tenant_repo_id: abc\n"),
            r"git/infos\.yaml: no numeric tenant_repo_id",
        ),
        (
            lambda out: (out / "pki" / "vault-0.key").unlink(),
            r"pki/vault-0\.key: cannot read the installer's output",
        ),
    ],
)
def test_missing_outputs_are_named_and_nothing_is_written(
    tmp_path: Path, breaks: object, message: str
) -> None:
    inputs = _installed(tmp_path)
    breaks(inputs.out_dir)  # type: ignore[operator]
    with pytest.raises(VaultProxyError, match=message) as raised:
        render_vault_proxy_config(installer_settings(), inputs, tmp_path / "vault-proxy")
    assert SECRET_ID not in str(raised.value)
    assert not (tmp_path / "vault-proxy").exists()


def test_vault_proxy_runs_in_vaults_network_namespace(tmp_path: Path) -> None:
    argv = vault_proxy_command(installer_settings(), tmp_path / "vault-proxy", "nautes-e2e-k3d-vault")
    assert argv == [
        "docker",
        "run",
        "--detach",
        "--name",
        "nautes-e2e-k3d-vault-proxy",
        "--label",
        "io.nautes-e2e.owner=nautes-e2e",
        "--label",
        "io.nautes-e2e.world=nautes-e2e-k3d",
        "--label",
        "io.nautes-e2e.component=vault-proxy",
        "--network",
        "container:nautes-e2e-k3d-vault",
        "--volume",
        f"{tmp_path}/vault-proxy:/data/conf:ro",
        "ghcr.io/nautes-labs/vault-proxy:v0.4.2",
    ]


def test_the_installers_own_secrets_are_scrubbed_from_its_log(tmp_path: Path) -> None:
    inputs = _installed(tmp_path)
    read = register_installer_secrets(inputs)
    assert inputs.out_dir / "vault" / "unseal.yml" in read
    assert inputs.out_dir / "pki" / "vault-0.key" in read
    log = (
        f"ok: root token {ROOT_TOKEN}, key {UNSEAL_KEY}, proxy {SECRET_ID}, oauth {OAUTH_SECRET}, "
        f"token {ACCESS_TOKEN}, argocd {ARGOCD_PASSWORD}"
    )
    assert redact(log) == "ok: root token ***, key ***, proxy ***, oauth ***, token ***, argocd ***"
    assert "vault-proxy" in redact("creating app role vault-proxy.")  # names are not secrets


def test_the_ca_key_the_installer_prints_in_its_copy_loop_is_scrubbed(tmp_path: Path) -> None:
    inputs = render_installer_inputs(installer_settings(), tmp_path / "installer")
    key = yaml.safe_load(inputs.vars_file.read_text())["nautes_ca_keypair"]["key"]
    # The line Ansible prints for nautes/init.yaml's copy loop (seen with ansible 5.7.1, installer v0.3.8).
    line = f"changed: [localhost] => (item={{'src': {key!r}, 'dest': 'ca.pem'}})"
    scrubbed = redact(line)
    assert "PRIVATE KEY" not in scrubbed
    assert scrubbed == "changed: [localhost] => (item={'src': '***\\n', 'dest': 'ca.pem'})"
