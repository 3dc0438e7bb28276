"""What the Nautes installer needs to install Nautes into a world whose cluster, GitLab and Vault exist.

The installer (nautes-labs/installer v0.3.8, the newest: there is no v0.4 installer) installs the Nautes
version its vars name: it clones the tenant repo template at ``repos_tenant_template_version`` and pins
every Nautes image to ``image_version`` (nautes/clone-roles.yaml; tenant-repo-template v0.4.2,
nautes/overlays/tenant/kustomization.yaml ``newTag: {{ image_version }}``), so v0.4.2 for both installs
Nautes v0.4.2. It takes an existing Kubernetes (``kube_apiserver_kubeconfig`` plus the ``kubernetes`` flag)
and an existing GitLab (``git_external_url``, ``git_ssh_addr``, ``git_init_token``, ``git_ca`` plus the
``gitrepo`` flag) (installer README, "使用现有 kubernetes 集群" / "使用现有 Gitlab"). It has no "existing
Vault": its ``[vault]`` inventory group is mandatory (nautes/init.yaml loops over ``groups['vault']``;
nautes/group_vars/all.yml derives ``vault_url`` from its first host).

Every value is checked when the settings are made, all problems at once, each naming its field: a wrong
value fails here, before a file is written or a container started, not half an hour into an installation.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

import yaml

from nautes_e2e.secrets import Secret
from nautes_e2e.worlds.certificates import WorldCA
from nautes_e2e.worlds.installer.images import DEFAULT_IMAGE_OVERRIDES, check_image, check_overrides

INSTALLER_VERSION = "v0.3.8"
#: installer.sh runs ``ghcr.io/nautes-labs/installer:${INSTALLER_VERSION}`` (installer v0.3.8, installer.sh).
INSTALLER_IMAGE = f"ghcr.io/nautes-labs/installer:{INSTALLER_VERSION}"
NAUTES_VERSION = "v0.4.2"
#: The defaults of nautes/group_vars/all.yml (installer v0.3.8).
TENANT_TEMPLATE_URL = "https://github.com/nautes-labs/tenant-repo-template.git"
CLUSTER_TEMPLATE_URL = "https://github.com/nautes-labs/cluster-templates.git"
TENANT_NAME = "nautes"
NAUTES_NAMESPACE = "nautes"
#: The defaults of nautes/roles/repo-init/defaults/main.yaml and nautes/roles/vault-proxy/defaults/main.yaml.
DOCKER_REPOSITORY = "ghcr.io/nautes-labs/"
NAUTES_IMAGE_NAME = f"{DOCKER_REPOSITORY}nautes"
#: The installer's own rule, ``{{ docker_repository }}vault-proxy:{{ image_version }}``. Beware: the newest
#: tag of nautes-labs/vault-proxy is v0.4.0 (commit 0e7ad4d9); whether an image tagged v0.4.2 exists cannot
#: be established from the sources. If it cannot be pulled, set ``vault_proxy_image`` to ``...:v0.4.0``.
VAULT_PROXY_IMAGE = f"{DOCKER_REPOSITORY}vault-proxy:{NAUTES_VERSION}"
#: The inventory name of the Vault host, as in the installer's sample inventory (vars.yaml.sample).
VAULT_HOST = "vault-0"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class InstallerSettingsError(ValueError):
    """Settings the installer cannot work with; one line per problem, each naming its field."""


@dataclass(frozen=True)
class InstallerSettings:
    """Everything the installer's generated inputs need. Secrets are :class:`Secret` and reach files only."""

    #: The world's name: the installer container's name and labels.
    world: str
    #: The Docker network the installer container joins: the cluster's API, GitLab and Vault must be
    #: reachable on it at the addresses below.
    network: str
    #: An admin kubeconfig of the cluster whose ``clusters[0].cluster.server`` is the API server as the
    #: installer container reaches it, at an IPv4 address: the installer derives the entrypoint domain of
    #: every Nautes endpoint from it, ``<ip>.nip.io`` (nautes/group_vars/all.yml, ``kube_entrypoint_domain``).
    kubeconfig: Secret
    #: GitLab's HTTPS URL with its port (``https://10.213.213.1:8443``): the installer and the pods reach it.
    git_external_url: str
    #: GitLab's SSH address, ``ssh://git@HOST:PORT`` (the installer runs ``ssh-keyscan -p PORT HOST``).
    git_ssh_addr: str
    #: A GitLab personal access token with the ``api`` and ``sudo`` scopes (installer README).
    git_init_token: Secret
    #: The world's one CA: the installer's ``nautes_ca_keypair``, and GitLab's and Vault's issuer.
    ca: WorldCA
    #: Vault's IPv4 address on the network. An address, not a name: the installer issues the Vault host's
    #: certificate with ``subject_alt_name: IP:{{ ansible_host }}`` (nautes/generate_keypair.yaml).
    vault_address: str
    vault_host: str = VAULT_HOST
    tenant_name: str = TENANT_NAME
    nautes_namespace: str = NAUTES_NAMESPACE
    installer_image: str = INSTALLER_IMAGE
    repos_tenant_template_url: str = TENANT_TEMPLATE_URL
    repos_tenant_template_version: str = NAUTES_VERSION
    repos_cluster_template_url: str = CLUSTER_TEMPLATE_URL
    image_version: str = NAUTES_VERSION
    docker_repository: str = DOCKER_REPOSITORY
    nautes_image_name: str = NAUTES_IMAGE_NAME
    vault_proxy_image: str = VAULT_PROXY_IMAGE
    #: GitLab's CA when it is not the world's CA (``git_ca``); ``None``: the world's CA signed GitLab's cert.
    git_ca_pem: bytes | None = field(default=None, repr=False)
    #: Image references rewritten in the tenant repo template before the installer renders it
    #: (:func:`nautes_e2e.worlds.installer.images.image_overrides` merges changes into the defaults).
    image_overrides: Mapping[str, str] = field(default_factory=lambda: DEFAULT_IMAGE_OVERRIDES)

    def __post_init__(self) -> None:
        problems = [f"InstallerSettings.{name}: {problem}" for name, problem in _problems(self)]
        if problems:
            raise InstallerSettingsError("\n".join(problems))

    @property
    def git_ca(self) -> bytes:
        return self.git_ca_pem if self.git_ca_pem is not None else self.ca.ca_pem

    @property
    def api_server(self) -> str:
        """The kubeconfig's API server URL (not a secret: an address)."""
        return _api_server(self.kubeconfig)

    @property
    def entrypoint_domain(self) -> str:
        """``<api server ip>.nip.io``, under which the installer publishes every Nautes endpoint on the
        ingress NodePort 31443: ``apiserver.``, ``argocd.``, ``dex.`` (nautes/group_vars/all.yml)."""
        return f"{urlsplit(self.api_server).hostname}.nip.io"

    @property
    def nautes_api_url(self) -> str:
        """The Nautes API server as the installer publishes it (nautes/templates/url.yaml)."""
        return f"https://apiserver.{self.entrypoint_domain}:31443"


