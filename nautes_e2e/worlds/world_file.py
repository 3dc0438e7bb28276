"""The target file of a real world (``schema: 1``, docs/internals.md): what the stages need to reach it.

Written into the world's directory beside ``credentials.env`` (mode 0600, ``NAME=value`` lines, the same
variable names the reference stack uses), so that ``pytest suites/quickstart --target existing
--target-file <world>/target.yaml`` runs against a kept world once those variables are exported. One CA
signs every endpoint (:mod:`~nautes_e2e.worlds.certificates`), so one ``caBundle`` trusts them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from nautes_e2e.secrets import Secret
from nautes_e2e.worlds.certificates import CA_CERT_FILE, write_private
from nautes_e2e.worlds.plan import WorldPaths

#: The variables ``credentials.env`` sets, by what they hold (the reference stack's names).
CREDENTIAL_ENV = {
    "gitlab": "NAUTES_E2E_GITLAB_TOKEN",
    "vault": "NAUTES_E2E_VAULT_TOKEN",
    "registry_username": "NAUTES_E2E_REGISTRY_USERNAME",
    "registry_password": "NAUTES_E2E_REGISTRY_PASSWORD",
}


@dataclass(frozen=True)
class WorldEndpoints:
    """Where each service of the world answers, from the host and from inside alike."""

    nautes_url: str
    gitlab_url: str
    gitlab_ssh_url: str
    vault_url: str
    #: ``host:port`` as image references name the registry.
    registry: str
    #: The runtime cluster's API server (the world's cluster itself) and its IP.
    api_server: str
    ip: str


def target_document(
    name: str, endpoints: WorldEndpoints, kubeconfig: str, ca_bundle: str
) -> dict[str, object]:
    return {
        "schema": 1,
        "simulated": False,
        "nautes": {"url": endpoints.nautes_url},
        "gitlab": {
            "url": endpoints.gitlab_url,
            "sshUrl": endpoints.gitlab_ssh_url,
            "tokenEnv": CREDENTIAL_ENV["gitlab"],
        },
        "vault": {"url": endpoints.vault_url, "tokenEnv": CREDENTIAL_ENV["vault"]},
        "registry": {
            "url": endpoints.registry,
            "scheme": "https",
            "usernameEnv": CREDENTIAL_ENV["registry_username"],
            "passwordEnv": CREDENTIAL_ENV["registry_password"],
        },
        "clusters": [
            {"name": name, "kubeconfig": kubeconfig, "apiServer": endpoints.api_server, "ip": endpoints.ip}
        ],
        "caBundle": ca_bundle,
    }


def write_target_file(
    paths: WorldPaths, name: str, endpoints: WorldEndpoints, credentials: Mapping[str, Secret]
) -> None:
    """``target.yaml`` (paths relative to it) and ``credentials.env`` (0600) in the world's directory."""
    directory = paths.world_dir
    document = target_document(
        name,
        endpoints,
        str(paths.kubeconfig.relative_to(directory)),
        str((paths.pki / CA_CERT_FILE).relative_to(directory)),
    )
    paths.target_file.write_text(yaml.safe_dump(document, sort_keys=False))
    lines = [f"{CREDENTIAL_ENV[key]}={credentials[key].reveal()}" for key in CREDENTIAL_ENV]
    write_private(paths.credentials, ("\n".join(lines) + "\n").encode())


def absolute_target_file(target_file: Path) -> str:
    """``target_file``'s text with its relative paths made absolute (for a copy in another directory)."""
    document = yaml.safe_load(target_file.read_text())
    base = target_file.parent
    for cluster in document.get("clusters", []):
        cluster["kubeconfig"] = str(base / cluster["kubeconfig"])
    if document.get("caBundle"):
        document["caBundle"] = str(base / document["caBundle"])
    return yaml.safe_dump(document, sort_keys=False)
