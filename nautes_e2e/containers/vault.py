"""Vault in a container (OpenBao by default: the same HTTP API), in one of two modes.

``dev``: in-memory, unsealed, with a root token of the harness's choosing: the local target's
``--service vault=container``. The token reaches the server in the environment (``BAO_DEV_ROOT_TOKEN_ID``,
and ``VAULT_DEV_ROOT_TOKEN_ID`` for a HashiCorp Vault image), never in argv; ``-dev-no-store-token`` keeps
it out of a token helper file, and the banner lines that print it (and the unseal key) are masked in
:meth:`logs_redacted`.

``server``: what the Nautes installer's ``vault-init`` expects to find (nautes-labs/installer v0.3.8):
``nautes/vault.yaml`` installs Vault with the ansible-community/ansible-vault role and ``vault_backend:
file``; ``nautes/group_vars/vault.yml`` turns TLS on (``vault_tls_disable: '0'``, ``vault.crt`` and
``vault.key``); the role's ``templates/vault_main_configuration.hcl.j2`` writes a ``tcp`` listener with
``tls_cert_file``/``tls_key_file`` and ``ui = true`` (``vault_ui`` defaults to true in its
``defaults/main.yml``), and ``templates/vault_backend_file.j2`` a ``storage "file"``. The server is left
**uninitialised**: ``roles/vault-init/tasks/main.yml`` waits for HTTP 200 on ``https://<vault>:8200`` (the
UI redirect), and init-vault (nautes-labs/init-vault v0.2.0, ``pkg/vault/unseal.go``) then calls
``sys/init`` with 3 shares, threshold 2, and unseals. Readiness here is ``/v1/sys/health`` answering 501
("not initialised") over TLS verified against the world's CA. OpenBao has neither the file backend nor
mlock (measured with OpenBao 2.7.2: "unknown storage type file", "unknown or unsupported field
disable_mlock"), so with an OpenBao image (``flavour="openbao"``, the default for images named so) the
storage is OpenBao's integrated one (``raft``, one node): the same uninitialised start for vault-init.

Networking: on the local target the stack configures Kubernetes auth in Vault with the emulated API server's
address, ``https://127.0.0.1:PORT`` (the stack's ``auth/<cluster>/config``), and Vault calls it for every
login (a TokenReview). From the default bridge network 127.0.0.1 is the container's own loopback, and the
emulated API server listens on the host's loopback only; so there the container joins the **host's
network** (``host_network=True``) and listens on a free port of 127.0.0.1. Measured on the project machine:
start-to-healthy 0.4 s either way, and logins through the TokenReview work only on the host's network.
"""

from __future__ import annotations

import math
import re
import secrets
import textwrap
from collections.abc import Sequence
from typing import ClassVar, Literal, Self

from nautes_e2e.containers.errors import ContainerNotReady
from nautes_e2e.containers.images import OPENBAO_IMAGE
from nautes_e2e.containers.service import LOOPBACK, ServiceContainer, free_loopback_port
from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.containers.waits import http_check
from nautes_e2e.secrets import Secret

DEFAULT_VAULT_IMAGE = OPENBAO_IMAGE
#: The Vault the installer installs (``vault_version`` in nautes/group_vars/vault.yml, installer v0.3.8),
#: for machines that can pull it.
INSTALLER_VAULT_IMAGE = "hashicorp/vault:1.10.4"
VAULT_PORT = 8200
CONFIG_DIR = "/vault/config"
STORAGE_DIR = "/vault/file"
#: Both names: OpenBao reads BAO_*, HashiCorp Vault VAULT_* (OpenBao also falls back to VAULT_*).
DEV_TOKEN_ENV = ("BAO_DEV_ROOT_TOKEN_ID", "VAULT_DEV_ROOT_TOKEN_ID")
#: A free port on the host's loopback may be taken before the server binds it: try again on another.
HOST_PORT_ATTEMPTS = 3
PORT_TAKEN = "address already in use"
Mode = Literal["dev", "server"]
Flavour = Literal["openbao", "vault"]