def _problems(settings: InstallerSettings) -> list[tuple[str, str]]:
    """Every problem of ``settings`` as (field, problem); a value is quoted only when it is not a secret."""
    checks: list[tuple[str, str | None]] = [
        ("world", _name(settings.world)),
        ("network", _name(settings.network)),
        ("kubeconfig", _kubeconfig(settings.kubeconfig)),
        ("git_external_url", _url(settings.git_external_url, "https", port=True)),
        ("git_ssh_addr", _ssh_addr(settings.git_ssh_addr)),
        ("git_init_token", None if settings.git_init_token.reveal().strip() else "must not be empty"),
        ("vault_address", _ipv4(settings.vault_address, "the installer names its certificate IP:<address>")),
        ("vault_host", _vault_host(settings.vault_host)),
        ("tenant_name", _dns_label(settings.tenant_name)),
        ("nautes_namespace", _dns_label(settings.nautes_namespace)),
        ("installer_image", check_image(settings.installer_image)),
        ("repos_tenant_template_url", _url(settings.repos_tenant_template_url, "https")),
        ("repos_tenant_template_version", _version(settings.repos_tenant_template_version)),
        ("repos_cluster_template_url", _url(settings.repos_cluster_template_url, "https")),
        ("image_version", _version(settings.image_version)),
        ("docker_repository", _docker_repository(settings.docker_repository)),
        ("nautes_image_name", check_image(settings.nautes_image_name)),
        ("vault_proxy_image", check_image(settings.vault_proxy_image)),
        ("git_ca_pem", _pem_certificate(settings.git_ca_pem)),
        ("image_overrides", check_overrides(settings.image_overrides)),
    ]
    return [(name, problem) for name, problem in checks if problem is not None]


def _name(value: str) -> str | None:
    if _NAME.fullmatch(value):
        return None
    return f"{value!r} must be letters, digits, '_', '.' or '-' (it names a Docker object)"


def _vault_host(value: str) -> str | None:
    if value == "localhost":
        # The installer's plays run on localhost; the Vault host must stay out of them (--limit localhost).
        return "must not be 'localhost' (the installer runs its plays on localhost itself)"
    return None if _NAME.fullmatch(value) else f"{value!r} is not an inventory host name"


def _dns_label(value: str) -> str | None:
    if _DNS_LABEL.fullmatch(value):
        return None
    return f"{value!r} must be a DNS label (it names a Kubernetes namespace and a GitLab group)"


def _version(value: str) -> str | None:
    return None if _VERSION.fullmatch(value) else f"{value!r} is not a git tag or branch name"


def _docker_repository(value: str) -> str | None:
    if value.endswith("/") and check_image(value.rstrip("/") + "/x") is None:
        return None
    return f"{value!r} must be an image repository prefix ending in '/' (the installer appends the name)"


def _ipv4(value: str, why: str) -> str | None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return f"{value!r} must be an IPv4 address ({why})"
    return None


def _split(value: str) -> SplitResult | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range or not a number
    except ValueError:
        return None
    return parts


def _url(value: str, scheme: str, *, port: bool = False) -> str | None:
    parts = _split(value)
    wanted = f"a {scheme}:// URL" + (" with its port (https://HOST:PORT)" if port else "")
    if parts is None or parts.scheme != scheme or not parts.hostname:
        return f"{value!r} must be {wanted}"
    if parts.username or parts.password:
        return "must not carry credentials (the token is git_init_token)"
    if port and (parts.port is None or parts.path not in ("", "/") or parts.query or parts.fragment):
        return f"{value!r} must be {wanted}, nothing after the port"
    return None


def _ssh_addr(value: str) -> str | None:
    parts = _split(value)
    if parts is None or parts.scheme != "ssh" or not parts.hostname or parts.port is None or parts.password:
        return f"{value!r} must be ssh://git@HOST:PORT (the installer runs ssh-keyscan -p PORT HOST)"
    return None


def _kubeconfig(kubeconfig: Secret) -> str | None:
    try:
        server = _api_server(kubeconfig)
    except ValueError as problem:
        return str(problem)
    parts = _split(server)
    if parts is None or parts.scheme != "https" or parts.hostname is None:
        return f"the API server {server!r} must be an https:// URL"
    return _ipv4(
        parts.hostname,
        "the installer publishes Nautes under <ip>.nip.io; a host name would need a wildcard DNS record",
    )


def _api_server(kubeconfig: Secret) -> str:
    """``clusters[0].cluster.server``, the very expression the installer reads (nautes/group_vars/all.yml:
    ``json_query('clusters[0].cluster.server')``). Never quotes the kubeconfig in its errors."""
    try:
        document = yaml.safe_load(kubeconfig.reveal())
    except yaml.YAMLError:
        raise ValueError("is not YAML (a kubeconfig is expected)") from None
    try:
        server = document["clusters"][0]["cluster"]["server"]
    except (TypeError, KeyError, IndexError):
        raise ValueError("is not a kubeconfig with clusters[0].cluster.server") from None
    if not isinstance(server, str):
        raise ValueError("clusters[0].cluster.server must be a URL")
    return server


def _pem_certificate(pem: bytes | None) -> str | None:
    if pem is None or pem.lstrip().startswith(b"-----BEGIN CERTIFICATE-----"):
        return None
    return "must be a PEM certificate (-----BEGIN CERTIFICATE-----)"