class VaultContainer(ServiceContainer):
    """``VaultContainer(world=..., mode="dev")``; ``.url`` (from the host) once started, ``.root_token`` in
    dev mode (None in server mode: it comes out of ``sys/init``)."""

    component: ClassVar[str] = "vault"
    secret_lines = (re.compile(r"^(\s*(?:Unseal Key|Root Token):\s*)\S+", re.MULTILINE),)

    def __init__(
        self,
        image: str = DEFAULT_VAULT_IMAGE,
        *,
        mode: Mode = "dev",
        world: str,
        root_token: Secret | None = None,
        tls: TlsFiles | None = None,
        network: str | None = None,
        aliases: Sequence[str] = (),
        host_network: bool = False,
        startup_timeout_s: float = 60.0,
        flavour: Flavour | None = None,
    ) -> None:
        if mode not in ("dev", "server"):
            raise ValueError(f"Vault mode {mode!r}: one of dev, server")
        if mode == "dev" and tls is not None:
            raise ValueError("Vault dev mode serves plain HTTP; TLS is for server mode")
        if mode == "server" and tls is None:
            raise ValueError("Vault server mode serves TLS (the installer's vault-init uses https): pass tls")
        if mode == "server" and root_token is not None:
            raise ValueError("Vault server mode starts uninitialised: its root token comes from sys/init")
        super().__init__(image, world=world, network=network, aliases=aliases, host_network=host_network)
        self.mode: Mode = mode
        self.flavour: Flavour = flavour or ("openbao" if "openbao" in image.lower() else "vault")
        self.tls = tls
        self.startup_timeout_s = startup_timeout_s
        self.root_token = root_token or (Secret("dev-" + secrets.token_hex(16)) if mode == "dev" else None)
        self.port = VAULT_PORT

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.get_container_host_ip()}:{self.get_exposed_port(self.port)}"

    def server_config(self) -> str:
        """Server mode's configuration (HCL), as the installer's Vault role writes it (see the module)."""
        api_host = self.aliases[0] if self.aliases else LOOPBACK
        if self.flavour == "vault":
            storage = f'disable_mlock = true\nstorage "file" {{\n  path = "{STORAGE_DIR}"\n}}\n'
        else:
            storage = (
                f'cluster_addr = "https://{api_host}:{self.port + 1}"\n'
                f'storage "raft" {{\n  path = "{STORAGE_DIR}"\n  node_id = "{self.world}"\n}}\n'
            )
        listener = textwrap.dedent(
            f"""\
            listener "tcp" {{
              address = "{self._listen_host()}:{self.port}"
              cluster_address = "{self._listen_host()}:{self.port + 1}"
              tls_cert_file = "{CONFIG_DIR}/vault.crt"
              tls_key_file = "{CONFIG_DIR}/vault.key"
              tls_min_version = "tls12"
            }}
            """
        )
        return f'ui = true\napi_addr = "https://{api_host}:{self.port}"\n{storage}{listener}'

    def _listen_host(self) -> str:
        return LOOPBACK if self.host_network else "0.0.0.0"

    def _configure(self) -> None:
        listen = f"{self._listen_host()}:{self.port}"
        if self.mode == "dev":
            assert self.root_token is not None
            for name in DEV_TOKEN_ENV:
                self.with_env(name, self.root_token.reveal())
            self.with_command(["server", "-dev", "-dev-no-store-token", f"-dev-listen-address={listen}"])
            check = http_check(self.port, "/v1/sys/health", None)
        else:
            assert self.tls is not None
            # Copied in before the start (files, not argv or environment; the key readable by root only).
            self.with_copy_into_container(self.tls.cert_pem, f"{CONFIG_DIR}/vault.crt", 0o644)
            self.with_copy_into_container(self.tls.key_pem, f"{CONFIG_DIR}/vault.key", 0o600)
            self.with_copy_into_container(self.tls.ca_pem, f"{CONFIG_DIR}/ca.crt", 0o644)
            self.with_copy_into_container(self.server_config().encode(), f"{CONFIG_DIR}/vault.hcl", 0o644)
            self.with_command(["server", f"-config={CONFIG_DIR}/vault.hcl"])
            # 501: initialised? no (sys/health); what vault-init wants to find.
            check = http_check(self.port, "/v1/sys/health", self.tls.ca_pem).for_status_code(501)
        self.publish(self.port)
        self.waiting_for(check.with_startup_timeout(math.ceil(self.startup_timeout_s)))
        super()._configure()

    def start(self) -> Self:
        """Start; on the host's network a port taken between the probe and the bind is retried on
        another free port."""
        attempts_left = HOST_PORT_ATTEMPTS if self.host_network else 1
        while True:
            if self.host_network:
                self.port = free_loopback_port()
            try:
                return super().start()
            except ContainerNotReady:
                attempts_left -= 1
                if not attempts_left or PORT_TAKEN not in self.logs_redacted():
                    raise
                self.remove()
